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

from bot.store import ledger, limit_rules, postgres, spend_caps, usage_reports
from bot.store.backend import translate
from bot.store.models import QuotaExceeded, Reservation, Rule
from bot.store.quota import QuotaStore
from bot.store.sqlite import MigrationError, SchemaTooNew, load_migrations
from tests.support.polling import eventually

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
     ledger.SQL["postgresql"].release_abandoned, spend_caps.SQL["postgresql"].global_cap,
     usage_reports.SQL["postgresql"].global_usage],
)
async def test_statements_never_scan_the_whole_ledger(planned: str, sql: str) -> None:
    """With plenty of rows, the planner reads the member's, the server's or the open rows
    by index, as SQLite does (tests/store/test_schema.py)."""
    import asyncpg

    conn = await asyncpg.connect(planned)
    try:
        text, order = translate(sql)
        params = {"guild": 1, "user": 2, "start": 1.7e9, "end": 1.8e9, "day": 19675, "now": 1.8e9, "rules_version": 0,
                  "top": 10, "reason": "r", "cutoff": 0.0, "owner": "x", "seen_before": 0.0, "period": "month"}
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


# ----- version 6: a reservation and its settle write the ledger row alone ---------------------


async def test_open_rows_stay_findable_while_sweeps_race_reservations(postgres_url: str) -> None:
    """Reservations on two pools while a third keeps moving the open-rows bound up
    (every sweep does): no open row ever falls below it, so the rows of a process that
    died are always found and released."""
    pools = [await postgres.connect(postgres_url) for _ in range(3)]
    try:
        makers = [QuotaStore(p, owner=f"maker-{i}", default_limit=1000, default_period="day") for i, p in enumerate(pools[:2])]
        sweeper = QuotaStore(pools[2], owner="sweeper", default_limit=1000, default_period="day")
        left_open: list[Reservation] = []
        done = asyncio.Event()

        async def make(store: QuotaStore, task: int) -> None:
            for n in range(15):
                result = await store.reserve(task, n, [], 1, model="m")
                assert isinstance(result, Reservation)
                if n % 2:
                    left_open.append(result)
                else:
                    assert await store.commit(result.id, 1)

        async def sweep() -> int:
            sweeps = 0
            while not done.is_set() or sweeps == 0:
                assert await sweeper.release_stale(10**9) == 0
                sweeps += 1
            return sweeps

        sweeping = asyncio.create_task(sweep())
        await asyncio.gather(*(make(store, task) for store in makers for task in range(10)))
        done.set()
        assert await sweeping >= 1
        below = await pools[2].fetchall(
            "SELECT id FROM ledger WHERE status = 'reserved' AND id < (SELECT first_id FROM ledger_open_from)"
        )
        assert below == []
        # Both makers are gone (no liveness lock, no beat): every open row they left is released.
        assert await sweeper.release_abandoned("sweeper") == len(left_open) == 140
        # With nothing open, the next sweep moves the bound past every row.
        await sweeper.release_stale(10**9)
        bound, last = (await pools[2].fetchone("SELECT (SELECT first_id FROM ledger_open_from), MAX(id) FROM ledger"))
        assert bound == last + 1
    finally:
        for p in pools:
            await p.close()


async def test_the_daily_limit_counts_the_rows_made_before_it_applied(postgres_url: str) -> None:
    """Rows reserved while no daily limit applied are not in the day's total; a process
    starting with the limit counts them before its first reservation, and their settles
    keep the total from then on."""
    db = await postgres.connect(postgres_url)
    try:
        before = QuotaStore(db, owner="before", default_limit=100, default_period="day")
        for user in (1, 2):
            made = await before.reserve(1, user, [], 3, model="m")
            assert isinstance(made, Reservation) and await before.commit(made.id, 3)
        running = await before.reserve(1, 3, [], 2, model="m")
        assert isinstance(running, Reservation)
        limited = QuotaStore(db, owner="limited", default_limit=100, default_period="day", global_daily_limit=10)
        # Asked before any reservation (the question spared to a member whose edit cannot run).
        assert isinstance(await limited.refusal_for(1, 4, [], 3), QuotaExceeded)
        refusal = await limited.reserve(1, 4, [], 3, model="m")
        assert isinstance(refusal, QuotaExceeded) and (refusal.rule, refusal.used) == (Rule.GLOBAL_BUDGET, 8)
        assert isinstance(await limited.reserve(1, 4, [], 2, model="m"), Reservation)
        # The running edit fails: its row, counted since, gives its images back to the day.
        assert await before.refund(running, "provider error")
        assert (await limited.global_usage()).used == 8
        assert isinstance(await limited.reserve(1, 5, [], 2, model="m"), Reservation)
        assert isinstance(await limited.reserve(1, 6, [], 1, model="m"), QuotaExceeded)
    finally:
        await db.close()


