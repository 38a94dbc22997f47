"""Per-member image quotas and money caps: one `QuotaStore` per process, made of four parts
with one job each, over one database (bot/store/backend.py: SQLite, one process per
file, or PostgreSQL shared by several processes):

- `rules`  (limit_rules.py): the limits moderators set, cached per server;
- `ledger` (ledger.py): reserve, commit, refund, signs of life, releases, resets;
- `caps`   (spend_caps.py): server budgets and the bot-wide spend cap;
- `usage`  (usage_reports.py): a member's use, the bot's day, server reports.

The store only builds the parts and hands out their operations under one name, so the
bot, its commands and the tests hold one object. The values it hands out are
bot/store/models.py's (re-exported here for the callers that import them with the store).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiosqlite

from bot.store.backend import Database, as_database
from bot.store.edit_requesters import edit_requester
from bot.store.ledger import Ledger
from bot.store.limit_rules import LimitRules
from bot.store.models import (
    ABANDONED_REASON,
    BLOCKED,
    CANCELLED_RUNNING_REASON,
    MAX_BUDGET_USD,
    MAX_LIMIT,
    STALE_REASON,
    TIMED_OUT_RUNNING_REASON,
    UNLIMITED,
    Budget,
    EffectiveLimit,
    GlobalUsage,
    GuildRules,
    LimitRule,
    MemberUsage,
    QuotaExceeded,
    ReportRow,
    Reservation,
    RoleLimit,
    Rule,
    ServerReport,
    SpendCap,
    SpendCapReached,
    SpendStatus,
    UserLimit,
)
from bot.store.periods import Clock, Period, utc_now
from bot.store.quota_checks import is_int
from bot.store.spend_caps import SpendCaps
from bot.store.usage_reports import UsageReports

if TYPE_CHECKING:
    from bot.store.backend import Dialect

__all__ = [
    "ABANDONED_REASON",
    "BLOCKED",
    "CANCELLED_RUNNING_REASON",
    "MAX_BUDGET_USD",
    "MAX_LIMIT",
    "STALE_REASON",
    "TIMED_OUT_RUNNING_REASON",
    "UNLIMITED",
    "Budget",
    "EffectiveLimit",
    "GlobalUsage",
    "GuildRules",
    "LimitRule",
    "MemberUsage",
    "QuotaExceeded",
    "QuotaStore",
    "ReportRow",
    "Reservation",
    "RoleLimit",
    "Rule",
    "ServerReport",
    "SpendCap",
    "SpendCapReached",
    "SpendStatus",
    "UserLimit",
]


class QuotaStore:
    """`owner` identifies this process (a boot id) on its reservations.
    `default_limit`/`default_period` are the bot-wide default (QUOTA_DEFAULT_LIMIT /
    QUOTA_DEFAULT_PERIOD); `global_daily_limit` caps images per UTC day across all
    servers, `global_spend_limit_usd` the estimated spend per `global_spend_period`
    (None: no cap). Prompts are stored only with `store_prompts=True`. `clock` must
    return aware datetimes; tests inject one to cross period boundaries. A bare aiosqlite
    connection is taken as a SQLite Database."""

    def __init__(
        self,
        conn: aiosqlite.Connection | Database,
        *,
        owner: str,
        default_limit: int,
        default_period: Period,
        global_daily_limit: int | None = None,
        global_spend_limit_usd: float | None = None,
        global_spend_period: Period = "month",
        clock: Clock = utc_now,
        store_prompts: bool = False,
    ) -> None:
        if global_daily_limit is not None and (not is_int(global_daily_limit) or global_daily_limit < 0):
            raise ValueError(f"global_daily_limit must be a non-negative integer or None, not {global_daily_limit!r}")
        db = as_database(conn)
        self._db = db
        self._clock = clock
        self.dialect: Dialect = db.dialect
        self.rules = LimitRules(db, clock=clock, default_limit=default_limit, default_period=default_period)
        self.caps = SpendCaps(
            db, rules=self.rules, clock=clock, global_limit_usd=global_spend_limit_usd, global_period=global_spend_period
        )
        self.usage = UsageReports(db, rules=self.rules, clock=clock, global_daily_limit=global_daily_limit)
        self.ledger = Ledger(
            db, owner=owner, rules=self.rules, caps=self.caps, usage=self.usage, clock=clock, store_prompts=store_prompts
        )
        self.owner = owner

        # Each operation is one part's; callers reach it here under its usual name.
        self.effective_limit = self.rules.effective_limit
        self.set_user_limit = self.rules.set_user_limit
        self.clear_user_limit = self.rules.clear_user_limit
        self.set_role_limit = self.rules.set_role_limit
        self.clear_role_limit = self.rules.clear_role_limit
        self.set_guild_default = self.rules.set_guild_default
        self.clear_guild_default = self.rules.clear_guild_default
        self.list_rules = self.rules.list_rules

        self.reserve = self.ledger.reserve
        self.refusal_for = self.ledger.refusal_for
        self.commit = self.ledger.commit
        self.refund = self.ledger.refund
        self.touch = self.ledger.touch
        self.release_stale = self.ledger.release_stale
        self.release_abandoned = self.ledger.release_abandoned
        self.reset_user = self.ledger.reset_user

        self.spend_status = self.caps.spend_status
        self.budget = self.caps.budget
        self.set_budget = self.caps.set_budget
        self.clear_budget = self.caps.clear_budget

        self.usage_for = self.usage.usage_for
        self.global_usage = self.usage.global_usage
        self.report = self.usage.report

    async def edit_requester(self, edit_id: int) -> int | None:
        """The member an edit (a ledger row) was made for, or None if there is no such row."""
        return await edit_requester(self._db, edit_id)

    def now(self) -> float:
        """The store's clock, as Unix seconds."""
        return self._clock().timestamp()

    @property
    def shared(self) -> bool:
        """Whether other bot processes may use this database at the same time (PostgreSQL)."""
        return self.dialect != "sqlite"
