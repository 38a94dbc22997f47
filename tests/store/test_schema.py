"""The schema's derived data stays true, and the hot statements use their indexes."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bot.store import ledger, limit_rules, spend_caps, usage_reports
from bot.store.backend import Database
from bot.store.quota import QuotaStore, Reservation
from tests.store.conftest import ManualClock, StoreFactory, Target


def summary_mismatches(target: Target | Path) -> list[dict[str, object]]:
    """Days where ledger_days disagrees with a recount of the ledger. PostgreSQL keeps a
    day's images for the rows counted in it (in_day_total: reserved while the daily limit
    applied) and no open count (migrations/postgresql/006_ledger_writes_only.sql)."""
    target = target if isinstance(target, Target) else Target("sqlite", target)
    counted, open_ = ("WHERE in_day_total", "0") if target.postgres else ("", "SUM(CASE WHEN status = 'reserved' THEN 1 ELSE 0 END)")
    return target.rows(
            f"""
            WITH truth AS (
                SELECT {target.day()} AS day,
                       SUM(CASE status WHEN 'reserved' THEN images_reserved
                                       WHEN 'committed' THEN images_delivered ELSE 0 END) AS images,
                       {open_} AS open,
                       MIN(id) AS first_id
                  FROM ledger {counted} GROUP BY 1)
            SELECT t.day, t.images, d.images, t.open, d.open_reservations, t.first_id, d.first_id
              FROM truth t
              LEFT JOIN (SELECT day, SUM(images) AS images, SUM(open_reservations) AS open_reservations,
                                MIN(first_id) AS first_id
                           FROM ledger_days WHERE day < 9999999 GROUP BY day) d ON d.day = t.day
             WHERE d.day IS NULL OR t.images != d.images OR t.open != d.open_reservations
                OR d.first_id > t.first_id
            """
    )


def open_rows_below_their_bound(target: Target) -> list[dict[str, object]]:
    """PostgreSQL: open rows the sweeps could no longer find (below ledger_open_from)."""
    if not target.postgres:
        return []
    return target.rows("SELECT id FROM ledger WHERE status = 'reserved' AND id < (SELECT first_id FROM ledger_open_from)")


async def test_day_summary_matches_the_ledger_after_any_mix_of_operations(
    make_store: StoreFactory, clock: ManualClock, target: Target
) -> None:
    # With the bot's daily limit on, every row counts in its day's total (PostgreSQL keeps
    # one only then); the limit is never reached.
    store = make_store(global_daily_limit=1_000_000)
    rng = random.Random(20260310)
    open_rows: list[Reservation] = []
    start = clock.now
    for step in range(300):
        # The clock wanders back and forth over four days, as a test or a
        # corrected system clock might: ids and days need not grow together.
        clock.set(start.replace(hour=0) + rng.random() * (start - start.replace(day=6)))
        action = rng.random()
        if action < 0.5 or not open_rows:
            result = await store.reserve(rng.randrange(3), rng.randrange(5), [], rng.randint(1, 4), model="m")
            if isinstance(result, Reservation):
                open_rows.append(result)
        else:
            row = open_rows.pop(rng.randrange(len(open_rows)))
            if action < 0.8:
                await store.commit(row.id, rng.randint(0, row.images))
            else:
                await store.refund(row, "test")
        if rng.random() < 0.05:
            await store.reset_user(rng.randrange(3), rng.randrange(5))
        if step % 25 == 0:
            await store.release_stale(10**9)  # releases nothing; moves PostgreSQL's open-rows bound
            assert open_rows_below_their_bound(target) == []
    assert summary_mismatches(target) == []
    assert await store.release_abandoned("another-boot") == len(open_rows)
    assert summary_mismatches(target) == []
    def value(sql: str) -> object:
        return next(iter(target.rows(sql)[0].values()))

    assert value("SELECT COUNT(*) FROM ledger WHERE status = 'reserved'") == 0
    assert value("SELECT SUM(open_reservations) FROM ledger_days") == 0
    assert value("SELECT COUNT(*) FROM ledger_days WHERE day = 9999999") == 0, "no cap, no cap rows"


async def test_created_at_cannot_be_rewritten(store: QuotaStore, db: Database) -> None:
    await store.reserve(1, 2, [], 1, model="m")
    # sqlite3.IntegrityError or asyncpg's RaiseError: the database refuses either way.
    with pytest.raises(Exception, match="created_at cannot be changed"):
        await db.fetchall("UPDATE ledger SET created_at = created_at - 86400")


# Every named parameter any statement uses.
PARAMS = {
    "guild": 1, "user": 2, "start": 0.0, "end": 1.0, "day": 0, "now": 0.0, "rules_version": 0, "images": 1,
    "model": "m", "rule": "bot default", "rule_detail": None, "limit": 10, "period": "day", "owner": "o",
    "prompt": None, "global_limit": 5, "reason": "r", "cutoff": 0.0, "top": 10,
    "cost": 1000, "cost_usd": 0.001, "budget": 5_000_000, "budget_start": 0, "spend_limit": 9_000_000,
    "spend_start": 0,
}


async def plan(db: Database, sql: str) -> str:
    rows = await db.fetchall(f"EXPLAIN QUERY PLAN {sql}", PARAMS)
    return "\n".join(str(r[3]) for r in rows)


LEDGER, USAGE, SPEND = ledger.SQL["sqlite"], usage_reports.SQL["sqlite"], spend_caps.SQL["sqlite"]
STATEMENTS = {
    "reserve": LEDGER.reserve,
    "reserve_no_caps": LEDGER.reserve_no_caps,
    "rules": limit_rules.RULES_SQL,
    "usage": USAGE.usage,
    "reset": LEDGER.reset,
    "spend": SPEND.spend,
    "global_cap": SPEND.global_cap,
    "release_stale": LEDGER.release_stale,
    "release_abandoned": LEDGER.release_abandoned,
    "report_rows": USAGE.report_rows,
    "report_totals": USAGE.report_totals,
}


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("reserve", "USING INDEX ledger_member_time (guild_id=? AND user_id=? AND created_at>?)"),
        ("reserve_no_caps", "USING INDEX ledger_member_time (guild_id=? AND user_id=? AND created_at>?)"),
        ("rules", "USING PRIMARY KEY (guild_id=?)"),
        ("usage", "USING INDEX ledger_member_time (guild_id=? AND user_id=? AND created_at>?)"),
        ("reset", "USING INDEX ledger_member_time (guild_id=? AND user_id=? AND created_at>?)"),
        # Money caps: one running total per cap, read by key.
        ("reserve", "SEARCH ledger_days USING PRIMARY KEY (day=? AND scope=?)"),
        ("spend", "SEARCH ledger_days USING PRIMARY KEY (day=? AND scope=?)"),
        ("global_cap", "SEARCH ledger USING INTEGER PRIMARY KEY (rowid>?)"),
        ("release_stale", "USING INTEGER PRIMARY KEY (rowid>?)"),
        ("release_abandoned", "USING INTEGER PRIMARY KEY (rowid>?)"),
        ("report_rows", "USING INDEX ledger_guild_time (guild_id=? AND created_at>? AND created_at<?)"),
        ("report_totals", "USING INDEX ledger_guild_time (guild_id=? AND created_at>? AND created_at<?)"),
    ],
)
@pytest.mark.sqlite_only(reason="SQLite's query plans; the PostgreSQL statements have a test of their own")
async def test_statements_never_scan_the_whole_ledger(
    db: Database, statement: str, expected: str
) -> None:
    # With a million rows a full scan would stall every reservation behind it.
    text = await plan(db, STATEMENTS[statement])
    assert expected in text, text
    assert "SCAN ledger" not in text and "SCAN l\n" not in text + "\n", text