async def test_a_settle_counts_toward_a_budget_set_while_its_edit_ran(postgres_url: str) -> None:
    """An edit reserved with no cap in force settles after a moderator set a budget: its
    bill reaches the new cap's running total, not only the ledger."""
    db = await postgres.connect(postgres_url)
    try:
        store = QuotaStore(db, owner="one", default_limit=100, default_period="day")
        made = await store.reserve(7, 1, [], 1, model="m", cost_usd=0.04)
        assert isinstance(made, Reservation)
        await store.set_budget(7, 5.0, "month")  # its cap row starts from the estimate
        assert (await store.spend_status(7)).server.spent_micros == 40_000
        assert await store.commit(made.id, 1, cost_usd=0.10)
        assert (await store.spend_status(7)).server.spent_micros == 100_000
        other = await store.reserve(7, 2, [], 1, model="m", cost_usd=0.04)
        assert isinstance(other, Reservation) and await store.refund(other, "provider error")
        assert (await store.spend_status(7)).server.spent_micros == 100_000
    finally:
        await db.close()


async def test_a_sweep_waits_for_a_half_made_reservation(postgres_url: str) -> None:
    """A reservation whose id is drawn but whose row is not yet committed is invisible to
    a sweep; rows after it are visible. The sweep must not move the open-rows bound past
    it: it waits for the reservation's transaction, then sees the row."""
    import asyncpg

    db = await postgres.connect(postgres_url)
    half = await asyncpg.connect(postgres_url)
    try:
        store = QuotaStore(db, owner="sweeper", default_limit=100, default_period="day")
        transaction = half.transaction()
        await transaction.start()
        await half.execute("SELECT pg_advisory_xact_lock_shared(retouch_reserving_key())")
        slow_id = await half.fetchval(
            "INSERT INTO ledger (guild_id, user_id, model, images_reserved, rule, quota_limit, period, created_at, owner) "
            "VALUES (1, 1, 'm', 1, 'bot default', 100, 'day', extract(epoch FROM now()), 'gone') RETURNING id"
        )
        later = await store.reserve(1, 2, [], 1, model="m")
        assert isinstance(later, Reservation) and later.id > slow_id and await store.commit(later.id, 1)
        sweep = asyncio.create_task(store.release_stale(10**9))

        async def sweep_waits() -> bool:
            row = await db.fetchone("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            return row[0] == 1

        await eventually(sweep_waits, what="the sweep waiting for the half-made reservation")
        assert not sweep.done()
        await transaction.commit()
        await sweep
        bound = (await db.fetchone("SELECT first_id FROM ledger_open_from"))[0]
        assert bound <= slow_id
        assert await store.release_abandoned("sweeper") == 1  # found, and released
    finally:
        await half.close()
        await db.close()


async def test_upgrading_to_version_6_keeps_the_day_totals_and_finds_open_rows(empty_postgres_url: str) -> None:
    """A database of version 5 with edits done and one running: after the upgrade its rows
    count in their day's total (once), the running one is still found as open, and the
    row's rules, now domains and one constraint, still refuse what they refused."""
    import asyncpg

    db = await postgres.connect(empty_postgres_url)
    try:
        await postgres.migrate(db, target=5)
        now = (await db.fetchone("SELECT extract(epoch FROM now())::float8"))[0]
        for user, reserved, delivered, status in ((1, 2, 2, "committed"), (2, 4, 3, "committed"), (3, 2, None, "reserved")):
            await db.execute(
                "INSERT INTO ledger (guild_id, user_id, model, images_reserved, images_delivered, status, rule, "
                "quota_limit, period, created_at, owner) VALUES (1, :user, 'm', :reserved, :delivered, :status, "
                "'bot default', 100, 'day', :now, 'old-boot')",
                {"user": user, "reserved": reserved, "delivered": delivered, "status": status, "now": now},
            )
        await db.execute("SELECT retouch_rebuild_summary()")
        assert await postgres.migrate(db) == list(range(6, LATEST + 1))

        limited = QuotaStore(db, owner="new", default_limit=100, default_period="day", global_daily_limit=10)
        refusal = await limited.reserve(1, 4, [], 4, model="m")
        assert isinstance(refusal, QuotaExceeded) and refusal.used == 7  # 2 + 3 delivered, 2 running
        assert (await limited.global_usage()).used == 7
        assert await limited.release_abandoned("new") == 1
        assert isinstance(await limited.reserve(1, 4, [], 5, model="m"), Reservation)  # 5 + 5

        for bad in ("images_reserved = 0", "status = 'bogus'", "images_delivered = images_reserved + 1",
                    "cost_reserved_usd = -1", "images_delivered = -1"):
            with pytest.raises(asyncpg.exceptions.IntegrityConstraintViolationError):
                await db.execute(f"UPDATE ledger SET {bad} WHERE user_id = 1")
    finally:
        await db.close()
