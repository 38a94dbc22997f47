"""PostgreSQL: the pool, its numbered migrations, and which bot processes are alive.

Migrations live in migrations/postgresql/NNN_name.sql (numbered on their own: SQLite's
schema history is not PostgreSQL's). The version is the single row of `schema_version`;
each file is applied in one transaction together with its new version number, under a
transaction-scoped advisory lock, so two processes starting at once migrate one after the
other and the second finds nothing to do. A database newer than the code is refused with
the same line as SQLite's (SchemaTooNew), and nothing is changed.

Several processes share one database, so "the previous process is gone" cannot be proved
with a lock file. Instead each process holds, for its whole life, a session advisory lock
keyed by its boot id (the `owner` on its ledger rows) on a connection of its own, and beats:
every few seconds it writes `processes.last_seen` over that very connection. PostgreSQL
drops the lock the moment the process dies (its connection closes), but also while it
lives, when the session ends under it (a server restart, `idle_session_timeout`, a dropped
connection); so the beat proves the session, a failed beat reconnects and takes the lock
again, and another process counts an owner as gone only when its lock is free AND its last
beat is older than DEAD_AFTER_SECONDS (the release is one statement, bot/store/ledger.py).
The `processes` table also says which process is which (host, pid, shards) and the settings
all of them must share (bot/store/shared_settings.py), for operators and `doctor`. The
per-row sign of life (`alive_at`, refreshed by each process's reservation keeper) keeps
working too: whichever process sweeps releases rows no live edit refreshed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.store.backend import PostgresDatabase
from bot.store.shared_settings import OtherProcess, differences
from bot.store.sqlite import (
    DEFAULT_MIGRATIONS_DIR,
    MigrationError,
    SchemaStatus,
    SchemaTooNew,
    load_migrations,
)

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger("retouch.store")

POSTGRES_MIGRATIONS_DIR = DEFAULT_MIGRATIONS_DIR / "postgresql"
# A fixed advisory lock key for "migrating": any 64-bit number no other lock uses.
MIGRATION_LOCK_KEY = 0x5245544F55434801  # "RETOUCH\x01"
MIN_SERVER_VERSION = 130000  # hashtextextended, generated columns, EXECUTE FUNCTION: 12+; tested on 15
POOL_MIN = 1
POOL_MAX = 10
CONNECT_TIMEOUT = 10.0

# Process liveness (ProcessLiveness below). Every process beats at least this often (the
# reservation keeper's loop runs no slower), on its liveness connection.
BEAT_SECONDS = 4.0
# A beat that takes longer than this means the connection is dead (a silent network drop).
BEAT_TIMEOUT_SECONDS = 5.0
# How long a reconnecting process waits for its own lock (another process may be checking
# it, for one statement).
LOCK_WAIT_SECONDS = 5.0
# A process whose lock is free and whose last beat is older than this is gone. Several
# beats and a reconnect fit in it, so a live process that lost its connection takes its
# lock back well before anyone may judge it gone.
DEAD_AFTER_SECONDS = 20.0
# Server-side TCP keepalives on the liveness connection: a host that vanished without
# closing its connection is noticed within idle + interval * count seconds.
KEEPALIVES = {"tcp_keepalives_idle": "15", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "3"}


async def connect(url: str, *, min_size: int = POOL_MIN, max_size: int = POOL_MAX) -> PostgresDatabase:
    """A pool on DATABASE_URL. Raises OSError/asyncpg errors the caller turns into one line."""
    import asyncpg

    pool = await asyncpg.create_pool(
        url,
        min_size=min_size,
        max_size=max_size,
        timeout=CONNECT_TIMEOUT,
        server_settings={"application_name": "retouch"},
        # asyncpg resets a connection each time it goes back to the pool (UNLISTEN, RESET
        # ALL, advisory unlock: one more round trip per statement, a third of a pair's
        # time). The stores leave no session state: their advisory locks are transaction
        # scoped (the liveness lock lives on a connection of its own), settings are never SET.
        reset=_no_reset,
    )
    return PostgresDatabase(pool, url)


async def _no_reset(conn: "asyncpg.Connection") -> None:
    return None


async def _ensure_version_table(conn: "asyncpg.Connection") -> None:
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)"
    )


async def _current_version(conn: "asyncpg.Connection") -> int:
    exists = await conn.fetchval("SELECT to_regclass('schema_version') IS NOT NULL")
    if not exists:
        return 0
    value = await conn.fetchval("SELECT version FROM schema_version WHERE id = 1")
    return int(value or 0)


async def migrate(db: PostgresDatabase, migrations_dir: Path | str | None = None, *, target: int | None = None) -> list[int]:
    """Apply pending PostgreSQL migrations in order; return the versions applied."""
    import asyncpg

    migrations = load_migrations(migrations_dir or POSTGRES_MIGRATIONS_DIR)
    latest = len(migrations)
    target = latest if target is None else target
    if not 0 <= target <= latest:
        raise ValueError(f"target version must be between 0 and {latest}, not {target}")
    applied: list[int] = []
    async with db.pool.acquire() as conn:
        current = await _current_version(conn)
        if current > latest:
            raise SchemaTooNew(current, latest)
        for migration in migrations[current:target]:
            sql = migration.path.read_text(encoding="utf-8")
            try:
                async with conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
                    await _ensure_version_table(conn)
                    # Re-read under the lock: another process may have migrated meanwhile.
                    version = await _current_version(conn)
                    if version > latest:
                        raise SchemaTooNew(version, latest)
                    if version >= migration.version:
                        continue
                    if version != migration.version - 1:
                        raise MigrationError(f"database is at version {version}, cannot apply {migration.path.name}")
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO schema_version (id, version) VALUES (1, $1) "
                        "ON CONFLICT (id) DO UPDATE SET version = excluded.version",
                        migration.version,
                    )
            except asyncpg.PostgresError as error:
                raise MigrationError(
                    f"migration postgresql/{migration.path.name} failed and was rolled back: {error}"
                ) from error
            applied.append(migration.version)
    return applied


async def schema_status(db: PostgresDatabase, migrations_dir: Path | str | None = None) -> SchemaStatus:
    """The schema version for `doctor`, changing nothing."""
    migrations = load_migrations(migrations_dir or POSTGRES_MIGRATIONS_DIR)
    latest = len(migrations)
    async with db.pool.acquire() as conn:
        current = await _current_version(conn)
    pending = migrations[current:] if current <= latest else ()
    return SchemaStatus(exists=current > 0, current=current, latest=latest, pending=pending)


async def server_version(db: PostgresDatabase) -> tuple[int, str]:
    async with db.pool.acquire() as conn:
        number = int(await conn.fetchval("SHOW server_version_num"))
        text = str(await conn.fetchval("SHOW server_version"))
    return number, text


class ProcessLiveness:
    """This process's presence in a shared database: a row in `processes` and a session
    advisory lock on a connection of its own, both for the life of the process.

    A lock that is merely held proves nothing by itself: a server restart, an
    `idle_session_timeout` or a connection dropped by the network frees it while this
    process lives on. So the liveness connection proves itself at every `beat` (a statement
    on that very connection, which can only succeed while its session, and so its lock,
    is alive), the server probes it with TCP keepalives and never closes it for being
    idle, and a beat that fails reconnects and takes the lock again. Another process
    judges this one gone only when the lock is free *and* the last beat is older than
    DEAD_AFTER_SECONDS (release_abandoned in bot/store/ledger.py)."""

    def __init__(self, db: PostgresDatabase, owner: str, *, shards: str = "all", shared_settings: str = "", clock: Any = None) -> None:
        self.db = db
        self.owner = owner
        self.shards = shards
        self.shared_settings = shared_settings
        self._told: set[str] = set()  # owners whose different settings were logged
        self.beat_seconds = BEAT_SECONDS
        self._conn: "asyncpg.Connection | None" = None
        self._lock = asyncio.Lock()
        self._started_at = 0.0
        # Since when (monotonic) the liveness connection has been up and beating without a
        # break; None while it is down.
        self._steady_since: float | None = None

    async def start(self, now: float) -> None:
        self._started_at = now
        await self.beat(now)

    @property
    def steady(self) -> bool:
        """Whether this process has been connected and beating for a whole DEAD_AFTER_SECONDS.

        Only then may it judge other processes gone: right after a server restart (or its
        own reconnect) every other live process's last beat is as old as the outage, and
        they need a few beats of their own to take their locks again."""
        since = self._steady_since
        return since is not None and time.monotonic() - since >= DEAD_AFTER_SECONDS

    async def beat(self, now: float) -> None:
        """A sign of life (from the reservation keeper's loop), written on the liveness
        connection itself. A connection that fails it, or does not answer within
        BEAT_TIMEOUT_SECONDS, is dropped; a new one takes the lock again. Raises (a
        database error) when PostgreSQL cannot be reached: the next beat tries again."""
        async with self._lock:
            if self._conn is not None:
                try:
                    await self._write(self._conn, now)
                    return
                except Exception as exc:  # noqa: BLE001 - any failure means the session may be gone
                    log.warning(
                        "the liveness connection to PostgreSQL failed (%s); reconnecting and taking the lock again",
                        _describe(exc),
                    )
                    self._drop()
            conn = await self._connect_and_lock(now)
            try:
                await self._write(conn, now)
            except BaseException:
                conn.terminate()
                raise
            self._conn = conn
            self._steady_since = time.monotonic()

    async def _write(self, conn: "asyncpg.Connection", now: float) -> None:
        # An upsert: the row comes back if anything removed it.
        await asyncio.wait_for(
            conn.execute(
                "INSERT INTO processes (owner, host, pid, shards, started_at, last_seen, shared_settings) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (owner) DO UPDATE SET last_seen = excluded.last_seen",
                self.owner, socket.gethostname(), os.getpid(), self.shards, self._started_at or now, now, self.shared_settings,
            ),
            BEAT_TIMEOUT_SECONDS,
        )

    async def _connect_and_lock(self, now: float) -> "asyncpg.Connection":
        import asyncpg

        conn = await asyncpg.connect(
            self.db.url,
            timeout=CONNECT_TIMEOUT,
            server_settings={
                # Operators see which process a liveness connection belongs to (63 bytes at most).
                "application_name": f"retouch liveness {self.owner}"[:63],
                # The server notices a vanished host (and frees its lock) within a minute.
                **KEEPALIVES,
                # Waiting for the lock a moment (below) rather than failing at once.
                "lock_timeout": f"{int(LOCK_WAIT_SECONDS * 1000)}",
            },
        )
        try:
            if conn.get_server_version() >= (14, 0):
                # A server-wide idle_session_timeout must never end this session between beats.
                await conn.execute("SET idle_session_timeout = 0")
            # Blocking, not try: another process checking whether this one is gone holds
            # the lock for the length of one statement.
            await asyncio.wait_for(
                conn.execute("SELECT pg_advisory_lock(retouch_owner_key($1))", self.owner), LOCK_WAIT_SECONDS + BEAT_TIMEOUT_SECONDS
            )
        except asyncpg.LockNotAvailableError:
            # A boot id is unique: longer than a check, the lock is held only by this
            # process's previous session, which the server has not yet seen is gone (its
            # keepalives end it). Still alive meanwhile: say so, and try again next beat.
            try:
                await self._write(conn, now)
            finally:
                conn.terminate()
            raise RuntimeError(
                f"the liveness lock of process {self.owner} is still held by an earlier session; trying again at the next beat"
            ) from None
        except BaseException:
            conn.terminate()
            raise
        return conn

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.terminate()  # no goodbye over a connection that may be dead
            self._conn = None
        self._steady_since = None

    async def others(self, now: float) -> list[OtherProcess]:
        """The other processes on this database that beat within DEAD_AFTER_SECONDS (a
        crashed one's row stays until a sweep judges it gone)."""
        rows = await self.db.fetchall(
            "SELECT owner, host, pid, shards, shared_settings FROM processes WHERE owner != ? AND last_seen >= ? ORDER BY started_at",
            (self.owner, now - DEAD_AFTER_SECONDS),
        )
        return [OtherProcess(*row) for row in rows]

    async def tell_of_disagreements(self, now: float) -> None:
        """Log, once for each, the live processes whose shared settings differ from this
        one's: at start (about those already running) and at each beat (about newcomers)."""
        for other in await self.others(now):
            if other.owner in self._told:
                continue
            differ = differences(self.shared_settings, other.settings)
            if differ:
                self._told.add(other.owner)
                log.warning(
                    "another bot process on this database, %s, runs with different settings: %s. Every process "
                    "must share them, or the quotas and bot-wide limits they count together do not hold",
                    other.name, "; ".join(map(str, differ)),
                )

    async def stop(self) -> None:
        try:
            await self.db.execute("DELETE FROM processes WHERE owner = ?", (self.owner,))
        except Exception as exc:  # noqa: BLE001 - stopping anyway
            log.warning("could not remove this process from the processes table: %s", exc)
        if self._conn is not None:
            try:
                await asyncio.wait_for(self._conn.close(), BEAT_TIMEOUT_SECONDS)
            except Exception:  # noqa: BLE001
                self._conn.terminate()
            self._conn = None
        self._steady_since = None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
