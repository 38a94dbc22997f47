"""Health state for container health checks: the bot writes it, `python -m bot health` reads it.

The running bot writes a small JSON file to `HEALTH_FILE` every `interval` seconds::

    {"ts": 1763726400.5, "gateway_connected": true, "database_writable": true, "pid": 1, "tasks": 14}

`python -m bot health` (the Docker HEALTHCHECK) exits 0 when that file is fresh and both
flags are true, and 1 otherwise with one line saying why. Exit code 2 is reserved by
Docker's HEALTHCHECK, so this command never uses it. `tasks` (the event loop's live
asyncio tasks) is there for operators and bench/soak.py: a count that keeps growing on an
idle bot is a leak.

Wiring (in the bot, once the database is open)::

    reporter = HealthReporter(settings.health_file)
    bot.spawn(reporter.run(lambda: health_state(bot, bot.db)))
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping

if TYPE_CHECKING:  # keep `python -m bot health` light: it runs every 30 s
    import aiosqlite
    import discord

log = logging.getLogger("retouch.health")

DEFAULT_INTERVAL = 15.0
DEFAULT_MAX_AGE = 60.0
PROBE_TIMEOUT = 5.0
PROBE_KEY = "health_probe"


class HealthReporter:
    """Writes the health file atomically every `interval` seconds; removes it when stopped.

    While the last report was not healthy (starting, reconnecting) it reports every
    `recheck` seconds instead, so recovery shows within seconds, not a whole interval.
    """

    def __init__(self, path: Path | str, interval: float = DEFAULT_INTERVAL, recheck: float = 2.0) -> None:
        self.path = Path(path)
        self.interval = interval
        self.recheck = min(recheck, interval)
        self.healthy = False
        self._stop = asyncio.Event()
        self._last_error: str | None = None

    def stop(self) -> None:
        """Ask `run` to return (it also stops when its task is cancelled)."""
        self._stop.set()

    async def run(self, get_state: Callable[[], Awaitable[Mapping[str, Any]]]) -> None:
        try:
            # A file left by an earlier process (a crash, `docker restart`) must not
            # vouch for this one before its first report.
            self.remove()
            while not self._stop.is_set():
                await self.report(get_state)
                try:
                    await asyncio.wait_for(self._stop.wait(), self.interval if self.healthy else self.recheck)
                except asyncio.TimeoutError:
                    pass
        finally:
            self.remove()

    async def report(self, get_state: Callable[[], Awaitable[Mapping[str, Any]]]) -> None:
        """Write one report. A failure is logged (once per kind) and never stops the bot:
        a file that stops being refreshed turns the health check red on its own."""
        try:
            state = dict(await get_state())
            payload = {
                "ts": time.time(),
                "gateway_connected": bool(state.get("gateway_connected")),
                "database_writable": bool(state.get("database_writable")),
                "pid": os.getpid(),
                "tasks": len(asyncio.all_tasks()),
            }
            self.write(payload)
            self.healthy = payload["gateway_connected"] and payload["database_writable"]
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the reporter must outlive any failure
            self.healthy = False
            message = f"{type(exc).__name__}: {exc}"
            if message != self._last_error:
                log.warning("could not write the health file %s: %s", self.path, message)
            self._last_error = message
        else:
            self._last_error = None

    def write(self, payload: Mapping[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(payload), encoding="utf-8")
        os.replace(tmp, self.path)  # readers see the old file or the new one, never half

    def remove(self) -> None:
        for path in (self.path, self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")):
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("could not remove the health file %s: %s", path, exc)


async def database_writable(db: "aiosqlite.Connection", *, timeout: float = PROBE_TIMEOUT, table: str = "meta") -> bool:
    """True when a real write to the database succeeds within `timeout` seconds.

    One self-contained upsert on the `meta` (key, value) table: it needs no transaction
    of its own, so it can never roll back or split another coroutine's work on the
    shared connection (a BEGIN/ROLLBACK probe could). It fails on a read-only file or
    volume, a full disk, or a write lock held longer than the busy timeout.
    """

    async def probe() -> None:
        from bot.store.backend import Database

        if isinstance(db, Database):  # either backend through the store interface (PostgreSQL)
            await db.execute(
                f"INSERT INTO {table} (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (PROBE_KEY, str(int(time.time()))),
            )
            return
        was_in_transaction = db.in_transaction
        await db.execute(
            f"INSERT INTO {table} (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (PROBE_KEY, str(int(time.time()))),
        )
        if not was_in_transaction and db.in_transaction:
            await db.commit()  # a connection outside autocommit mode opened one for us

    try:
        await asyncio.wait_for(probe(), timeout)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure means "not writable"
        log.warning("database write probe failed: %s: %s", type(exc).__name__, exc)
        return False
    return True


def gateway_connected(client: "discord.Client") -> bool:
    """True while the bot is logged in and its gateway websocket is open.

    During a reconnect `is_ready()` stays true but the socket is closed; a short
    reconnect does not turn the container unhealthy because the health check only
    fails after several stale or negative reports in a row.
    """
    try:
        if not client.is_ready() or client.is_closed():
            return False
        shards = getattr(client, "shards", None)
        if shards:  # an AutoShardedClient: every shard this process runs must be connected
            return all(not shard.is_closed() for shard in shards.values())
        ws = client.ws
        return ws is not None and ws.open
    except Exception:  # noqa: BLE001
        return False


async def health_state(client: "discord.Client", db: "aiosqlite.Connection") -> dict[str, bool]:
    """The `get_state` callable for `HealthReporter.run`, for the usual bot."""
    return {"gateway_connected": gateway_connected(client), "database_writable": await database_writable(db)}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return True
    return True


def check_health(path: Path | str, max_age: float = DEFAULT_MAX_AGE, *, now: float | None = None) -> tuple[bool, str]:
    """(healthy, one line why) from the health file the running bot writes."""
    path = Path(path)
    now = time.time() if now is None else now
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return False, f"unhealthy: no health file at {path}: not started or not running (the running bot rewrites it every 15 s)"
    except OSError as exc:
        return False, f"unhealthy: cannot read the health file {path}: {exc.strerror or exc}"
    try:
        state = json.loads(raw)
        ts = float(state["ts"])
    except (ValueError, KeyError, TypeError):
        return False, f"unhealthy: the health file {path} is not valid (expected JSON with a 'ts' field)"
    if not isinstance(state, dict):
        return False, f"unhealthy: the health file {path} is not valid"
    age = now - ts
    pid = state.get("pid")
    if isinstance(pid, int) and pid > 0 and not _pid_alive(pid):
        return False, f"unhealthy: the bot process (pid {pid}) that wrote {path} is not running"
    if age > max_age:
        return False, f"unhealthy: the last health report is stale ({age:.0f} s old, limit {max_age:.0f} s): the bot is stuck or stopped"
    if not state.get("gateway_connected"):
        return False, "unhealthy: gateway disconnected: the bot is not connected to Discord (see the logs; it reconnects on its own)"
    if not state.get("database_writable"):
        return False, "unhealthy: database not writable: check the /data volume (disk full? read-only? permissions?)"
    return True, f"healthy: connected to Discord, database writable (report {max(age, 0):.0f} s old)"


def main(environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> int:
    """`python -m bot health`: exit 0 healthy, 1 otherwise (never 2, reserved by Docker)."""
    from bot.config import read_environment

    try:
        raw = read_environment(environ, env_file).get("HEALTH_FILE", "").strip()
    except Exception as exc:  # noqa: BLE001 - an unreadable .env must still give one line
        print(f"unhealthy: cannot read the settings: {exc}")
        return 1
    if not raw:
        print("unhealthy: HEALTH_FILE is not set: set it (e.g. HEALTH_FILE=/tmp/retouch-health.json) for the bot and this check; the Docker image sets it")
        return 1
    ok, message = check_health(Path(raw))
    print(message)
    return 0 if ok else 1
