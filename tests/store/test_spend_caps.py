"""Money caps in the reservation statement: a server's budget and the bot-wide cap."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.store.quota import (
    QuotaExceeded,
    QuotaStore,
    Reservation,
    SpendCapReached,
)
from bot.store.models import CANCELLED_RUNNING_REASON, RUNNING_REFUND_REASONS, TIMED_OUT_RUNNING_REASON
from tests.store.conftest import (
    GUILD,
    OTHER_USER,
    USER,
    ManualClock,
    StoreFactory,
    Target,
    cap_rows,
    ledger_rows,
)

COST = 0.13  # one edit's estimate


def _target(target: Target | Path) -> Target:
    return target if isinstance(target, Target) else Target("sqlite", target)


def spend_micros(target: Target | Path, guild: int | None = None, start: float = 0, end: float = 1e12) -> int:
    """Spend recounted from the ledger rows created in [start, end): the estimate while
    reserved, the bill once settled (the estimate for a delivered edit whose bill is unknown,
    and for a refund whose provider call may be billed: cancelled or timed out while running)."""
    where = "created_at >= ? AND created_at < ?" + ("" if guild is None else f" AND guild_id = {guild}")
    rows = _target(target).rows(
        f"""
        SELECT COALESCE(SUM(CAST(ROUND(CASE status WHEN 'reserved' THEN COALESCE(cost_reserved_usd, 0)
                                     WHEN 'committed' THEN COALESCE(cost_usd, cost_reserved_usd, 0)
                                     ELSE CASE WHEN refund_reason IN ('cancelled while running', 'timed out while running')
                                               THEN COALESCE(cost_usd, cost_reserved_usd, 0)
                                               ELSE COALESCE(cost_usd, 0) END
                                     END * 1000000) AS INTEGER)), 0) AS spend
          FROM ledger WHERE {where}
        """,
        (start, end),
    )
    return int(rows[0]["spend"])


def recounted(target: Target | Path) -> dict[int, int]:
    """What each cap row should hold: the spend of the rows created in its period."""
    return {
        scope: spend_micros(target, None if scope == -1 else scope, start * 86400.0, end * 86400.0)
        for scope, (_, start, end, _) in cap_rows(target).items()
    }


def totals(target: Target | Path) -> dict[int, int]:
    return {scope: row[3] for scope, row in cap_rows(target).items()}


@pytest.fixture
def unlimited(make_store: StoreFactory) -> QuotaStore:
    """No image quota in the way: only money decides."""
    return make_store(default_limit=-1)


async def test_concurrent_reservations_never_pass_a_server_budget(unlimited: QuotaStore, target: Target) -> None:
    await unlimited.set_budget(GUILD, 10 * COST)
    results = await asyncio.gather(*(unlimited.reserve(GUILD, u, [], 1, model="m", cost_usd=COST) for u in range(200)))
    granted = [r for r in results if isinstance(r, Reservation)]
    refused = [r for r in results if isinstance(r, SpendCapReached)]
    assert len(granted) == 10 and len(refused) == 190
    assert {r.reason_code for r in refused} == {"server_budget"}
    assert round(sum(r["cost_reserved_usd"] for r in ledger_rows(target)), 6) == round(10 * COST, 6)
    refusal = refused[0]
    assert refusal.cap.scope == "server" and refusal.cap.remaining_usd == 0 and refusal.cost_usd == COST
    # Other servers have no budget.
    assert isinstance(await unlimited.reserve(GUILD + 1, USER, [], 1, model="m", cost_usd=COST), Reservation)


async def test_two_connections_share_the_bot_wide_cap(make_store: StoreFactory, target: Target) -> None:
    other = await target.connect()
    try:
        first = make_store(default_limit=-1, global_spend_limit_usd=1.0)
        second = make_store(conn=other, owner="boot-other", default_limit=-1, global_spend_limit_usd=1.0)
        calls = [s.reserve(g, USER, [], 1, model="m", cost_usd=0.25) for g in range(40) for s in (first, second)]
        results = await asyncio.gather(*calls)
    finally:
        await other.close()
    assert len([r for r in results if isinstance(r, Reservation)]) == 4
    assert {r.reason_code for r in results if isinstance(r, SpendCapReached)} == {"global_spend"}
    assert spend_micros(target) == 1_000_000 == totals(target)[-1]


async def test_settled_edits_count_their_bill_not_their_estimate(unlimited: QuotaStore, target: Target) -> None:
    await unlimited.set_budget(GUILD, 1.0)
    first = await unlimited.reserve(GUILD, USER, [], 2, model="m", cost_usd=0.40)
    second = await unlimited.reserve(GUILD, USER, [], 2, model="m", cost_usd=0.40)
    assert isinstance(first, Reservation) and isinstance(second, Reservation)
    assert isinstance(await unlimited.reserve(GUILD, USER, [], 1, model="m", cost_usd=0.30), SpendCapReached)
    # The bill was lower than the estimate: the difference is free again.
    await unlimited.commit(first.id, 2, total_tokens=100, cost_usd=0.25)
    assert (await unlimited.spend_status(GUILD)).server.spent_usd == pytest.approx(0.65)
    assert isinstance(await unlimited.reserve(GUILD, USER, [], 1, model="m", cost_usd=0.30), Reservation)
    # A refund with nothing billed frees the whole estimate; a billed refund keeps the bill.
    await unlimited.refund(second, "provider error")
    assert (await unlimited.spend_status(GUILD)).server.spent_usd == pytest.approx(0.55)
    third = await unlimited.reserve(GUILD, USER, [], 1, model="m", cost_usd=0.30)
    assert isinstance(third, Reservation)
    await unlimited.refund(third, "not delivered", total_tokens=50, cost_usd=0.12)
    status = await unlimited.spend_status(GUILD)
    assert status.server.spent_usd == pytest.approx(0.25 + 0.30 + 0.12)
    assert status.server_spent_micros == spend_micros(target, GUILD)


async def test_a_refund_the_provider_may_bill_keeps_its_estimate_toward_the_caps(
    make_store: StoreFactory, target: Target
) -> None:
    store = make_store(default_limit=-1, global_spend_limit_usd=1.0)
    await store.set_budget(GUILD, 1.0)
    cancelled = await store.reserve(GUILD, USER, [], 4, model="m", cost_usd=0.40)
    timed_out = await store.reserve(GUILD, USER, [], 4, model="m", cost_usd=0.30)
    failed = await store.reserve(GUILD, USER, [], 4, model="m", cost_usd=0.20)
    assert all(isinstance(r, Reservation) for r in (cancelled, timed_out, failed))
    await store.refund(cancelled, CANCELLED_RUNNING_REASON)
    await store.refund(timed_out, TIMED_OUT_RUNNING_REASON)
    await store.refund(failed, "provider error")  # answered at once: nothing billed
    assert (await store.usage_for(GUILD, USER)).used == 0, "every image is refunded"
    status = await store.spend_status(GUILD)
    assert status.server.spent_micros == status.global_.spent_micros == 700_000 == spend_micros(target)
    assert totals(target) == recounted(target)
    # 0.70 of 1.00 counts: 0.35 more does not fit either cap, 0.30 does.
    refused = await store.reserve(GUILD, OTHER_USER, [], 1, model="m", cost_usd=0.35)
    assert isinstance(refused, SpendCapReached)
    assert isinstance(await store.reserve(GUILD, OTHER_USER, [], 1, model="m", cost_usd=0.30), Reservation)
    report = await store.report(GUILD)
    assert (report.cancelled_running, report.timed_out_running, report.cost_usd) == (1, 1, 0)
    assert report.running_estimate_usd == pytest.approx(0.70)


async def test_a_delivered_edit_without_a_bill_keeps_its_estimate(unlimited: QuotaStore, target: Target) -> None:
    reservation = await unlimited.reserve(GUILD, USER, [], 1, model="m", cost_usd=0.2)
    assert isinstance(reservation, Reservation)
    await unlimited.commit(reservation.id, 1)  # the provider reported no usage
    assert (await unlimited.spend_status(GUILD)).server_spent_micros == 200_000 == spend_micros(target)


async def test_unpriced_requests_are_refused_only_under_a_cap(unlimited: QuotaStore, make_store: StoreFactory) -> None:
    assert isinstance(await unlimited.reserve(GUILD, USER, [], 1, model="m"), Reservation)
    await unlimited.set_budget(GUILD, 5)
    refusal = await unlimited.reserve(GUILD, USER, [], 1, model="m")
    assert isinstance(refusal, SpendCapReached) and refusal.reason_code == "unpriced_model" and refusal.cost_usd is None
    # Under the bot-wide cap only, any server.
    capped = make_store(default_limit=-1, global_spend_limit_usd=5)
    refusal = await capped.reserve(GUILD + 1, USER, [], 1, model="m")
    assert isinstance(refusal, SpendCapReached) and refusal.cap.scope == "global"


async def test_budget_changes_apply_to_the_very_next_reservation(make_store: StoreFactory, target: Target) -> None:
    store = make_store(default_limit=-1)
    other_conn = await target.connect()
    try:
        # Another connection (a second process, a shell) changes the budget: the cached
        # rules are caught out by rules_version in the reservation statement.
        other = make_store(conn=other_conn, owner="boot-other", default_limit=-1)
        assert isinstance(await store.reserve(GUILD, USER, [], 1, model="m", cost_usd=0.5), Reservation)
        await other.set_budget(GUILD, 0.6)
        assert isinstance(await store.reserve(GUILD, USER, [], 1, model="m", cost_usd=0.5), SpendCapReached)
        assert await other.clear_budget(GUILD)
        assert isinstance(await store.reserve(GUILD, USER, [], 1, model="m", cost_usd=0.5), Reservation)
    finally:
        await other_conn.close()


async def test_budgets_follow_calendar_periods(unlimited: QuotaStore, clock: ManualClock) -> None:
    clock.set(datetime(2026, 3, 31, 23, 0, tzinfo=UTC))
    budget = await unlimited.set_budget(GUILD, 1.0)
    assert budget.period == "month"
    assert isinstance(await unlimited.reserve(GUILD, USER, [], 1, model="m", cost_usd=1.0), Reservation)
    refusal = await unlimited.reserve(GUILD, USER, [], 1, model="m", cost_usd=0.01)
    assert isinstance(refusal, SpendCapReached) and refusal.cap.resets_at == datetime(2026, 4, 1, tzinfo=UTC)
    clock.set(datetime(2026, 4, 1, 0, 0, 1, tzinfo=UTC))
    assert isinstance(await unlimited.reserve(GUILD, USER, [], 1, model="m", cost_usd=1.0), Reservation)
    # A weekly budget keeps the period when only the amount changes.
    await unlimited.set_budget(GUILD, 3.0, "week")
    assert (await unlimited.set_budget(GUILD, 4.0)).period == "week"


async def test_image_quota_is_checked_before_money(make_store: StoreFactory) -> None:
    store = make_store(default_limit=1)
    await store.set_budget(GUILD, 0.1)
    assert isinstance(await store.reserve(GUILD, USER, [], 1, model="m", cost_usd=0.05), Reservation)
    assert isinstance(await store.reserve(GUILD, USER, [], 1, model="m", cost_usd=0.05), QuotaExceeded)
    refusal = await store.reserve(GUILD, OTHER_USER, [], 1, model="m", cost_usd=0.06)
    assert isinstance(refusal, SpendCapReached) and refusal.cap.remaining_usd == pytest.approx(0.05)


async def test_moderator_resets_do_not_give_money_back(unlimited: QuotaStore) -> None:
    await unlimited.set_budget(GUILD, 0.5)
    reservation = await unlimited.reserve(GUILD, USER, [], 1, model="m", cost_usd=0.5)
    await unlimited.commit(reservation.id, 1, cost_usd=0.5)
    await unlimited.reset_user(GUILD, USER)
    assert isinstance(await unlimited.reserve(GUILD, USER, [], 1, model="m", cost_usd=0.01), SpendCapReached)


async def test_cap_totals_match_the_ledger_after_any_mix_of_operations(
    make_store: StoreFactory, clock: ManualClock, target: Target
) -> None:
    # Time runs from Friday 6 to Tuesday 10 March, across a week boundary, with a monthly,
    # a weekly and (from half-way) a daily budget, and a weekly bot-wide cap; edits settle
    # in any order, some of them in a later period than they were reserved in.
    store = make_store(default_limit=-1, global_spend_limit_usd=1000, global_spend_period="week")
    await store.set_budget(0, 1000, "month")
    await store.set_budget(1, 1000, "week")
    rng = random.Random(7)
    open_rows: list[Reservation] = []
    clock.set(datetime(2026, 3, 6, tzinfo=UTC))
    for step in range(300):
        if step == 150:
            await store.set_budget(2, 1000, "day")  # sums what server 2 spent today so far
        clock.advance(minutes=rng.random() * 48)  # 300 steps: about five days
        action = rng.random()
        if action < 0.5 or not open_rows:
            cost = rng.choice((None, 0.0, 0.013, 0.1, 0.333333))
            result = await store.reserve(rng.randrange(3), rng.randrange(5), [], rng.randint(1, 4), model="m", cost_usd=cost)
            if isinstance(result, Reservation):
                open_rows.append(result)
            else:
                assert isinstance(result, SpendCapReached) and cost is None
        else:
            row = open_rows.pop(rng.randrange(len(open_rows)))
            bill = rng.choice((None, 0.0, 0.01, 0.2071))
            if action < 0.8:
                await store.commit(row.id, rng.randint(0, row.images), cost_usd=bill)
            else:
                await store.refund(row, rng.choice(("test", *RUNNING_REFUND_REASONS)), cost_usd=bill)
        if step % 50 == 49:
            assert totals(target) == recounted(target)
    await store.release_abandoned("another-boot")
    assert set(cap_rows(target)) == {-1, 0, 1, 2}
    assert totals(target) == recounted(target)
    # Changing a budget's period sums it again; removing a budget drops its row.
    await store.set_budget(0, 1000, "week")
    assert cap_rows(target)[0][0] == "week" and totals(target) == recounted(target)
    assert await store.clear_budget(1)
    assert 1 not in cap_rows(target)


async def test_a_new_budget_counts_what_the_server_spent_earlier_in_its_period(
    unlimited: QuotaStore, target: Target, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 3, 2, 10, tzinfo=UTC))  # a Monday
    for guild in (GUILD, GUILD + 1):
        reservation = await unlimited.reserve(guild, USER, [], 1, model="m", cost_usd=0.25)
        await unlimited.commit(reservation.id, 1, cost_usd=0.2)
    assert cap_rows(target) == {}, "no cap, no running total to keep"
    clock.set(datetime(2026, 3, 4, 10, tzinfo=UTC))
    await unlimited.set_budget(GUILD, 0.5, "week")
    assert totals(target) == {GUILD: 200_000}
    refusal = await unlimited.reserve(GUILD, USER, [], 1, model="m", cost_usd=0.31)
    assert isinstance(refusal, SpendCapReached) and refusal.cap.spent_usd == pytest.approx(0.2)
    # Reports still show what a server without a budget spent this month.
    status = await unlimited.spend_status(GUILD + 1)
    assert status.server is None and status.server_spent_micros == 200_000 and status.server_period == "month"


async def test_the_bot_wide_cap_is_built_from_the_ledger_when_it_is_turned_on(
    make_store: StoreFactory, target: Target, clock: ManualClock
) -> None:
    without = make_store(default_limit=-1)
    reservation = await without.reserve(GUILD, USER, [], 1, model="m", cost_usd=0.3)
    await without.commit(reservation.id, 1, cost_usd=0.25)
    assert cap_rows(target) == {}
    capped = make_store(default_limit=-1, global_spend_limit_usd=0.5)
    refusal = await capped.reserve(GUILD + 1, USER, [], 1, model="m", cost_usd=0.3)
    assert isinstance(refusal, SpendCapReached) and refusal.cap.spent_usd == pytest.approx(0.25)
    assert cap_rows(target)[-1] == ("month", 20513, 20544, 250_000)  # March 2026
    # Turned off again: the row goes, so edits stop paying for it.
    assert isinstance(await make_store(default_limit=-1).reserve(GUILD, USER, [], 1, model="m", cost_usd=0.3), Reservation)
    assert cap_rows(target) == {}


async def test_a_new_period_starts_from_zero(unlimited: QuotaStore, target: Target, clock: ManualClock) -> None:
    clock.set(datetime(2026, 3, 10, 23, 59, tzinfo=UTC))
    await unlimited.set_budget(GUILD, 0.3, "day")
    open_row = await unlimited.reserve(GUILD, USER, [], 1, model="m", cost_usd=0.3)
    assert isinstance(open_row, Reservation)
    clock.set(datetime(2026, 3, 11, 0, 1, tzinfo=UTC))
    fresh = await unlimited.reserve(GUILD, USER, [], 1, model="m", cost_usd=0.3)
    assert isinstance(fresh, Reservation), "yesterday's spend does not count today"
    # Yesterday's edit settling today changes nothing in today's total.
    await unlimited.commit(open_row.id, 1, cost_usd=0.01)
    assert totals(target) == {GUILD: 300_000} == recounted(target)


async def test_invalid_money_values_are_refused(unlimited: QuotaStore) -> None:
    for bad in (-1, float("nan"), float("inf"), True):
        with pytest.raises(ValueError):
            await unlimited.set_budget(GUILD, bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            await unlimited.reserve(GUILD, USER, [], 1, model="m", cost_usd=bad)  # type: ignore[arg-type]


async def test_refusal_for_reads_without_holding_anything(make_store: StoreFactory, target: Target) -> None:
    store = make_store(default_limit=2)
    assert await store.refusal_for(GUILD, USER, [], 2, cost_usd=0.1) is None
    assert isinstance(await store.refusal_for(GUILD, USER, [], 3, cost_usd=0.1), QuotaExceeded)
    await store.set_budget(GUILD, 0.15)
    refusal = await store.refusal_for(GUILD, USER, [], 1, cost_usd=0.2)
    assert isinstance(refusal, SpendCapReached) and refusal.reason_code == "server_budget"
    assert isinstance(await store.refusal_for(GUILD, USER, [], 1), SpendCapReached)  # unpriced under a cap
    assert ledger_rows(target) == []
