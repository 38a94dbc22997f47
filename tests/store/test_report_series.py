"""Images and spend per UTC day and model, for the chart in /quota report."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.store.backend import Database
from bot.store.quota import QuotaStore, Reservation
from bot.store.report_series import DayUsage, daily_usage, days_between
from tests.store.conftest import GUILD, OTHER_USER, USER, ManualClock


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def edit(store: QuotaStore, model: str, images: int, delivered: int, cost: float, *, user: int = USER, guild: int = GUILD) -> None:
    reservation = await store.reserve(guild, user, [], images, model=model)
    assert isinstance(reservation, Reservation)
    if delivered:
        assert await store.commit(reservation.id, delivered, total_tokens=100, cost_usd=cost)
    else:
        await store.refund(reservation, "provider error")


async def test_days_and_models_counted_as_the_report_counts(store: QuotaStore, db: Database, clock: ManualClock) -> None:
    # The last second of a day and the first of the next fall on their own days (UTC).
    clock.set(utc(2026, 3, 1, 23, 59, 59))
    await edit(store, "gpt-image-2", 2, 2, 0.50)
    clock.set(utc(2026, 3, 2, 0, 0, 0))
    await edit(store, "gpt-image-2", 1, 1, 0.25)
    await edit(store, "gpt-image-1-mini", 3, 3, 0.03, user=OTHER_USER)
    await edit(store, "gpt-image-1-mini", 4, 0, 0.0, user=OTHER_USER)  # refunded: no images
    await edit(store, "gpt-image-2", 1, 1, 9.0, guild=GUILD + 1)  # another server
    clock.set(utc(2026, 3, 3, 12))
    await store.reserve(GUILD, USER, [], 1, model="gpt-image-2")  # still running: a request, no image yet

    report = await store.report(GUILD, period="month")
    rows = await daily_usage(db, GUILD, report.start, report.resets_at)
    assert rows == [
        DayUsage(date(2026, 3, 1), "gpt-image-2", 2, 0.50),
        DayUsage(date(2026, 3, 2), "gpt-image-1-mini", 3, 0.03),
        DayUsage(date(2026, 3, 2), "gpt-image-2", 1, 0.25),
        DayUsage(date(2026, 3, 3), "gpt-image-2", 0, 0.0),
    ]
    # The same totals as the report's
    assert sum(r.images for r in rows) == report.images
    assert round(sum(r.cost_usd for r in rows), 6) == round(report.cost_usd, 6)


async def test_other_periods_are_left_out(store: QuotaStore, db: Database, clock: ManualClock) -> None:
    clock.set(utc(2026, 2, 28, 12))
    await edit(store, "gpt-image-2", 1, 1, 0.1)
    clock.set(utc(2026, 3, 10, 12))
    report = await store.report(GUILD, period="month")
    assert await daily_usage(db, GUILD, report.start, report.resets_at) == []


def test_days_between_covers_the_period() -> None:
    days = days_between(utc(2026, 2, 1), utc(2026, 3, 1))
    assert (len(days), days[0], days[-1]) == (28, date(2026, 2, 1), date(2026, 2, 28))
    assert days_between(utc(2026, 3, 10), utc(2026, 3, 11)) == [date(2026, 3, 10)]
