"""Connection settings and the migrations runner."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from bot.store.sqlite import (
    DEFAULT_MIGRATIONS_DIR,
    MigrationError,
    SchemaTooNew,
    load_migrations,
    migrate,
    open_database,
    schema_status,
    split_statements,
)
from bot.store.quota import QuotaStore
from tests.store.conftest import GUILD, USER, ManualClock
from tests.store.conftest import cap_rows

MIGRATIONS = load_migrations()
LATEST = len(MIGRATIONS)


def user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_migrations(tmp_path: Path, extra: dict[str, str] | None = None, upto: int = LATEST) -> Path:
    directory = tmp_path / "migrations"
    directory.mkdir()
    for migration in MIGRATIONS[:upto]:
        shutil.copy(migration.path, directory / migration.path.name)
    for name, sql in (extra or {}).items():
        (directory / name).write_text(sql)
    return directory


async def test_open_database_settings(db_path: Path) -> None:
    assert not db_path.parent.exists()
    conn = await open_database(db_path)
    try:
        assert db_path.parent.is_dir()

        async def pragma(name: str) -> object:
            return list(await conn.execute_fetchall(f"PRAGMA {name}"))[0][0]

        assert await pragma("journal_mode") == "wal"
        assert await pragma("synchronous") == 1  # NORMAL
        assert await pragma("foreign_keys") == 1
        assert await pragma("busy_timeout") >= 1000
        assert conn.isolation_level is None  # autocommit: explicit BEGIN only
        assert not conn.in_transaction
    finally:
        await conn.close()


def test_migration_files_are_numbered_from_one() -> None:
    assert MIGRATIONS[0].path.parent == DEFAULT_MIGRATIONS_DIR
    assert [m.version for m in MIGRATIONS] == list(range(1, LATEST + 1))
    assert LATEST >= 2


async def test_migrate_from_empty_is_idempotent(db_path: Path) -> None:
    conn = await open_database(db_path)
    try:
        assert await migrate(conn) == list(range(1, LATEST + 1))
        assert await migrate(conn) == []
    finally:
        await conn.close()
    assert user_version(db_path) == LATEST
    assert {"ledger", "user_limits", "role_limits", "guild_defaults", "ledger_days"} <= tables(db_path)


V1_RULES = [
    "INSERT INTO guild_defaults VALUES (111, 5, 'week', 0)",
    "INSERT INTO user_limits VALUES (111, 999, 0, 'day', 0)",
    "INSERT INTO role_limits VALUES (111, 42, 7, 'month', 0)",
]


def insert_v1_history(path: Path, clock: ManualClock) -> None:
    """Rows written with only the columns schema version 1 has."""
    now = clock().timestamp()
    conn = sqlite3.connect(path)
    try:
        for sql in V1_RULES:
            conn.execute(sql)
        rows = [
            # guild, user, reserved, delivered, status, created
            (GUILD, USER, 3, 2, "committed", now - 3600),
            (GUILD, USER, 1, 0, "refunded", now - 1800),
            (GUILD, USER, 2, None, "reserved", now - 60),
            (GUILD, USER, 4, 4, "committed", now - 40 * 86400),  # a past period
        ]
        conn.executemany(
            "INSERT INTO ledger (guild_id, user_id, model, images_reserved, images_delivered, status, "
            "input_tokens, output_tokens, total_tokens, cost_usd, rule, quota_limit, period, created_at, owner) "
            "VALUES (?, ?, 'gpt-image-1', ?, ?, ?, 10, 20, 30, 0.5, 'server default', 5, 'week', ?, 'old-boot')",
            rows,
        )
        conn.commit()
    finally:
        conn.close()


@pytest.mark.parametrize("start_version", range(LATEST))
async def test_upgrade_from_every_earlier_version(db_path: Path, clock: ManualClock, start_version: int) -> None:
    conn = await open_database(db_path)
    await migrate(conn, target=start_version)
    await conn.close()
    assert user_version(db_path) == start_version
    if start_version >= 1:
        insert_v1_history(db_path, clock)

    conn = await open_database(db_path)
    try:
        assert await migrate(conn) == list(range(start_version + 1, LATEST + 1))
        store = QuotaStore(conn, owner="new-boot", default_limit=10, default_period="day", clock=clock)
        usage = await store.usage_for(GUILD, USER)
        rules = await store.list_rules(GUILD)
        today = await store.global_usage()
        released = await store.release_abandoned()
        after_release = await store.usage_for(GUILD, USER)
    finally:
        await conn.close()
    assert user_version(db_path) == LATEST
    # No money cap yet, so no running total is kept (schema 8).
    assert cap_rows(db_path) == {}

    if start_version == 0:
        assert usage.used == 0 and rules.default is None and today.used == 0 and released == 0
        return
    # Rules survive and still decide the limit.
    assert rules.default is not None and (rules.default.limit, rules.default.period) == (5, "week")
    assert [(u.user_id, u.limit) for u in rules.users] == [(999, 0)]
    assert [(r.role_id, r.limit, r.period) for r in rules.roles] == [(42, 7, "month")]
    # This week's history still counts: 2 delivered + 2 still reserved, the refund counts 0.
    assert (usage.limit, usage.rule, usage.used, usage.reserved_in_flight) == (5, "server default", 4, 2)
    assert (usage.images, usage.total_tokens) == (2, 90)
    # The per-day summary was built from the old rows.
    assert today.used == 4
    # The old process's open reservation is found and refunded.
    assert released == 1 and after_release.used == 2
    prompts = [r[0] for r in sqlite3.connect(db_path).execute("SELECT prompt FROM ledger")]
    assert prompts == [None] * 4


async def test_database_newer_than_code_is_refused_and_left_alone(db_path: Path) -> None:
    conn = await open_database(db_path)
    await migrate(conn)
    await conn.execute_fetchall(f"PRAGMA user_version = {LATEST + 3}")
    await conn.close()
    before = digest(db_path)

    conn = await open_database(db_path)
    try:
        with pytest.raises(SchemaTooNew) as caught:
            await migrate(conn)
    finally:
        await conn.close()
    assert str(caught.value) == (
        f"database schema version {LATEST + 3} is newer than this Retouch (max {LATEST}): "
        "upgrade Retouch or restore a backup"
    )
    assert (caught.value.current, caught.value.latest) == (LATEST + 3, LATEST)
    assert digest(db_path) == before
    assert user_version(db_path) == LATEST + 3


@pytest.mark.parametrize("start_version", [0, LATEST])
async def test_failed_migration_rolls_back_ddl_and_version(
    tmp_path: Path, db_path: Path, start_version: int
) -> None:
    broken = f"{LATEST + 1:03d}_broken.sql"
    directory = copy_migrations(
        tmp_path,
        {broken: "CREATE TABLE half_done (x INTEGER);\nALTER TABLE ledger ADD COLUMN half INTEGER;\n"
                 "INSERT INTO no_such_table VALUES (1);\n"},
    )
    conn = await open_database(db_path)
    try:
        await migrate(conn, target=start_version)
        with pytest.raises(MigrationError, match=f"{broken} failed and was rolled back: no such table"):
            await migrate(conn, directory)
        assert not conn.in_transaction
        # Every good migration before it was applied and kept; the broken one left nothing.
        assert list(await conn.execute_fetchall("PRAGMA user_version")) == [(LATEST,)]
        columns = [r[1] for r in await conn.execute_fetchall("PRAGMA table_info(ledger)")]
        assert "half" not in columns
        assert "half_done" not in tables(db_path)

        # Once fixed, the same file applies.
        (directory / broken).write_text("CREATE TABLE half_done (x INTEGER);\n")
        assert await migrate(conn, directory) == [LATEST + 1]
    finally:
        await conn.close()
    assert "half_done" in tables(db_path)
    assert user_version(db_path) == LATEST + 1


async def test_schema_status_reports_without_changing_anything(tmp_path: Path, db_path: Path) -> None:
    missing = await schema_status(db_path)
    assert (missing.exists, missing.current, missing.latest) == (False, 0, LATEST)
    assert [m.version for m in missing.pending] == list(range(1, LATEST + 1))
    assert not db_path.exists() and not db_path.parent.exists()

    conn = await open_database(db_path)
    await migrate(conn, target=1)
    await conn.close()
    before, mtime = digest(db_path), db_path.stat().st_mtime_ns
    status = await schema_status(db_path)
    assert (status.exists, status.current, status.up_to_date, status.too_new) == (True, 1, False, False)
    assert [m.version for m in status.pending] == list(range(2, LATEST + 1))
    assert digest(db_path) == before and db_path.stat().st_mtime_ns == mtime
    assert user_version(db_path) == 1

    conn = await open_database(db_path)
    await migrate(conn)
    current = await schema_status(db_path)  # while the bot has it open
    assert current.up_to_date and current.pending == ()
    await conn.execute_fetchall(f"PRAGMA user_version = {LATEST + 1}")
    await conn.close()
    newer = await schema_status(db_path)
    assert newer.too_new and newer.pending == ()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"001_a.sql": "", "003_c.sql": ""}, "without gaps"),
        ({"001_a.sql": "", "01_b.sql": ""}, "two migrations numbered 1"),
        ({"001_a.sql": "", "notes.sql": ""}, "must look like 001_name.sql"),
    ],
)
def test_bad_migration_directories_are_refused(tmp_path: Path, files: dict[str, str], message: str) -> None:
    for name, sql in files.items():
        (tmp_path / name).write_text(sql)
    with pytest.raises(MigrationError, match=message):
        load_migrations(tmp_path)


def test_missing_migration_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match="not found"):
        load_migrations(tmp_path / "nope")


def test_split_statements_keeps_triggers_strings_and_comments_whole() -> None:
    script = """
    -- a comment; with a semicolon
    CREATE TABLE t (x TEXT DEFAULT 'a;b');
    /* block; comment */
    CREATE TRIGGER tr AFTER INSERT ON t BEGIN
        INSERT INTO t VALUES ('x;y');
        SELECT 1;
    END;
    INSERT INTO t VALUES ('last')
    """
    statements = split_statements(script)
    assert len(statements) == 3
    assert statements[0].endswith("CREATE TABLE t (x TEXT DEFAULT 'a;b');")
    assert "SELECT 1;" in statements[1] and statements[1].endswith("END;")
    assert statements[2].startswith("INSERT INTO t VALUES ('last')")
    conn = sqlite3.connect(":memory:")
    for statement in statements:
        conn.execute(statement)
    # The trigger body ran whole: its own insert, semicolon and all, is there too.
    assert sorted(r[0] for r in conn.execute("SELECT x FROM t")) == ["last", "x;y"]


async def test_target_version_must_exist(db_path: Path) -> None:
    conn = await open_database(db_path)
    try:
        with pytest.raises(ValueError, match="target version"):
            await migrate(conn, target=LATEST + 1)
    finally:
        await conn.close()
