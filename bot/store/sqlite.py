"""Opening the SQLite database and keeping its schema current.

Schema changes live in numbered SQL files (`migrations/001_initial.sql`, ...).
The schema version is `PRAGMA user_version`; it lives in the database header, so
it is written inside the same transaction as the migration's DDL and a failed
migration rolls both back together.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

# The repository root's migrations/ directory, next to the `bot` package.
DEFAULT_MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

# Long enough to ride out a checkpoint or a `backup` copy holding the write lock,
# short enough that a wedged second writer surfaces as an error, not a hang.
BUSY_TIMEOUT_MS = 5000

# Page cache per connection (KiB when negative). The quota indexes of an active
# server stay hot; a larger cache keeps reserve() fast with millions of old rows.
CACHE_SIZE_KIB = 64 * 1024

# Pages written to the WAL before it is copied back into the database. Each
# checkpoint costs two fsyncs; with SQLite's default (1000 pages) one ran every
# ~170 reserve+commit pairs and took ~20% of their wall time (bench/quota.py).
# 10000 pages bounds the WAL at ~40 MiB and lets a checkpoint write a page that
# was changed many times only once.
WAL_AUTOCHECKPOINT_PAGES = 10_000

# After a checkpoint, shrink a WAL that grew past this (bytes).
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024

_MIGRATION_NAME = re.compile(r"^(\d+)_([A-Za-z0-9_-]+)\.sql$")


class MigrationError(Exception):
    """The migrations could not be applied; the database is left as it was."""


class SchemaTooNew(MigrationError):
    """The database was written by a newer Retouch than this one."""

    def __init__(self, current: int, latest: int) -> None:
        self.current = current
        self.latest = latest
        super().__init__(
            f"database schema version {current} is newer than this Retouch "
            f"(max {latest}): upgrade Retouch or restore a backup"
        )


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    def statements(self) -> list[str]:
        return split_statements(self.path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class SchemaStatus:
    exists: bool
    current: int
    latest: int
    pending: tuple[Migration, ...]

    @property
    def too_new(self) -> bool:
        return self.current > self.latest

    @property
    def up_to_date(self) -> bool:
        return self.current == self.latest


def load_migrations(directory: Path | str | None = None) -> tuple[Migration, ...]:
    """Read the migration files, sorted by number.

    Numbers must run 1, 2, 3... without gaps or duplicates: a gap would mean a
    renamed or lost file, and applying around it would silently build a schema
    that no release ever had.
    """
    directory = Path(directory) if directory is not None else DEFAULT_MIGRATIONS_DIR
    if not directory.is_dir():
        raise MigrationError(f"migrations directory not found: {directory}")
    found: dict[int, Migration] = {}
    for path in directory.glob("*.sql"):
        match = _MIGRATION_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"migration file name must look like 001_name.sql: {path}")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migrations numbered {version}: {found[version].path.name}, {path.name}")
        found[version] = Migration(version, match.group(2), path)
    versions = sorted(found)
    if versions != list(range(1, len(versions) + 1)):
        raise MigrationError(f"migrations must be numbered 1..N without gaps, found {versions} in {directory}")
    return tuple(found[v] for v in versions)


def split_statements(script: str) -> list[str]:
    """Split an SQL script into statements, keeping trigger bodies whole.

    executescript() would be simpler but commits any open transaction first,
    which would break "one file, one transaction" below.
    """
    statements: list[str] = []
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        # complete_statement understands quotes, comments and BEGIN...END bodies.
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    # What is left after the last ';' is the artificial ';' appended above plus
    # whatever followed the last real statement: it must be blank or comments.
    rest = buffer[:-1]
    if _strip_comments(rest).strip():
        raise MigrationError(f"SQL after the last complete statement: {rest.strip()[:80]!r}")
    return [s for s in statements if _strip_comments(s).strip(" \t\r\n;")]


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*|/\*.*?\*/", "", sql, flags=re.DOTALL)


async def open_database(path: Path | str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> aiosqlite.Connection:
    """Open (creating if needed) the database with Retouch's connection settings.

    The connection is in autocommit mode: every statement is its own transaction,
    and code that needs several statements together issues BEGIN IMMEDIATE itself,
    so no coroutine can leave a transaction open across awaits by accident.
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        await conn.execute_fetchall("PRAGMA journal_mode = WAL")
        # With WAL, NORMAL loses at most the last transactions on power loss, never
        # consistency, and saves an fsync per commit.
        await conn.execute_fetchall("PRAGMA synchronous = NORMAL")
        await conn.execute_fetchall("PRAGMA foreign_keys = ON")
        await conn.execute_fetchall(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        await conn.execute_fetchall(f"PRAGMA cache_size = {-CACHE_SIZE_KIB}")
        await conn.execute_fetchall("PRAGMA temp_store = MEMORY")
        await conn.execute_fetchall(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
        await conn.execute_fetchall(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
    except BaseException:
        await conn.close()
        raise
    return conn


async def _user_version(conn: aiosqlite.Connection) -> int:
    rows = await conn.execute_fetchall("PRAGMA user_version")
    return int(list(rows)[0][0])


async def migrate(
    conn: aiosqlite.Connection,
    migrations_dir: Path | str | None = None,
    *,
    target: int | None = None,
) -> list[int]:
    """Apply pending migrations in order; return the versions applied.

    Each file and its version number commit in one transaction. Running it again
    is a no-op. `target` stops at that version (tests build old schemas with it).
    Raises SchemaTooNew, without touching anything, when the database is newer
    than the newest migration file.
    """
    migrations = load_migrations(migrations_dir)
    latest = len(migrations)
    target = latest if target is None else target
    if not 0 <= target <= latest:
        raise ValueError(f"target version must be between 0 and {latest}, not {target}")
    current = await _user_version(conn)
    if current > latest:
        raise SchemaTooNew(current, latest)

    applied: list[int] = []
    for migration in migrations[current:target]:
        statements = migration.statements()
        await conn.execute_fetchall("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated
            # between our first look and now.
            version = await _user_version(conn)
            if version > latest:
                raise SchemaTooNew(version, latest)
            if version >= migration.version:
                await conn.execute_fetchall("ROLLBACK")
                continue
            if version != migration.version - 1:
                raise MigrationError(f"database is at version {version}, cannot apply {migration.path.name}")
            for statement in statements:
                await conn.execute_fetchall(statement)
            await conn.execute_fetchall(f"PRAGMA user_version = {migration.version:d}")
            await conn.execute_fetchall("COMMIT")
        except BaseException as error:
            if conn.in_transaction:
                await conn.execute_fetchall("ROLLBACK")
            if isinstance(error, sqlite3.Error):
                raise MigrationError(
                    f"migration {migration.path.name} failed and was rolled back: {error}"
                ) from error
            raise
        applied.append(migration.version)
    return applied


async def schema_status(path: Path | str, migrations_dir: Path | str | None = None) -> SchemaStatus:
    """Report the schema version for `doctor` without creating or changing anything."""
    migrations = load_migrations(migrations_dir)
    latest = len(migrations)
    path = Path(path)
    if not path.exists():
        return SchemaStatus(exists=False, current=0, latest=latest, pending=migrations)
    # mode=ro: a read-only connection cannot create the file, run a migration or
    # change a setting, whatever this code does.
    uri = f"{path.resolve().as_uri()}?mode=ro"
    async with aiosqlite.connect(uri, uri=True) as conn:
        current = await _user_version(conn)
    pending = migrations[current:] if current <= latest else ()
    return SchemaStatus(exists=True, current=current, latest=latest, pending=pending)
