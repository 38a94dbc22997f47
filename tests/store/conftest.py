"""Shared fixtures for the store: a controllable clock, a migrated database, and a
factory for stores over it.

The store's tests run against both backends: `db`, `store`, `make_store` and `target`
are parametrized with "sqlite" (a file in a temporary directory) and "postgresql" (a
fresh database copied from a migrated template, see tests/conftest.py). Same tests, same
assertions. A test that is about SQLite itself (its migrations runner, PRAGMAs, query
plans, the file) uses `db_path` without `db` and runs once; one that needs SQLite through
the parametrized fixtures is marked `sqlite_only` with the reason.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.store.backend import Database, SqliteDatabase, translate
from bot.store.sqlite import migrate, open_database
from bot.store.quota import QuotaStore

GUILD = 111
USER = 222
OTHER_USER = 333

BACKENDS = ("sqlite", "postgresql")


class ManualClock:
    """A clock tests move by hand; the store reads it like datetime.now(UTC)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> ManualClock:
    # A Tuesday, mid-month, mid-day: far from every period boundary.
    return ManualClock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "retouch.db"


def _run_in_thread(coro_factory: Callable[[], Any]) -> Any:
    """Run a coroutine to completion on a loop of its own (a separate connection that
    does not share the test's event loop, as an auditor's shell would)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(coro_factory())).result(timeout=60)


# The backend holding a process's liveness lock (an advisory lock on a bigint key is
# listed as classid = high 32 bits, objid = low 32 bits, objsubid = 1).
_LIVENESS_HOLDER = """
SELECT pid FROM pg_locks
 WHERE locktype = 'advisory' AND granted AND objsubid = 1
   AND ((classid::bigint << 32) | objid::bigint) = retouch_owner_key(?)
"""


@dataclass
class Target:
    """The database under test, seen from outside the store: an auditor reading rows, a
    second connection (another process), a shell changing a table."""

    backend: str
    path: Path  # the SQLite file (with PostgreSQL: where kept results would live)
    url: str | None = None

    @property
    def postgres(self) -> bool:
        return self.backend == "postgresql"

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Rows as dicts, read with a plain separate connection. `?` placeholders."""
        if not self.postgres:
            conn = sqlite3.connect(self.path)
            conn.row_factory = sqlite3.Row
            try:
                return [dict(r) for r in conn.execute(sql, params).fetchall()]
            finally:
                conn.close()

        async def read() -> list[dict[str, Any]]:
            import asyncpg

            conn = await asyncpg.connect(self.url)
            try:
                return [dict(r) for r in await conn.fetch(translate(sql)[0], *params)]
            finally:
                await conn.close()

        return _run_in_thread(read)

    def liveness_holder(self, owner: str) -> int | None:
        """The PostgreSQL backend holding process `owner`'s liveness lock, if any."""
        rows = self.rows(_LIVENESS_HOLDER, (owner,))
        assert len(rows) <= 1, rows
        return rows[0]["pid"] if rows else None

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        """One statement on a separate connection, committed."""
        if not self.postgres:
            with sqlite3.connect(self.path) as conn:
                conn.execute(sql, params)
            return

        async def run() -> None:
            import asyncpg

            conn = await asyncpg.connect(self.url)
            try:
                await conn.execute(translate(sql)[0], *params)
            finally:
                await conn.close()

        _run_in_thread(run)

    async def connect(self) -> Database:
        """A second connection (its own pool with PostgreSQL), as another process has."""
        if self.postgres:
            from bot.store import postgres

            return await postgres.connect(self.url or "")
        return SqliteDatabase(await open_database(self.path), self.path)

    def day(self, column: str = "created_at") -> str:
        """SQL for the UTC day number of a time column, in this backend's spelling."""
        return f"CAST(floor({column} / 86400) AS INTEGER)" if self.postgres else f"CAST({column} / 86400 AS INTEGER)"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A `sqlite_only` (or `postgres_only`) test, whose reason says why, has no variant for
    the other backend at all: it is not collected for it, rather than collected and skipped."""
    keep, drop = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        backend = params.params.get("backend") if params is not None else None
        other = {"postgresql": "sqlite_only", "sqlite": "postgres_only"}.get(backend or "")
        (drop if other and item.get_closest_marker(other) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def target(backend: str, db_path: Path, request: pytest.FixtureRequest) -> Target:
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_url")
        return Target(backend, db_path, url)
    return Target(backend, db_path)


@pytest.fixture
async def db(target: Target) -> AsyncIterator[Database]:
    if target.postgres:
        from bot.store import postgres

        database: Database = await postgres.connect(target.url or "")
    else:
        conn = await open_database(target.path)
        await migrate(conn)
        database = SqliteDatabase(conn, target.path)
    try:
        yield database
    finally:
        await database.close()


StoreFactory = Callable[..., QuotaStore]


@pytest.fixture
def make_store(db: Database, clock: ManualClock) -> StoreFactory:
    def make(conn: Database | None = None, **options: object) -> QuotaStore:
        settings: dict[str, object] = {
            "owner": "boot-test",
            "default_limit": 10,
            "default_period": "day",
            "clock": clock,
        }
        settings.update(options)
        return QuotaStore(conn or db, **settings)  # type: ignore[arg-type]

    return make


@pytest.fixture
def store(make_store: StoreFactory) -> QuotaStore:
    return make_store()


def ledger_rows(target: Target | Path, where: str = "1 = 1", params: tuple[object, ...] = ()) -> list[dict[str, Any]]:
    """Read the ledger with a separate plain connection, as an auditor would."""
    if isinstance(target, Path):
        target = Target("sqlite", target)
    return target.rows(f"SELECT * FROM ledger WHERE {where} ORDER BY id", params)


def cap_rows(target: Target | Path) -> dict[int, tuple[str, int, int, int]]:
    """The money caps' running totals, read as an auditor would: scope -> (period, first
    day, day after, spend)."""
    from bot.store.quota_sql import CAP_ROWS

    if isinstance(target, Path):
        target = Target("sqlite", target)
    rows = target.rows("SELECT scope, period, period_start, period_end, spend_micros FROM ledger_days WHERE day = ?", (CAP_ROWS,))
    return {r["scope"]: (r["period"], r["period_start"], r["period_end"], r["spend_micros"]) for r in rows}
