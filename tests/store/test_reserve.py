"""Reservations: atomic under concurrency, settled exactly once."""

from __future__ import annotations

import asyncio

import pytest

from bot.store.backend import Database
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


def reserved(results: list[Reservation | QuotaExceeded]) -> list[Reservation]:
    return [r for r in results if isinstance(r, Reservation)]


async def test_200_concurrent_reservations_spend_exactly_the_limit(store: QuotaStore, target: Target) -> None:
    results = await asyncio.gather(*(store.reserve(GUILD, USER, [], 1, model="m") for _ in range(200)))
    assert len(reserved(results)) == 10
    refusals = [r for r in results if isinstance(r, QuotaExceeded)]
    assert len(refusals) == 190
    assert all(r.remaining == 0 and r.limit == 10 for r in refusals)
    assert len(ledger_rows(target)) == 10
    assert (await store.usage_for(GUILD, USER)).used == 10


async def test_concurrent_multi_image_reservations_never_pass_the_limit(store: QuotaStore) -> None:
    results = await asyncio.gather(*(store.reserve(GUILD, USER, [], 3, model="m") for _ in range(200)))
    assert len(reserved(results)) == 3  # 9 images; a fourth would make 12
    usage = await store.usage_for(GUILD, USER)
    assert (usage.used, usage.remaining, usage.reserved_in_flight) == (9, 1, 9)
    last = await store.reserve(GUILD, USER, [], 1, model="m")
    assert isinstance(last, Reservation)


async def test_concurrent_reservations_from_two_connections(
    make_store: StoreFactory, target: Target, clock: ManualClock
) -> None:
    # Two connections (SQLite: each with its own thread, on one file; PostgreSQL: two
    # pools), as two processes would be: the check-and-insert still cannot overspend.
    other = await target.connect()
    try:
        first = make_store()
        second = make_store(conn=other, owner="boot-other")
        calls = [s.reserve(GUILD, USER, [], 2, model="m") for _ in range(60) for s in (first, second)]
        results = await asyncio.gather(*calls)
    finally:
        await other.close()
    assert len(reserved(results)) == 5
    assert sum(r["images_reserved"] for r in ledger_rows(target)) == 10


async def test_members_and_guilds_have_separate_quotas(store: QuotaStore) -> None:
    for guild, user in [(GUILD, USER), (GUILD, OTHER_USER), (GUILD + 1, USER), (None, USER)]:
        assert isinstance(await store.reserve(guild, user, [], 10, model="m"), Reservation)
    assert isinstance(await store.reserve(GUILD, USER, [], 1, model="m"), QuotaExceeded)


async def test_direct_messages_are_stored_as_guild_zero(store: QuotaStore, target: Target) -> None:
    reservation = await store.reserve(None, USER, [], 2, model="m")
    assert isinstance(reservation, Reservation) and reservation.guild_id == 0
    assert ledger_rows(target)[0]["guild_id"] == 0
    assert (await store.usage_for(None, USER)).used == 2
    assert (await store.usage_for(0, USER)).used == 2


async def test_request_larger_than_the_whole_limit_is_refused(store: QuotaStore, target: Target) -> None:
    refusal = await store.reserve(GUILD, USER, [], 11, model="m")
    assert isinstance(refusal, QuotaExceeded)
    assert (refusal.limit, refusal.used, refusal.remaining, refusal.images_requested) == (10, 0, 10, 11)
    assert refusal.rule is Rule.BOT and refusal.rule_text == "bot default"
    assert not refusal.blocked_by_in_flight
    assert ledger_rows(target) == []


async def test_reservation_describes_the_rule_and_reset(store: QuotaStore, clock: ManualClock) -> None:
    reservation = await store.reserve(GUILD, USER, [], 4, model="gpt-image-2")
    assert isinstance(reservation, Reservation)
    assert (reservation.images, reservation.model) == (4, "gpt-image-2")
    assert (reservation.limit, reservation.period) == (10, "day")
    assert reservation.rule is Rule.BOT and reservation.rule_detail is None
    assert reservation.created_at == clock.now
    assert reservation.resets_at.isoformat() == "2026-03-11T00:00:00+00:00"


async def test_refusal_explains_used_remaining_and_reset(store: QuotaStore) -> None:
    await store.reserve(GUILD, USER, [], 7, model="m")
    refusal = await store.reserve(GUILD, USER, [], 4, model="m")
    assert isinstance(refusal, QuotaExceeded)
    assert (refusal.used, refusal.remaining, refusal.reserved_in_flight, refusal.period) == (7, 3, 7, "day")
    assert refusal.resets_at.isoformat() == "2026-03-11T00:00:00+00:00"
    # All 7 are still running: if they were refunded the request would fit, so a
    # caller may queue behind them instead of failing.
    assert refusal.blocked_by_in_flight


