"""PostgreSQL: the pool, its numbered migrations, and which bot processes are alive.

Migrations live in migrations/postgresql/NNN_name.sql (numbered on their own: SQLite's
schema history is not PostgreSQL's). The version is the single row of `schema_version`;
each file is applied in one transaction together with its new version number, under a
transaction-scoped advisory lock, so two processes starting at once migrate one after the
other and the second finds nothing to do. A database newer than the code is refused with
the same line as SQLite's (SchemaTooNew), and nothing is changed.

Several processes share one database, so "the previous process is gone" cannot be proved
with a lock file. Instead each process holds, for its whole life, a session advisory lock
keyed by its boot id (the `owner` on its ledger rows) on a connection of its own.
PostgreSQL drops that lock the moment the process dies (its connection closes), so an
owner whose lock can be taken is gone, and its open reservations can be released at once;
a live process's reservations are never touched. The `processes` table says which
process is which (host, pid, shards, last sign of life), for operators and `doctor`.
The per-row sign of life (`alive_at`, refreshed by each process's reservation keeper)
keeps working too: whichever process sweeps releases rows no live edit refreshed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.store.backend import PostgresDatabase
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
        # scoped or let go explicitly (dead_owners), settings are never SET.
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
    advisory lock on a connection of its own, both for the life of the process."""

    def __init__(self, db: PostgresDatabase, owner: str, *, shards: str = "all", clock: Any = None) -> None:
        self.db = db
        self.owner = owner
        self.shards = shards
        self._conn: "asyncpg.Connection | None" = None
        self._lock = asyncio.Lock()

    async def start(self, now: float) -> None:
        await self._hold()
        await self.db.execute(
            "INSERT INTO processes (owner, host, pid, shards, started_at, last_seen) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (owner) DO UPDATE SET last_seen = excluded.last_seen",
            (self.owner, socket.gethostname(), os.getpid(), self.shards, now, now),
        )

    async def _hold(self) -> None:
        """(Re)connect the liveness connection and take this owner's lock."""
        async with self._lock:
            if self._conn is not None and not self._conn.is_closed():
                return
            import asyncpg

            conn = await asyncpg.connect(
                self.db.url, timeout=10, server_settings={"application_name": "retouch liveness"}
            )
            got = await conn.fetchval("SELECT pg_try_advisory_lock(retouch_owner_key($1))", self.owner)
            if not got:  # a boot id is unique: only a bug would get here
                await conn.close()
                raise RuntimeError(f"the liveness lock of process {self.owner} is held by another connection")
            self._conn = conn

    async def beat(self, now: float) -> None:
        """A sign of life (from the reservation keeper's loop); reconnects a lost lock."""
        if self._conn is None or self._conn.is_closed():
            log.warning("the liveness connection to PostgreSQL was lost; reconnecting")
            await self._hold()
        await self.db.execute("UPDATE processes SET last_seen = ? WHERE owner = ?", (now, self.owner))

    async def stop(self) -> None:
        try:
            await self.db.execute("DELETE FROM processes WHERE owner = ?", (self.owner,))
        except Exception as exc:  # noqa: BLE001 - stopping anyway
            log.warning("could not remove this process from the processes table: %s", exc)
        if self._conn is not None:
            try:
                await self._conn.close()
            except Exception:  # noqa: BLE001
                pass
            self._conn = None


async def dead_owners(db: PostgresDatabase, owners: list[str]) -> list[str]:
    """Those of `owners` whose process is gone: nobody holds their liveness lock. Each is
    taken and let go again on one connection (a process that is gone never comes back:
    boot ids are never reused)."""
    dead = []
    async with db.pool.acquire() as conn:
        for owner in owners:
            if await conn.fetchval("SELECT pg_try_advisory_lock(retouch_owner_key($1))", owner):
                await conn.fetchval("SELECT pg_advisory_unlock(retouch_owner_key($1))", owner)
                dead.append(owner)
    return dead
