"""The one interface the stores run on: SQLite (one file, one process) or PostgreSQL
(DATABASE_URL, shared by several bot processes).

A `Database` runs one SQL statement at a time and returns its rows as sequences:

    rows = await db.fetchall(sql, params)     # params: a dict for :name, a tuple for ?

The stores (QuotaStore's parts, ResultStore, ServerSettingsStore, MetaStore) write each
statement once; where PostgreSQL needs another spelling (its own functions, arrays instead
of json_each, the reservation's locks) the quota store's statements name the piece and
bot/store/sql_template.py fills it per dialect, once, checked. Parameters are written
`:name` or `?` in both: the PostgreSQL side rewrites them to `$1, $2, ...` once per
statement text.

On SQLite `fetchall` IS aiosqlite's `execute_fetchall` (bound at construction): the hot
path costs exactly what it did before this interface existed.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import aiosqlite

from bot.redact import without_credentials

if TYPE_CHECKING:
    import asyncpg

Params = dict[str, Any] | Sequence[Any]
Dialect = Literal["sqlite", "postgresql"]


def _database_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [sqlite3.Error, OSError, ConnectionError, asyncio.TimeoutError]
    try:
        import asyncpg

        errors += [asyncpg.PostgresError, asyncpg.InterfaceError]
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        pass
    return tuple(errors)


# What a failed write to either database raises: a locked or full SQLite file, a lost or
# refused PostgreSQL connection, a statement PostgreSQL aborted. The commit journal
# (bot/edits/reservations.py) keeps a delivered edit's commit through any of them.
DATABASE_ERRORS: tuple[type[BaseException], ...] = _database_errors()


class Database:
    """Common face of both backends. `location` names it for logs and messages (a path,
    or a URL without its password)."""

    dialect: Dialect
    location: str

    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    async def fetchone(self, sql: str, params: Params = ()) -> Any:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Params = ()) -> None:
        await self.fetchall(sql, params)

    async def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class SqliteDatabase(Database):
    """One aiosqlite connection in autocommit mode (see bot/store/sqlite.py open_database)."""

    dialect: Dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection, path: Path | str | None = None) -> None:
        self.conn = conn
        self.path = Path(path) if path is not None else None
        self.location = str(path) if path is not None else "SQLite"
        # No wrapper in between: the quota store's hot path calls aiosqlite directly.
        self.fetchall = conn.execute_fetchall  # type: ignore[assignment, method-assign]

    async def execute(self, sql: str, params: Params = ()) -> None:
        await self.conn.execute_fetchall(sql, params)  # type: ignore[arg-type]

    async def close(self) -> None:
        await self.conn.close()


def as_database(conn: "aiosqlite.Connection | Database") -> Database:
    """A store may be given a bare aiosqlite connection (tests, benchmarks) or a Database."""
    return conn if isinstance(conn, Database) else SqliteDatabase(conn)


# ----- PostgreSQL ------------------------------------------------------------------------

_PARAM = re.compile(r"'(?:[^']|'')*'|(?<!:):([A-Za-z_][A-Za-z0-9_]*)|\?")


@lru_cache(maxsize=512)
def translate(sql: str) -> tuple[str, tuple[str, ...] | int]:
    """SQLite-style placeholders to PostgreSQL's: `:name` (the same name is the same
    `$n`) or `?` (in order). Returns the text and either the names in `$n` order or the
    number of `?`. String literals and `::type` casts are left alone."""
    names: list[str] = []
    positional = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal positional
        text = match.group(0)
        if text.startswith("'"):
            return text
        if text == "?":
            positional += 1
            return f"${positional}"
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    out = _PARAM.sub(replace, sql)
    if names and positional:
        raise ValueError("a statement uses either :name or ? placeholders, not both")
    return out, (tuple(names) if names else positional)


def _arguments(order: tuple[str, ...] | int, params: Params) -> list[Any]:
    if isinstance(order, int):
        values = list(params.values()) if isinstance(params, dict) else list(params)
        if len(values) != order:
            raise ValueError(f"the statement takes {order} parameters, {len(values)} given")
        return values
    if not isinstance(params, dict):
        raise ValueError("a statement with :name placeholders takes a dict of parameters")
    return [params[name] for name in order]


# A statement PostgreSQL aborted only because of another transaction (a deadlock it
# broke, a serialization failure) is safe to run again: it changed nothing.
_RETRYABLE_SQLSTATES = {"40P01", "40001"}
RETRY_ATTEMPTS = 5


class PostgresDatabase(Database):
    """An asyncpg pool. Every `fetchall` is one statement on a pooled connection, outside
    any explicit transaction (autocommit), as on SQLite."""

    dialect: Dialect = "postgresql"

    def __init__(self, pool: "asyncpg.Pool", url: str) -> None:
        self.pool = pool
        self.url = url
        self.location = without_credentials(url)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        text, order = translate(sql)
        args = _arguments(order, params)
        for attempt in range(RETRY_ATTEMPTS):
            try:
                return await self.pool.fetch(text, *args)
            except Exception as exc:
                if getattr(exc, "sqlstate", None) not in _RETRYABLE_SQLSTATES or attempt + 1 == RETRY_ATTEMPTS:
                    raise
                await asyncio.sleep(0.005 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    async def fetch_locked(self, lock_sql: str, lock_params: Params, sql: str, params: Params = ()) -> list[Any]:
        """`sql` in one transaction after `lock_sql` (a LOCK TABLE or an advisory lock).
        The second statement reads a snapshot taken after the lock was granted."""
        lock_text, lock_order = translate(lock_sql)
        text, order = translate(sql)
        for attempt in range(RETRY_ATTEMPTS):
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    await conn.execute(lock_text, *_arguments(lock_order, lock_params))
                    return await conn.fetch(text, *_arguments(order, params))
            except Exception as exc:
                if getattr(exc, "sqlstate", None) not in _RETRYABLE_SQLSTATES or attempt + 1 == RETRY_ATTEMPTS:
                    raise
                await asyncio.sleep(0.005 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    async def close(self) -> None:
        await self.pool.close()
