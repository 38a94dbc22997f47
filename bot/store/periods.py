"""Calendar quota periods in UTC, and the clock the store reads time from.

Periods are calendar periods, not rolling windows: a daily quota resets at
00:00 UTC, a weekly one on Monday 00:00 UTC (ISO week), a monthly one on the
1st at 00:00 UTC. Members see one reset time that is the same for everybody.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

Period = Literal["day", "week", "month"]
PERIODS: tuple[Period, ...] = get_args(Period)

# Everything in the store asks this for the time instead of calling datetime.now,
# so tests can step across midnight, week and month boundaries deterministically.
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_period(value: str) -> Period:
    """Accept a period name as typed in settings or commands ('Day', ' week ')."""
    normalized = value.strip().lower()
    if normalized not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {value!r}")
    return normalized  # type: ignore[return-value]


def period_bounds(period: Period, now: datetime) -> tuple[datetime, datetime]:
    """Return (start, resets_at) of the period containing `now`, both aware UTC.

    `start` is inclusive and `resets_at` exclusive: `start <= now < resets_at`.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        # A naive datetime is ambiguous (local time? UTC?); guessing would shift
        # every reset by the server's UTC offset.
        raise ValueError("period_bounds needs a timezone-aware datetime")
    now = now.astimezone(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return midnight, midnight + timedelta(days=1)
    if period == "week":
        monday = midnight - timedelta(days=now.weekday())
        return monday, monday + timedelta(days=7)
    if period == "month":
        first = midnight.replace(day=1)
        if first.month == 12:
            return first, first.replace(year=first.year + 1, month=1)
        return first, first.replace(month=first.month + 1)
    raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
