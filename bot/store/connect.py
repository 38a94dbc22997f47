"""Opening the database the settings name: the SQLite file (DATABASE_PATH), or PostgreSQL
when DATABASE_URL is set. Both come back migrated to the current schema, as a
bot/store/backend.py Database that every store takes."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from bot.store.backend import Database, PostgresDatabase, SqliteDatabase
from bot.store.sqlite import MigrationError

if TYPE_CHECKING:
    from bot.config import Settings


class DatabaseOpenError(Exception):
    """The database cannot be opened; the message is one line for the operator."""


def uses_postgres(settings: "Settings") -> bool:
    return bool(getattr(settings, "database_url", None))


def describe(settings: "Settings") -> str:
    """Where the data lives, for messages (never with a password)."""
    if uses_postgres(settings):
        from bot.redact import without_credentials

        return without_credentials(settings.database_url or "")
    return str(settings.database_path)


async def open_database(settings: "Settings") -> Database:
    if uses_postgres(settings):
        return await open_postgres(settings.database_url or "")
    from bot.private_files import create_private_file, make_private_dirs
    from bot.store.sqlite import open_database as open_sqlite

    path = settings.database_path
    # Made 0600 before SQLite opens it: its -wal and -shm files take the same mode.
    await asyncio.to_thread(make_private_dirs, path.parent)
    await asyncio.to_thread(create_private_file, path)
    conn = await open_sqlite(path, busy_timeout_ms=int(settings.database_busy_timeout * 1000))
    return SqliteDatabase(conn, path)


async def open_postgres(url: str, *, min_size: int | None = None, max_size: int | None = None) -> PostgresDatabase:
    from bot.redact import without_credentials
    from bot.store import postgres

    shown = without_credentials(url)
    kwargs = {k: v for k, v in (("min_size", min_size), ("max_size", max_size)) if v is not None}
    try:
        import asyncpg

        try:
            return await postgres.connect(url, **kwargs)  # type: ignore[arg-type]
        except asyncpg.InvalidPasswordError:
            raise DatabaseOpenError(f"PostgreSQL at {shown} refused the user name or password in DATABASE_URL") from None
        except asyncpg.InvalidCatalogNameError:
            raise DatabaseOpenError(f"PostgreSQL at {shown}: the database does not exist: create it (createdb) or fix DATABASE_URL") from None
        except asyncpg.PostgresError as exc:
            raise DatabaseOpenError(f"PostgreSQL at {shown} refused the connection: {exc}") from None
    except (OSError, asyncio.TimeoutError) as exc:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise DatabaseOpenError(
            f"cannot connect to PostgreSQL at {shown} ({reason}); check DATABASE_URL and that the server is running"
        ) from None


async def migrate(db: Database) -> list[int]:
    """Apply pending migrations (SchemaTooNew/MigrationError when they cannot be)."""
    if isinstance(db, SqliteDatabase):
        from bot.store.sqlite import migrate as migrate_sqlite

        try:
            return await migrate_sqlite(db.conn)
        except sqlite3.DatabaseError as exc:
            raise MigrationError(f"cannot read the database: {exc}") from None
    from bot.store import postgres

    return await postgres.migrate(db)  # type: ignore[arg-type]


def journal_path(settings: "Settings") -> Path:
    """Where delivered edits whose commit could not be written wait (bot/edits/reservations.py).

    One file per process: with PostgreSQL several processes may share a data folder, so
    the file is named after the shards the process runs, which stay the same across its
    restarts."""
    base = settings.database_path
    if uses_postgres(settings) and settings.shard_ids is not None:
        shards = "-".join(str(s) for s in settings.shard_ids)
        return base.with_name(f"{base.name}.shards-{shards}.pending-commits")
    return base.with_name(base.name + ".pending-commits")
