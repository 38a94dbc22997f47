"""What the quota store accepts: checked before any statement runs, so bad input changes
nothing and says what would have been right."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.store.models import MAX_BUDGET_USD, MAX_LIMIT, UNLIMITED
from bot.store.periods import PERIODS


def guild_key(guild_id: int | None) -> int:
    # Direct messages have no guild; they share the id 0 and the bot default.
    return 0 if guild_id is None else guild_id


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_limit(limit: int) -> None:
    if not is_int(limit) or not UNLIMITED <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be an integer from {UNLIMITED} (unlimited) to {MAX_LIMIT}, not {limit!r}")


def check_period(period: str) -> None:
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")


def check_usd(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_BUDGET_USD:
        raise ValueError(f"{name} must be a number of US dollars from 0 to {MAX_BUDGET_USD:,}, not {value!r}")


def check_bill(cost_usd: float | None, **counts: int | None) -> None:
    """What the provider billed, as a commit or refund records it: counts and a cost, each
    non-negative or None (unknown)."""
    for name, value in counts.items():
        if value is not None and (not is_int(value) or value < 0):
            raise ValueError(f"{name} must be a non-negative integer or None, not {value!r}")
    if cost_usd is not None and not cost_usd >= 0:
        raise ValueError(f"cost_usd must be a non-negative number or None, not {cost_usd!r}")


def moment(timestamp: float) -> datetime:
    """A stored Unix time as an aware datetime."""
    return datetime.fromtimestamp(timestamp, UTC)
