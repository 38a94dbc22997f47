"""Real `python -m bot` processes over one PostgreSQL, each running some of the shards of
one fake Discord: started, stopped, measured from outside, and the shared ledger read.

Used by the two-process end-to-end tests and by bench/load.py. A process's stdout and
stderr go to a file in its folder (not a pipe: a busy bot would fill a pipe nobody reads
and block on its next log line); `stop` returns what it wrote.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fakes.discord_server import FakeDiscord
from tests.fakes.image_api import FakeImageAPI
from tests.support.polling import eventually
from tests.support.process import bot_environment

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class BotProcess:
    proc: asyncio.subprocess.Process
    folder: Path
    log: Path
    shard_ids: str

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    def kill(self) -> None:
        self.proc.kill()

    def send_signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    async def wait(self) -> int:
        return await self.proc.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def cpu_seconds(self) -> float:
        """User + kernel CPU of the process so far (all threads), read from /proc."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def peak_rss_bytes(self) -> int:
        """The kernel's high-water mark of the process's resident memory (VmHWM)."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmHWM in /proc/PID/status")


async def start_process(
    folder: Path,
    discord_fake: FakeDiscord,
    api: FakeImageAPI,
    database_url: str,
    shard_ids: str,
    *,
    shard_count: int = 4,
    **extra: str,
) -> BotProcess:
    """Start a bot running `shard_ids` of `shard_count`; return once each of its shards
    identified to the fake (again, for a process restarted on the same shards)."""
    folder.mkdir(parents=True, exist_ok=True)
    settings = dict(
        DATABASE_URL=database_url,
        DATABASE_PATH=str(folder / "retouch.db"),  # the commit journal only
        SHARD_COUNT=str(shard_count),
        SHARD_IDS=shard_ids,
        ALLOW_DMS="true",
        SHUTDOWN_GRACE_SECONDS="1",
    )
    settings.update(extra)
    env = bot_environment(folder, discord_fake, api, **settings)
    seen = len(discord_fake.identifies)
    log = folder / f"bot-{seen}.log"
    with open(log, "wb") as out:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", cwd=folder, env=env, stdout=out, stderr=out)
    bot = BotProcess(proc, folder, log, shard_ids)
    wanted = [[int(s), shard_count] for s in shard_ids.split(",")]
    try:
        await eventually(
            lambda: all(w in discord_fake.identifies[seen:] for w in wanted) or proc.returncode is not None,
            40,
            what=f"shards {shard_ids} identified",
        )
        assert proc.returncode is None, bot.output()[-3000:]
        # Commands are synced in setup_hook, before any shard connects. Every event of a
        # shard comes after its READY on the same connection, so an interaction sent now
        # is handled after READY: no need to wait for it.
        assert any(c["name"] == "edit" for c in discord_fake.global_commands)
    except BaseException:
        proc.kill()
        await proc.wait()
        raise
    return bot


async def stop(bot: BotProcess, timeout: float = 30) -> str:
    """SIGTERM (unless it already ended), wait for the exit; what it wrote."""
    if bot.returncode is None:
        bot.send_signal(signal.SIGTERM)
    await asyncio.wait_for(bot.wait(), timeout)
    return bot.output()


async def query(url: str, sql: str, *args: object) -> list[dict[str, Any]]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return [dict(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


async def ledger(url: str) -> list[dict[str, Any]]:
    return await query(
        url, "SELECT id, guild_id, status, images_reserved, images_delivered, refund_reason, owner FROM ledger ORDER BY id"
    )
