"""Calendar quota periods in UTC, and the clock the store reads time from.

Periods are calendar periods, not rolling windows: a daily quota resets at
00:00 UTC, a weekly one on Monday 00:00 UTC (ISO week), a monthly one on the
1st at 00:00 UTC. Members see one reset time that is the same for everybody.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class DayCalendar:
    """Every period's start (Unix seconds, as the ledger stores times) and end,
    for one UTC day."""

    day: int  # whole days since 1970-01-01 UTC
    starts: dict[str, float]
    resets: dict[str, datetime]


@functools.lru_cache(maxsize=8)
def day_calendar(day: int) -> DayCalendar:
    # Every reservation needs these and they only change at UTC midnight: work
    # them out once per day instead of three datetime computations per request.
    midnight = datetime.fromtimestamp(day * 86400, UTC)
    bounds = {period: period_bounds(period, midnight) for period in PERIODS}
    return DayCalendar(
        day=day,
        starts={period: start.timestamp() for period, (start, _) in bounds.items()},
        resets={period: end for period, (_, end) in bounds.items()},
    )


@dataclass(frozen=True, slots=True)
class Instant:
    """One reading of a clock, so one operation never mixes two different 'now's."""

    at: datetime
    timestamp: float
    calendar: DayCalendar

    @classmethod
    def read(cls, clock: Clock) -> Instant:
        at = clock()
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("the store's clock must return timezone-aware datetimes")
        timestamp = at.timestamp()
        return cls(at, timestamp, day_calendar(int(timestamp // 86400)))

    @property
    def day(self) -> int:
        return self.calendar.day

    def start(self, period: Period) -> float:
        return self.calendar.starts[period]

    def resets_at(self, period: Period) -> datetime:
        return self.calendar.resets[period]
