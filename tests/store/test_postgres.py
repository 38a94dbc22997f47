"""PostgreSQL's own migrations runner, statement plans and placeholders.

(SQLite's runner is tests/store/test_sqlite.py; everything the stores do is tested on
both backends by the other files here.)"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path

import pytest

from bot.store import ledger, limit_rules, postgres, usage_reports
from bot.store.backend import translate
from bot.store.models import Reservation
from bot.store.quota import QuotaStore
from bot.store.sqlite import MigrationError, SchemaTooNew, load_migrations

MIGRATIONS = load_migrations(postgres.POSTGRES_MIGRATIONS_DIR)
LATEST = len(MIGRATIONS)


async def version_of(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT version FROM schema_version"))
    finally:
        await conn.close()


async def test_migrate_from_empty_is_idempotent_and_reports_its_status(empty_postgres_url: str) -> None:
    db = await postgres.connect(empty_postgres_url)
    try:
        before = await postgres.schema_status(db)
        assert (before.exists, before.current, before.latest) == (False, 0, LATEST)
        assert await postgres.migrate(db) == list(range(1, LATEST + 1))
        assert await postgres.migrate(db) == []
        after = await postgres.schema_status(db)
        assert after.up_to_date and after.pending == ()
        number, text = await postgres.server_version(db)
        assert number >= postgres.MIN_SERVER_VERSION and text
    finally:
        await db.close()
    assert await version_of(empty_postgres_url) == LATEST


async def test_two_processes_migrating_at_once_apply_each_file_once(empty_postgres_url: str) -> None:
    first, second = await postgres.connect(empty_postgres_url), await postgres.connect(empty_postgres_url)
    try:
        results = await asyncio.gather(postgres.migrate(first), postgres.migrate(second))
    finally:
        await first.close()
        await second.close()
    # Each file is applied by one of them (which one may alternate from file to file).
    assert sorted(results[0] + results[1]) == list(range(1, LATEST + 1))


async def test_database_newer_than_code_is_refused_with_the_same_line(postgres_url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(postgres_url)
    await conn.execute("UPDATE schema_version SET version = $1", LATEST + 3)
    await conn.close()
    db = await postgres.connect(postgres_url)
    try:
        with pytest.raises(SchemaTooNew) as caught:
            await postgres.migrate(db)
        assert (await postgres.schema_status(db)).too_new
    finally:
        await db.close()
    assert str(caught.value) == (
        f"database schema version {LATEST + 3} is newer than this Retouch (max {LATEST}): "
        "upgrade Retouch or restore a backup"
    )
    assert await version_of(postgres_url) == LATEST + 3


async def test_failed_migration_rolls_back_ddl_and_version(tmp_path: Path, postgres_url: str) -> None:
    directory = tmp_path / "migrations"
    directory.mkdir()
    for migration in MIGRATIONS:
        shutil.copy(migration.path, directory / migration.path.name)
    broken = f"{LATEST + 1:03d}_broken.sql"
    (directory / broken).write_text(
        "CREATE TABLE half_done (x INTEGER);\nALTER TABLE ledger ADD COLUMN half INTEGER;\nINSERT INTO no_such_table VALUES (1);\n"
    )
    db = await postgres.connect(postgres_url)
    try:
        with pytest.raises(MigrationError, match=f"postgresql/{broken} failed and was rolled back: .*no_such_table"):
            await postgres.migrate(db, directory)
        assert await db.fetchall("SELECT to_regclass('half_done')") == [(None,)]
        columns = await db.fetchall("SELECT column_name FROM information_schema.columns WHERE table_name = 'ledger'")
        assert "half" not in {r[0] for r in columns}
        assert await version_of(postgres_url) == LATEST
        (directory / broken).write_text("CREATE TABLE half_done (x INTEGER);\n")
        assert await postgres.migrate(db, directory) == [LATEST + 1]
    finally:
        await db.close()


def test_placeholders_are_rewritten_outside_strings_and_casts() -> None:
    assert translate("SELECT :a::bigint, ':b', :a, :c") == ("SELECT $1::bigint, ':b', $1, $2", ("a", "c"))
    assert translate("UPDATE t SET x = ? WHERE id = ? AND s = 'it''s ?'") == (
        "UPDATE t SET x = $1 WHERE id = $2 AND s = 'it''s ?'", 2,
    )
    with pytest.raises(ValueError):
        translate("SELECT :a, ?")


@pytest.fixture(scope="module")
def planned(postgres_server: str, postgres_template: str):  # type: ignore[no-untyped-def]
    """One database with 50,000 ledger rows (loaded without the summary triggers: only the
    plans matter here), analyzed, shared by the plan tests."""
    from tests.conftest import _run_apart, _with_database

    name = f"retouch_plans_{os.getpid()}"

    async def create() -> None:
        import asyncpg

        admin = await asyncpg.connect(postgres_server)
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {postgres_template}")
        await admin.close()
        conn = await asyncpg.connect(_with_database(postgres_server, name))
        try:
            await conn.execute("ALTER TABLE ledger DISABLE TRIGGER USER")
            await conn.execute(
                "INSERT INTO ledger (guild_id, user_id, model, images_reserved, images_delivered, status, rule, "
                "quota_limit, period, created_at, owner) "
                "SELECT g % 500, g, 'm', 1, 1, 'committed', 'bot default', 10, 'day', 1.7e9 + g, 'o' "
                "FROM generate_series(1, 50000) AS g"
            )
            await conn.execute("ALTER TABLE ledger ENABLE TRIGGER USER")
            await conn.execute("INSERT INTO ledger_days (day, scope, first_id) VALUES (19675, -1, 1)")
            await conn.execute("ANALYZE")
        finally:
            await conn.close()

    async def drop() -> None:
        import asyncpg

        admin = await asyncpg.connect(postgres_server)
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()

    _run_apart(create)
    try:
        yield _with_database(postgres_server, name)
    finally:
        _run_apart(drop)


@pytest.mark.parametrize(
    "sql",
    [limit_rules.RULES_SQL, usage_reports.SQL["postgresql"].usage, ledger.SQL["postgresql"].reset,
     usage_reports.SQL["postgresql"].report_rows, ledger.SQL["postgresql"].release_stale,
     ledger.SQL["postgresql"].release_abandoned],
)
async def test_statements_never_scan_the_whole_ledger(planned: str, sql: str) -> None:
    """With plenty of rows, the planner reads the member's, the server's or the open rows
    by index, as SQLite does (tests/store/test_schema.py)."""
    import asyncpg

    conn = await asyncpg.connect(planned)
    try:
        text, order = translate(sql)
        params = {"guild": 1, "user": 2, "start": 1.7e9, "end": 1.8e9, "day": 19675, "now": 1.8e9, "rules_version": 0,
                  "top": 10, "reason": "r", "cutoff": 0.0, "owner": "x", "seen_before": 0.0}
        plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {text}", *[params[n] for n in order]))
    finally:
        await conn.close()
    # (ledger_days, one row per day and slot, may be read whole, as on SQLite.)
    assert not re.search(r"Seq Scan on ledger\b(?!_days)", plan), plan


async def test_the_reservation_takes_its_locks_before_it_reads(postgres_url: str) -> None:
    """Two connections, one member: while one reservation's transaction is open (its
    member lock held), the other waits and then sees its row. READ COMMITTED without the
    lock would have let both read the old sum."""
    first, second = await postgres.connect(postgres_url), await postgres.connect(postgres_url)
    try:
        a = QuotaStore(first, owner="a", default_limit=3, default_period="day")
        b = QuotaStore(second, owner="b", default_limit=3, default_period="day")
        for _ in range(20):
            results = await asyncio.gather(*(s.reserve(1, 2, [], 2, model="m") for s in (a, b, a, b)))
            assert sum(1 for r in results if isinstance(r, Reservation)) == 1
            await first.execute("DELETE FROM ledger")
    finally:
        await first.close()
        await second.close()