async def test_refund_restores_quota(store: QuotaStore, target: Target) -> None:
    reservation = await store.reserve(GUILD, USER, [], 10, model="m")
    assert isinstance(reservation, Reservation)
    assert isinstance(await store.reserve(GUILD, USER, [], 1, model="m"), QuotaExceeded)
    assert await store.refund(reservation, "provider error") is True
    usage = await store.usage_for(GUILD, USER)
    assert (usage.used, usage.remaining, usage.reserved_in_flight) == (0, 10, 0)
    row = ledger_rows(target)[0]
    assert (row["status"], row["refund_reason"], row["images_delivered"]) == ("refunded", "provider error", 0)
    assert row["settled_at"] is not None
    assert isinstance(await store.reserve(GUILD, USER, [], 10, model="m"), Reservation)


async def test_commit_with_fewer_images_gives_back_the_difference(store: QuotaStore, target: Target) -> None:
    reservation = await store.reserve(GUILD, USER, [], 4, model="m")
    assert isinstance(reservation, Reservation)
    assert await store.commit(
        reservation.id, 1, input_tokens=100, output_tokens=4000, total_tokens=4100, cost_usd=0.12
    )
    usage = await store.usage_for(GUILD, USER)
    assert (usage.used, usage.remaining, usage.images, usage.reserved_in_flight) == (1, 9, 1, 0)
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (100, 4000, 4100)
    assert usage.cost_usd == pytest.approx(0.12)
    row = ledger_rows(target)[0]
    assert (row["status"], row["images_reserved"], row["images_delivered"]) == ("committed", 4, 1)
    assert row["owner"] == "boot-test" and row["model"] == "m"


async def test_settling_is_idempotent(store: QuotaStore) -> None:
    committed = await store.reserve(GUILD, USER, [], 2, model="m")
    refunded = await store.reserve(GUILD, USER, [], 3, model="m")
    assert isinstance(committed, Reservation) and isinstance(refunded, Reservation)
    assert await store.commit(committed.id, 2) is True
    assert await store.commit(committed.id, 1) is False  # no double count, no rewrite
    assert await store.refund(committed, "late") is False
    assert await store.refund(refunded, "timeout") is True
    assert await store.refund(refunded, "timeout") is False
    assert await store.commit(refunded.id, 3) is False
    assert await store.release_stale(0) == 0 and await store.release_abandoned("someone-else") == 0
    assert (await store.usage_for(GUILD, USER)).used == 2


async def test_racing_settlements_count_once(store: QuotaStore) -> None:
    # The normal path and crash recovery settle the same row at the same time.
    reservation = await store.reserve(GUILD, USER, [], 5, model="m")
    assert isinstance(reservation, Reservation)
    outcomes = await asyncio.gather(
        store.commit(reservation.id, 5), store.refund(reservation, "stale"), store.commit(reservation.id, 5)
    )
    assert sorted(outcomes) == [False, False, True]
    assert (await store.usage_for(GUILD, USER)).used == 5


@pytest.mark.parametrize("delivered", [-1, 5, True, 1.0])
async def test_commit_refuses_impossible_counts(store: QuotaStore, delivered: object) -> None:
    reservation = await store.reserve(GUILD, USER, [], 4, model="m")
    assert isinstance(reservation, Reservation)
    with pytest.raises(ValueError, match="delivered_images"):
        await store.commit(reservation.id, delivered)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="total_tokens"):
        await store.commit(reservation.id, 1, total_tokens=-5)
    with pytest.raises(ValueError, match="cost_usd"):
        await store.commit(reservation.id, 1, cost_usd=float("nan"))
    assert (await store.usage_for(GUILD, USER)).reserved_in_flight == 4


async def test_a_commit_by_id_still_refuses_more_images_than_were_reserved(
    store: QuotaStore, target: Target, clock: ManualClock
) -> None:
    """The commit journal knows only the row's id: the reserved count is checked against
    the row itself, on the ordinary and the late path alike, and nothing changes."""
    reservation = await store.reserve(GUILD, USER, [], 2, model="m")
    assert isinstance(reservation, Reservation)
    with pytest.raises(ValueError, match="from 0 to the 2 reserved, not 3"):
        await store.commit(reservation.id, 3)
    clock.advance(seconds=10)
    assert await store.release_stale(5) == 1
    with pytest.raises(ValueError, match="from 0 to the 2 reserved, not 3"):
        await store.commit(reservation.id, 3, late=True)
    row = ledger_rows(target)[0]
    assert (row["status"], row["images_delivered"], row["refund_reason"]) == ("refunded", 0, "stale")
    assert await store.commit(reservation.id, 2, late=True) is True
    assert await store.commit(reservation.id + 1, 1) is False  # no such row: nothing to settle
    with pytest.raises(TypeError, match="reservation's id"):
        await store.commit(reservation, 1)  # type: ignore[arg-type]


