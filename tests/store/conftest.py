"""Shared fixtures for the quota store: a controllable clock, a migrated database
in a temporary directory, and a factory for stores over it."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite
import pytest

from bot.store.database import migrate, open_database
from bot.store.quota import QuotaStore

GUILD = 111
USER = 222
OTHER_USER = 333


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


@pytest.fixture
async def db(db_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    conn = await open_database(db_path)
    await migrate(conn)
    try:
        yield conn
    finally:
        await conn.close()


StoreFactory = Callable[..., QuotaStore]


@pytest.fixture
def make_store(db: aiosqlite.Connection, clock: ManualClock) -> StoreFactory:
    def make(conn: aiosqlite.Connection | None = None, **options: object) -> QuotaStore:
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


def ledger_rows(path: Path, where: str = "1", params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
    """Read the ledger with a separate plain connection, as an auditor would."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(f"SELECT * FROM ledger WHERE {where} ORDER BY id", params).fetchall()
    finally:
        conn.close()
