"""Counting usage over calendar periods, the bot-wide budget, resets and reports."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.store.quota import QuotaExceeded, QuotaStore, Reservation, Rule
from tests.store.conftest import (
    GUILD,
    OTHER_USER,
    USER,
    ManualClock,
    StoreFactory,
    Target,
    ledger_rows,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def spend(store: QuotaStore, images: int, *, user: int = USER, delivered: int | None = None,
                guild: int | None = GUILD, roles: tuple[int, ...] = (), **usage: object) -> Reservation:
    reservation = await store.reserve(guild, user, roles, images, model="m")
    assert isinstance(reservation, Reservation), reservation
    delivered = images if delivered is None else delivered
    assert await store.commit(reservation.id, delivered, **usage)  # type: ignore[arg-type]
    return reservation


@pytest.mark.parametrize(
    ("period", "before", "after", "resets"),
    [
        ("day", utc(2026, 3, 10, 23, 59, 59), utc(2026, 3, 11, 0, 0), utc(2026, 3, 11)),
        # ISO week: Sunday 23:59 is still this week, Monday 00:00 the next.
        ("week", utc(2026, 3, 15, 23, 59), utc(2026, 3, 16, 0, 0), utc(2026, 3, 16)),
        ("month", utc(2026, 3, 31, 23, 59, 59), utc(2026, 4, 1, 0, 0), utc(2026, 4, 1)),
        ("month", utc(2026, 12, 31, 23, 59), utc(2027, 1, 1, 0, 0), utc(2027, 1, 1)),
        ("month", utc(2028, 2, 29, 23, 59), utc(2028, 3, 1, 0, 0), utc(2028, 3, 1)),
        ("week", utc(2027, 1, 3, 23, 59), utc(2027, 1, 4, 0, 0), utc(2027, 1, 4)),
    ],
)
async def test_quota_renews_exactly_at_the_period_boundary(
    make_store: StoreFactory, clock: ManualClock, period: str, before: datetime, after: datetime, resets: datetime
) -> None:
    store = make_store(default_limit=3, default_period=period)
    clock.set(before)
    await spend(store, 3)
    refusal = await store.reserve(GUILD, USER, [], 1, model="m")
    assert isinstance(refusal, QuotaExceeded) and refusal.resets_at == resets
    clock.set(after)
    usage = await store.usage_for(GUILD, USER)
    assert (usage.used, usage.remaining, usage.period_start) == (0, 3, resets)
    assert isinstance(await store.reserve(GUILD, USER, [], 3, model="m"), Reservation)


async def test_the_rules_period_decides_what_counts(store: QuotaStore, clock: ManualClock) -> None:
    # Wednesday: a weekly override counts the whole ISO week, a daily limit just today.
    clock.set(utc(2026, 3, 11, 9))
    await spend(store, 4)
    clock.set(utc(2026, 3, 13, 9))  # Friday
    await spend(store, 2)
    assert (await store.usage_for(GUILD, USER)).used == 2
    await store.set_user_limit(GUILD, USER, 8, "week")
    usage = await store.usage_for(GUILD, USER)
    assert (usage.used, usage.remaining, usage.period, usage.resets_at) == (6, 2, "week", utc(2026, 3, 16))
    assert isinstance(await store.reserve(GUILD, USER, [], 3, model="m"), QuotaExceeded)
    await store.set_user_limit(GUILD, USER, 8, "month")
    assert (await store.usage_for(GUILD, USER)).used == 6


async def test_in_flight_reservations_count_until_settled(store: QuotaStore) -> None:
    open_one = await store.reserve(GUILD, USER, [], 3, model="m")
    await spend(store, 2, delivered=1)
    usage = await store.usage_for(GUILD, USER)
    assert (usage.used, usage.reserved_in_flight, usage.images, usage.remaining) == (4, 3, 1, 6)
    assert isinstance(open_one, Reservation)
    await store.commit(open_one.id, 3)
    usage = await store.usage_for(GUILD, USER)
    assert (usage.used, usage.reserved_in_flight, usage.images) == (4, 0, 4)


async def test_usage_totals_tokens_and_cost(store: QuotaStore) -> None:
    await spend(store, 2, input_tokens=100, output_tokens=2000, total_tokens=2100, cost_usd=0.5)
    await spend(store, 1, input_tokens=50, output_tokens=1000, total_tokens=1050, cost_usd=0.25)
    await spend(store, 1, user=OTHER_USER, total_tokens=999, cost_usd=9.0)
    usage = await store.usage_for(GUILD, USER)
    assert (usage.images, usage.input_tokens, usage.output_tokens, usage.total_tokens) == (3, 150, 3000, 3150)
    assert usage.cost_usd == pytest.approx(0.75)
    assert (usage.limit, usage.rule, usage.rule_text, usage.rule_detail) == (10, Rule.BOT, "bot default", None)


async def test_global_daily_budget(make_store: StoreFactory, clock: ManualClock, target: Target) -> None:
    store = make_store(global_daily_limit=5, default_limit=100)
    await spend(store, 3, guild=GUILD)
    open_one = await store.reserve(GUILD + 1, OTHER_USER, [], 2, model="m")
    assert isinstance(open_one, Reservation)
    refusal = await store.reserve(GUILD + 2, USER, [], 1, model="m")
    assert isinstance(refusal, QuotaExceeded)
    assert (refusal.rule, refusal.limit, refusal.used, refusal.remaining) == (Rule.GLOBAL_BUDGET, 5, 5, 0)
    assert refusal.rule_text == "bot-wide daily budget"
    assert refusal.resets_at == utc(2026, 3, 11) and not refusal.blocked_by_in_flight
    today = await store.global_usage()
    assert (today.limit, today.used, today.remaining, today.resets_at) == (5, 5, 0, utc(2026, 3, 11))

    # Refunds and short deliveries give the budget back.
    await store.commit(open_one.id, 1)
    assert isinstance(await store.reserve(GUILD + 2, USER, [], 1, model="m"), Reservation)
    # Unlimited members are still inside the budget.
    await store.set_user_limit(GUILD, USER, -1, "day")
    assert (await store.reserve(GUILD, USER, [], 1, model="m")).rule is Rule.GLOBAL_BUDGET  # type: ignore[union-attr]
    # A member's own limit is the more useful explanation when both apply.
    await store.set_user_limit(GUILD, USER, 3, "day")
    assert (await store.reserve(GUILD, USER, [], 1, model="m")).rule is Rule.USER  # type: ignore[union-attr]
    # Next UTC day: a fresh budget.
    clock.set(utc(2026, 3, 11, 0, 0))
    assert isinstance(await store.reserve(GUILD + 2, USER, [], 5, model="m"), Reservation)


async def test_global_budget_is_atomic_too(make_store: StoreFactory) -> None:
    store = make_store(global_daily_limit=25, default_limit=100)
    calls = [store.reserve(guild, user, [], 2, model="m") for guild in range(5) for user in range(40)]
    results = await asyncio.gather(*calls)
    assert sum(r.images for r in results if isinstance(r, Reservation)) == 24
    assert (await store.global_usage()).used == 24


async def test_without_a_budget_global_usage_is_still_known(store: QuotaStore) -> None:
    await spend(store, 2)
    today = await store.global_usage()
    assert (today.limit, today.used, today.remaining) == (None, 2, None)


async def test_reset_user_clears_the_current_period_but_keeps_history(
    store: QuotaStore, clock: ManualClock, target: Target
) -> None:
    clock.set(utc(2026, 3, 9, 10))  # Monday
    await spend(store, 4, total_tokens=40)
    clock.set(utc(2026, 3, 10, 10))
    await spend(store, 5, total_tokens=50)
    running = await store.reserve(GUILD, USER, [], 3, model="m")
    await spend(store, 2, user=OTHER_USER)
    await store.set_user_limit(GUILD, USER, 12, "week")
    assert (await store.usage_for(GUILD, USER)).used == 12

    assert await store.reset_user(GUILD, USER) == 12  # this ISO week: 4 + 5 + 3 running
    usage = await store.usage_for(GUILD, USER)
    assert (usage.used, usage.remaining, usage.reserved_in_flight) == (0, 12, 0)
    # Deliveries, tokens and the ledger keep the truth.
    assert (usage.images, usage.total_tokens) == (9, 90)
    assert [r["reset_at"] is not None for r in ledger_rows(target, "user_id = ?", (USER,))] == [True, True, True]
    assert (await store.usage_for(GUILD, OTHER_USER)).used == 2
    assert (await store.global_usage()).used == 10  # paid for all the same

    # The running request finishes after the reset: it does not count again.
    assert isinstance(running, Reservation)
    assert await store.commit(running.id, 3)
    assert (await store.usage_for(GUILD, USER)).used == 0
    assert await store.reset_user(GUILD, USER) == 0
    await spend(store, 12)
    assert (await store.usage_for(GUILD, USER)).used == 12


async def test_reset_user_uses_the_members_effective_period(store: QuotaStore, clock: ManualClock) -> None:
    clock.set(utc(2026, 3, 9, 10))
    await spend(store, 4)
    clock.set(utc(2026, 3, 10, 10))
    await spend(store, 5)
    assert await store.reset_user(GUILD, USER) == 5  # bot default: today only
    await store.set_user_limit(GUILD, USER, 20, "week")
    assert (await store.usage_for(GUILD, USER)).used == 4


async def test_report(store: QuotaStore, clock: ManualClock) -> None:
    clock.set(utc(2026, 3, 9, 8))
    await spend(store, 4, user=USER, total_tokens=400, cost_usd=1.0)
    await spend(store, 1, user=OTHER_USER, total_tokens=100, cost_usd=0.25)
    clock.set(utc(2026, 3, 10, 8))
    await spend(store, 3, user=OTHER_USER, delivered=2, total_tokens=300, cost_usd=0.75)
    refunded = await store.reserve(GUILD, OTHER_USER, [], 2, model="m")
    assert isinstance(refunded, Reservation)
    await store.refund(refunded, "provider error")
    await store.reserve(GUILD, 444, [], 1, model="m")  # still running
    await spend(store, 5, user=USER, guild=GUILD + 1)  # another server

    today = await store.report(GUILD)
    assert (today.period, today.start, today.resets_at) == ("day", utc(2026, 3, 10), utc(2026, 3, 11))
    rows = [(r.user_id, r.images, r.requests, r.refunded) for r in today.rows]
    assert rows == [(OTHER_USER, 2, 2, 1), (444, 0, 1, 0)]
    assert (today.users, today.images, today.requests, today.refunded, today.tokens) == (2, 2, 3, 1, 300)

    await store.set_guild_default(GUILD, 50, "week")
    week = await store.report(GUILD, top=1)
    assert week.period == "week" and week.start == utc(2026, 3, 9)
    assert [(r.user_id, r.images, r.requests, r.tokens) for r in week.rows] == [(USER, 4, 1, 400)]
    assert week.rows[0].cost_usd == pytest.approx(1.0)
    assert (week.users, week.images, week.requests, week.refunded, week.tokens) == (3, 7, 5, 1, 800)
    assert week.cost_usd == pytest.approx(2.0)

    last_week = await store.report(GUILD, period="week", at=utc(2026, 3, 2))
    assert (last_week.rows, last_week.users, last_week.images, last_week.cost_usd) == ((), 0, 0, 0.0)
    assert (await store.report(None)).rows == ()