@pytest.mark.parametrize("images", [0, -1, True, 2.0])
async def test_reserve_refuses_impossible_image_counts(store: QuotaStore, images: object) -> None:
    with pytest.raises(ValueError, match="images"):
        await store.reserve(GUILD, USER, [], images, model="m")  # type: ignore[arg-type]


async def test_unknown_token_counts_are_stored_as_unknown(store: QuotaStore, target: Target) -> None:
    reservation = await store.reserve(GUILD, USER, [], 1, model="m")
    assert isinstance(reservation, Reservation)
    assert await store.commit(reservation.id, 1)
    row = ledger_rows(target)[0]
    assert (row["input_tokens"], row["total_tokens"], row["cost_usd"]) == (None, None, None)
    usage = await store.usage_for(GUILD, USER)
    assert (usage.total_tokens, usage.cost_usd) == (0, 0.0)


async def test_prompts_are_kept_only_when_enabled(make_store: StoreFactory, target: Target) -> None:
    private = make_store()
    await private.reserve(GUILD, USER, [], 1, model="m", prompt="a secret prompt")
    keeping = make_store(store_prompts=True)
    await keeping.reserve(GUILD, USER, [], 1, model="m", prompt="make the sky purple")
    assert [r["prompt"] for r in ledger_rows(target)] == [None, "make the sky purple"]


def test_store_settings_are_validated(db: Database) -> None:
    with pytest.raises(ValueError, match="period"):
        QuotaStore(db, owner="x", default_limit=10, default_period="year")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="limit"):
        QuotaStore(db, owner="x", default_limit=-2, default_period="day")
    with pytest.raises(ValueError, match="owner"):
        QuotaStore(db, owner="", default_limit=10, default_period="day")
    with pytest.raises(ValueError, match="global_daily_limit"):
        QuotaStore(db, owner="x", default_limit=10, default_period="day", global_daily_limit=-1)


async def test_naive_clock_is_refused(make_store: StoreFactory) -> None:
    from datetime import datetime

    store = make_store(clock=lambda: datetime(2026, 3, 10, 12))
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.reserve(GUILD, USER, [], 1, model="m")


async def test_a_late_commit_counts_images_whose_reservation_was_released(
    store: QuotaStore, target: Target, clock: ManualClock
) -> None:
    """The commit journal replays commits that could not be written in time; meanwhile the
    row may have been released as stale or (another process's crash recovery) abandoned.
    The images reached Discord: they count. A real refund is never turned into a commit."""
    released = await store.reserve(GUILD, USER, [], 3, model="m")
    refunded = await store.reserve(GUILD, USER, [], 1, model="m")
    assert isinstance(released, Reservation) and isinstance(refunded, Reservation)
    assert await store.refund(refunded, "provider error")
    clock.advance(seconds=10)
    assert await store.release_stale(5) == 1
    assert await store.commit(released.id, 2) is False  # an ordinary commit comes too late
    assert await store.commit(released.id, 2, total_tokens=5, cost_usd=0.1, late=True) is True
    assert await store.commit(released.id, 2, late=True) is False  # once
    assert await store.commit(refunded.id, 1, late=True) is False
    usage = await store.usage_for(GUILD, USER)
    assert (usage.used, usage.images, usage.reserved_in_flight) == (2, 2, 0)
    assert (await store.global_usage()).used == 2
    row = ledger_rows(target, "id = ?", (released.id,))[0]
    assert (row["status"], row["images_delivered"], row["total_tokens"]) == ("committed", 2, 5)


async def test_an_edit_names_the_member_it_was_made_for(store: QuotaStore) -> None:
    """The result buttons ask whose edit it is before deleting it for anyone but a moderator."""
    reservation = await store.reserve(GUILD, USER, [], 1, model="m")
    assert isinstance(reservation, Reservation)
    assert await store.refund(reservation, "test")
    assert await store.edit_requester(reservation.id) == USER  # settled rows still say whose
    assert await store.edit_requester(reservation.id + 1) is None
