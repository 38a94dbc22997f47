from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.store.periods import PERIODS, parse_period, period_bounds, utc_now


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "now", "start", "end"),
    [
        ("day", utc(2026, 3, 10, 12, 30), utc(2026, 3, 10), utc(2026, 3, 11)),
        ("day", utc(2026, 3, 10, 0, 0), utc(2026, 3, 10), utc(2026, 3, 11)),
        ("day", utc(2026, 3, 10, 23, 59, 59, 999999), utc(2026, 3, 10), utc(2026, 3, 11)),
        ("day", utc(2026, 12, 31, 23, 0), utc(2026, 12, 31), utc(2027, 1, 1)),
        # ISO weeks start on Monday: 2026-03-09 is a Monday, 2026-03-15 a Sunday.
        ("week", utc(2026, 3, 9, 0, 0), utc(2026, 3, 9), utc(2026, 3, 16)),
        ("week", utc(2026, 3, 15, 23, 59), utc(2026, 3, 9), utc(2026, 3, 16)),
        ("week", utc(2026, 3, 16, 0, 0), utc(2026, 3, 16), utc(2026, 3, 23)),
        # A week that spans the new year.
        ("week", utc(2026, 12, 31, 10), utc(2026, 12, 28), utc(2027, 1, 4)),
        ("week", utc(2027, 1, 3, 23, 59), utc(2026, 12, 28), utc(2027, 1, 4)),
        ("month", utc(2026, 3, 10, 12), utc(2026, 3, 1), utc(2026, 4, 1)),
        ("month", utc(2026, 12, 31, 23, 59, 59), utc(2026, 12, 1), utc(2027, 1, 1)),
        ("month", utc(2027, 1, 1), utc(2027, 1, 1), utc(2027, 2, 1)),
        ("month", utc(2028, 2, 29, 12), utc(2028, 2, 1), utc(2028, 3, 1)),  # leap year
        ("month", utc(2027, 2, 28, 23, 59), utc(2027, 2, 1), utc(2027, 3, 1)),
    ],
)
def test_period_bounds(period: str, now: datetime, start: datetime, end: datetime) -> None:
    assert period_bounds(period, now) == (start, end)  # type: ignore[arg-type]
    assert start <= now < end


def test_bounds_are_utc_even_for_other_timezones() -> None:
    # 01:30 on the 11th in UTC+2 is still the 10th in UTC.
    local = datetime(2026, 3, 11, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    start, end = period_bounds("day", local)
    assert (start, end) == (utc(2026, 3, 10), utc(2026, 3, 11))
    assert start.tzinfo is UTC and end.tzinfo is UTC


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        period_bounds("day", datetime(2026, 3, 10, 12))


def test_unknown_period_is_refused() -> None:
    with pytest.raises(ValueError, match="day, week, month"):
        period_bounds("year", utc(2026, 3, 10))  # type: ignore[arg-type]


def test_parse_period() -> None:
    assert PERIODS == ("day", "week", "month")
    assert parse_period(" Week ") == "week"
    with pytest.raises(ValueError, match="'fortnight'"):
        parse_period("fortnight")


def test_utc_now_is_aware() -> None:
    assert utc_now().tzinfo is UTC


def test_day_calendar_and_instant_agree_with_period_bounds() -> None:
    from bot.store.periods import Instant

    local = datetime(2027, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=3)))  # 22:30 UTC on Dec 31
    now = Instant.read(lambda: local)
    for period in PERIODS:
        start, end = period_bounds(period, local)
        assert now.start(period) == start.timestamp()
        assert now.resets_at(period) == end
    assert now.resets_at("month") == utc(2027, 1, 1)
    assert now.day == int(utc(2026, 12, 31).timestamp() // 86400)
    with pytest.raises(ValueError, match="timezone-aware"):
        Instant.read(lambda: datetime(2026, 3, 10))
