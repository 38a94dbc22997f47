"""`python -m bot migrate-db` (target in MIGRATE_DB_TO, or `--to postgresql://...`): copy the
SQLite database into an empty PostgreSQL database.

The target's password is best passed in the environment: a command line is visible to
every user of the machine (`ps`), and kept in the shell's history.

Stop the bot first (anything it writes after the copy is not carried over; a bot still
running on DATABASE_PATH is detected by its instance lock and refused). Steps:
  1. a consistent snapshot of DATABASE_PATH (SQLite's backup API, as `backup` takes),
     brought to the current SQLite schema in a temporary folder (the original is only read);
  2. the target migrated to the current PostgreSQL schema and checked to be empty (no
     rules, ledger, settings, budgets, blocked words, kept results or meta): a non-empty
     target is refused, nothing is changed;
  3. every table copied in ONE transaction (COPY), the ledger with its ids; the day summary
     and the money caps' running totals are rebuilt by the target's own triggers from the
     copied rows (budgets after the ledger, so their totals sum it);
  4. verified before the commit: rows per table, and sums of images, tokens and money
     (billed, estimated, and what counts against the caps), equal on both sides; any
     difference rolls everything back.
  5. kept results' files (results/<id>/ next to DATABASE_PATH) carried into
     `edit_result_files` in the same transaction, so their buttons work on every process;
     a result whose folder is gone is copied without files and answers as expired. The
     folders stay where they are (the SQLite database is only read).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from bot.redact import password_spellings, without_credentials

# Where the target is read from when `--to` is not given.
MIGRATE_DB_TO = "MIGRATE_DB_TO"

# Copied in this order: the ledger before the budgets (a budget's trigger sums the ledger).
TABLES = (
    "meta",
    "guild_defaults",
    "user_limits",
    "role_limits",
    "server_settings",
    "blocked_words",
    "edit_results",
    "ledger",
    "guild_budgets",
    "safety_strikes",
    "safety_pauses",
)
# Filled from the files on disk, not from a SQLite table; checked to be empty with the rest.
RESULT_FILES = "edit_result_files"

# Checked on both sides after the copy (besides the row counts).
SUMS = {
    "ledger": (
        "images_reserved", "images_delivered", "input_tokens", "output_tokens", "total_tokens",
        "cost_usd", "cost_reserved_usd", "spend_micros", "id",
    ),
    "guild_budgets": ("limit_micros",),
    "edit_results": ("bytes",),
    "user_limits": ("quota_limit",),
    "role_limits": ("quota_limit",),
    "guild_defaults": ("quota_limit",),
}
MONEY = {"cost_usd", "cost_reserved_usd"}
# Columns PostgreSQL computes where they are read instead of storing them.
COMPUTED_IN_POSTGRES = {("ledger", "spend_micros"): "retouch_spend(status, cost_reserved_usd, cost_usd, refund_reason)"}


class MigrateError(Exception):
    """The copy could not be made; the message is one line for the operator."""


@dataclass(frozen=True)
class Copied:
    counts: dict[str, int]
    seconds: float


def _snapshot(source: Path, folder: Path) -> Path:
    """A consistent copy of the live file, brought to the current SQLite schema."""
    if not source.is_file():
        raise MigrateError(f"no SQLite database at {source}: check DATABASE_PATH (or pass --from PATH)")
    copy = folder / "snapshot.db"
    try:
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            dst = sqlite3.connect(copy)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.DatabaseError as exc:
        raise MigrateError(f"cannot read the SQLite database {source}: {exc}") from None
    return copy


async def _upgrade(copy: Path) -> None:
    from bot.store.sqlite import MigrationError, migrate, open_database

    conn = await open_database(copy)
    try:
        await migrate(conn)
    except MigrationError as exc:
        raise MigrateError(f"the SQLite database: {exc}") from None
    finally:
        await conn.close()


def _source_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    # table_xinfo lists generated columns too (hidden 2/3): those are computed, not copied.
    return [r[1] for r in conn.execute(f"PRAGMA table_xinfo({table})") if r[6] == 0]


async def migrate_to_postgres(source: Path, url: str) -> Copied:


    from bot.ops.instance_lock import AlreadyRunning, InstanceLock

    started = time.monotonic()
    shown = without_credentials(url)
    # The bot holds this lock while it runs: what it wrote after the snapshot would be lost.
    lock = InstanceLock(source)
    if source.is_file():
        try:
            lock.acquire()
        except AlreadyRunning:
            raise MigrateError(f"a Retouch bot is running on {source}: stop it first (what it writes during the copy would be lost)") from None
    try:
        return await _migrate(source, url, shown, started)
    finally:
        lock.release()


async def _migrate(source: Path, url: str, shown: str, started: float) -> Copied:
    import asyncpg

    from bot.store import postgres
    from bot.store.connect import DatabaseOpenError, open_postgres
    from bot.store.sqlite import MigrationError

    with tempfile.TemporaryDirectory(prefix="retouch-migrate-") as tmp:
        copy = _snapshot(source, Path(tmp))
        await _upgrade(copy)
        try:
            db = await open_postgres(url, min_size=1, max_size=2)
        except DatabaseOpenError as exc:
            raise MigrateError(str(exc)) from None
        try:
            try:
                await postgres.migrate(db)
            except MigrationError as exc:
                raise MigrateError(f"PostgreSQL at {shown}: {exc}") from None
            lite = sqlite3.connect(copy)
            try:
                async with db.pool.acquire() as conn:
                    try:
                        async with conn.transaction():
                            await _refuse_non_empty(conn, shown)
                            counts = await _copy(lite, conn)
                            counts[RESULT_FILES], carried = await _copy_result_files(lite, conn, source.parent / "results")
                            await _verify(lite, conn)
                            await _verify_result_files(conn, carried)
                    except asyncpg.PostgresError as exc:
                        raise MigrateError(f"copying into PostgreSQL at {shown} failed and was rolled back: {exc}") from None
            finally:
                lite.close()
        finally:
            await db.close()
    return Copied(counts, time.monotonic() - started)


async def _refuse_non_empty(conn: Any, shown: str) -> None:
    # No other migrate-db or bot may start writing while this one copies.
    await conn.execute(f"LOCK TABLE {', '.join((*TABLES, RESULT_FILES))} IN EXCLUSIVE MODE")
    filled = [t for t in (*TABLES, RESULT_FILES) if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {t})")]
    if filled:
        raise MigrateError(
            f"PostgreSQL at {shown} is not empty ({', '.join(filled)} already hold rows): "
            "migrate into a new, empty database (createdb), nothing was changed"
        )


async def _copy(lite: sqlite3.Connection, conn: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in TABLES:
        target_columns = {
            r[0] for r in await conn.fetch(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER'",
                table,
            )
        }
        columns = [c for c in _source_columns(lite, table) if c in target_columns]
        rows = lite.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
        if rows:
            await conn.copy_records_to_table(table, records=rows, columns=columns)
        counts[table] = len(rows)
    # The ledger's day summary and the money caps' running totals: PostgreSQL's statements
    # keep them as they write the ledger, a bulk copy does not.
    await conn.execute("SELECT retouch_rebuild_summary()")
    # New ledger rows continue after the copied ids.
    await conn.execute(
        "SELECT setval(pg_get_serial_sequence('ledger', 'id'), COALESCE((SELECT MAX(id) FROM ledger), 0) + 1, false)"
    )
    await conn.execute(
        "SELECT setval(pg_get_serial_sequence('safety_strikes', 'id'), COALESCE((SELECT MAX(id) FROM safety_strikes), 0) + 1, false)"
    )
    return counts


async def _copy_result_files(lite: sqlite3.Connection, conn: Any, root: Path) -> tuple[int, int]:
    """Each kept result's files, one result at a time (never all in memory). Returns
    (files, bytes) carried."""
    from bot.store.result_files import DiskFiles

    disk = DiskFiles(root)
    files = size = 0
    for (edit_id,) in lite.execute("SELECT id FROM edit_results WHERE unkept IS NULL ORDER BY id").fetchall():
        kept = await disk.read_all(edit_id)
        if kept:
            await conn.copy_records_to_table(
                RESULT_FILES, records=[(edit_id, name, data) for name, data in kept], columns=("result_id", "name", "data")
            )
        files += len(kept)
        size += sum(len(data) for _, data in kept)
    return files, size


async def _verify_result_files(conn: Any, carried: int) -> None:
    theirs = await conn.fetchval(f"SELECT COALESCE(SUM(octet_length(data)), 0) FROM {RESULT_FILES}")
    if int(theirs) != carried:
        raise MigrateError(
            f"verification failed: kept results' files hold {carried} bytes on disk but {theirs} in PostgreSQL; nothing was changed"
        )


async def _verify(lite: sqlite3.Connection, conn: Any) -> None:
    for table in TABLES:
        mine = lite.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        theirs = await conn.fetchval(f"SELECT COUNT(*) FROM {table}")
        if mine != theirs:
            raise MigrateError(f"verification failed: {table} has {mine} rows in SQLite but {theirs} in PostgreSQL; nothing was changed")
        for column in SUMS.get(table, ()):
            a = lite.execute(f"SELECT COALESCE(SUM({column}), 0) FROM {table}").fetchone()[0]
            b = await conn.fetchval(f"SELECT COALESCE(SUM({COMPUTED_IN_POSTGRES.get((table, column), column)}), 0) FROM {table}")
            same = abs(float(a) - float(b)) < 1e-6 * max(1.0, abs(float(a))) if column in MONEY else int(a) == int(b)
            if not same:
                raise MigrateError(
                    f"verification failed: the sum of {table}.{column} is {a} in SQLite but {b} in PostgreSQL; nothing was changed"
                )


def main(to: str | None, source: str | None = None, environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> int:
    """Exit 0 with one line per table, or 1 with one line why. The target is `to` (`--to`),
    else the environment's MIGRATE_DB_TO."""
    from bot.config import ConfigError, _database_url
    from bot.ops.backup import database_path_from_settings
    from bot.redact import redact, register_secret

    given = "--to"
    if not to:
        given, to = MIGRATE_DB_TO, (os.environ if environ is None else environ).get(MIGRATE_DB_TO, "").strip()
    for password in password_spellings(to or ""):
        register_secret(password)
    try:
        try:
            url = _database_url(given, to or "")
        except ConfigError as exc:
            raise MigrateError(str(exc)) from None
        if url is None:
            raise MigrateError(
                f"set {MIGRATE_DB_TO} to the PostgreSQL URL to copy into, e.g. postgresql://retouch:password@localhost:5432/retouch "
                "(or pass --to URL, which other users can see in ps)"
            )
        path = Path(source) if source else database_path_from_settings(environ, env_file)
        copied = asyncio.run(migrate_to_postgres(path, url))
    except MigrateError as exc:
        print(redact(f"retouch: migrate-db failed: {exc}"), file=sys.stderr, flush=True)
        return 1
    except OSError as exc:
        print(redact(f"retouch: migrate-db failed: {exc.strerror or exc}"), file=sys.stderr, flush=True)
        return 1
    for table, count in copied.counts.items():
        print(f"  {table:<15} {count:>9,} rows", flush=True)
    print(
        f"copied {path} into {without_credentials(url)} and verified it (rows per table, sums of images, tokens and money) "
        f"in {copied.seconds:.1f} s. Next: set DATABASE_URL to it (keep DATABASE_PATH: its folder holds the commit journal) and start the bot.",
        flush=True,
    )
    return 0
