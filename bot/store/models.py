"""Values the quota store hands out: frozen, plain data, no database handles.

Limits are images per period: UNLIMITED (-1) means no limit, BLOCKED (0) means
none allowed. A guild id of 0 stands for direct messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.store.periods import Period

UNLIMITED = -1
"""A limit of -1 means no limit at all (the bot-wide daily budget still applies)."""

BLOCKED = 0
"""A limit of 0 means the member may not generate images."""

MAX_LIMIT = 1_000_000
"""Largest settable limit: anything above is a typo, not a policy."""

MICROS_PER_USD = 1_000_000
"""Money in sums and caps is counted in whole micro-dollars, so sums never drift."""

MAX_BUDGET_USD = 1_000_000
"""Largest settable spend cap: anything above is a typo, not a policy."""


# Why the store itself refunded a reservation (ledger.refund_reason; other reasons come
# from the edit that gave its images back).
STALE_REASON = "stale"  # no sign of life for longer than any edit runs
ABANDONED_REASON = "abandoned"  # left open by a process that is gone
# A member cancelled while the provider worked, or the provider call timed out after the
# upload: the images are refunded, but the provider may bill the work it started, so the
# row's estimate still counts toward the money caps (its spend_micros, migration 010 /
# postgresql 003) and in reports, apart from real bills.
CANCELLED_RUNNING_REASON = "cancelled while running"
TIMED_OUT_RUNNING_REASON = "timed out while running"
RUNNING_REFUND_REASONS = (CANCELLED_RUNNING_REASON, TIMED_OUT_RUNNING_REASON)


def to_micros(usd: float) -> int:
    return round(usd * MICROS_PER_USD)


def to_usd(micros: int) -> float:
    return micros / MICROS_PER_USD


class Rule(StrEnum):
    """Which rule decided a member's limit (the value is what users are shown)."""

    USER = "user override"
    ROLE = "role"  # rule_detail holds the role id
    SERVER = "server default"
    BOT = "bot default"
    GLOBAL_BUDGET = "bot-wide daily budget"


def _describe(rule: Rule, detail: int | None) -> str:
    return f"role {detail}" if rule is Rule.ROLE and detail is not None else rule.value


@dataclass(frozen=True, slots=True)
class EffectiveLimit:
    limit: int
    period: Period
    rule: Rule
    rule_detail: int | None = None

    @property
    def unlimited(self) -> bool:
        return self.limit == UNLIMITED

    @property
    def rule_text(self) -> str:
        return _describe(self.rule, self.rule_detail)


@dataclass(frozen=True, slots=True)
class Reservation:
    """Images held for one request until it is committed or refunded."""

    id: int
    guild_id: int
    user_id: int
    images: int
    model: str
    created_at: datetime
    limit: int
    period: Period
    rule: Rule
    rule_detail: int | None
    resets_at: datetime


@dataclass(frozen=True, slots=True)
class QuotaExceeded:
    """Why a reservation was refused; returned, not raised: it is a normal outcome."""

    limit: int
    used: int
    remaining: int
    resets_at: datetime
    rule: Rule
    images_requested: int
    rule_detail: int | None = None
    period: Period = "day"
    reserved_in_flight: int = 0

    @property
    def rule_text(self) -> str:
        return _describe(self.rule, self.rule_detail)

    @property
    def reason_code(self) -> str:
        return "global_budget" if self.rule is Rule.GLOBAL_BUDGET else "quota"

    @property
    def blocked_by_in_flight(self) -> bool:
        """True when the request would fit if the member's running requests were
        refunded: the caller may wait for them instead of failing right away."""
        if self.rule is Rule.GLOBAL_BUDGET or self.reserved_in_flight == 0:
            return False
        return self.used - self.reserved_in_flight + self.images_requested <= self.limit


@dataclass(frozen=True, slots=True)
class MemberUsage:
    limit: int
    period: Period
    rule: Rule
    rule_detail: int | None
    used: int  # counts against the quota: delivered plus still reserved
    reserved_in_flight: int
    remaining: int | None  # None when unlimited
    period_start: datetime
    resets_at: datetime
    images: int  # delivered this period, including any a moderator reset cleared
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_usd: float

    @property
    def rule_text(self) -> str:
        return _describe(self.rule, self.rule_detail)


@dataclass(frozen=True, slots=True)
class GlobalUsage:
    limit: int | None
    used: int
    remaining: int | None
    resets_at: datetime


@dataclass(frozen=True, slots=True)
class ReportRow:
    user_id: int
    images: int
    requests: int
    refunded: int
    tokens: int
    cost_usd: float


@dataclass(frozen=True, slots=True)
class ServerReport:
    guild_id: int
    period: Period
    start: datetime
    resets_at: datetime
    rows: tuple[ReportRow, ...]
    users: int
    images: int
    requests: int
    refunded: int
    tokens: int
    cost_usd: float
    # Cancelled by a member while the provider was working, or timed out after the upload:
    # refunded, maybe still billed. Their estimates (without a real bill) count toward the
    # money caps; cost_usd above holds real bills only.
    cancelled_running: int = 0
    timed_out_running: int = 0
    running_estimate_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class LimitRule:
    limit: int
    period: Period
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RoleLimit:
    role_id: int
    limit: int
    period: Period
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class UserLimit:
    user_id: int
    limit: int
    period: Period
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class GuildRules:
    guild_id: int
    default: LimitRule | None
    roles: tuple[RoleLimit, ...]
    users: tuple[UserLimit, ...]
    bot_default_limit: int
    bot_default_period: Period


@dataclass(frozen=True, slots=True)
class Budget:
    """A server's cap on estimated spend per calendar period (/quota budget)."""

    limit_usd: float
    period: Period
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SpendCap:
    """A money cap and what counts against it in its current period: the estimates of
    open reservations plus the billed cost of settled edits."""

    scope: str  # "server" (/quota budget) or "global" (GLOBAL_SPEND_LIMIT_USD)
    limit_micros: int
    spent_micros: int
    period: Period
    resets_at: datetime

    @property
    def limit_usd(self) -> float:
        return to_usd(self.limit_micros)

    @property
    def spent_usd(self) -> float:
        return to_usd(self.spent_micros)

    @property
    def remaining_usd(self) -> float:
        return to_usd(max(0, self.limit_micros - self.spent_micros))


@dataclass(frozen=True, slots=True)
class SpendCapReached:
    """Why a reservation was refused for money; returned, not raised, like QuotaExceeded."""

    cap: SpendCap
    cost_usd: float | None  # the request's estimate; None when its model has no price

    @property
    def reason_code(self) -> str:
        if self.cost_usd is None:
            return "unpriced_model"
        return "server_budget" if self.cap.scope == "server" else "global_spend"

    @property
    def blocked_by_in_flight(self) -> bool:
        # Spend is shared by the whole server (or bot): waiting for the member's own
        # edits is no promise that money frees up.
        return False


@dataclass(frozen=True, slots=True)
class SpendStatus:
    """Spend against the caps that apply to one server, for reports."""

    server: SpendCap | None  # None: no /quota budget
    global_: SpendCap | None  # None: no GLOBAL_SPEND_LIMIT_USD
    server_spent_micros: int  # this server's spend in the current period of its budget (month without one)
    server_period: Period
    server_resets_at: datetime

    @property
    def server_spent_usd(self) -> float:
        return to_usd(self.server_spent_micros)
