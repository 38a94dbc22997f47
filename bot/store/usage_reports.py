"""Reading the ledger: a member's use of their quota, the bot's images today, and a
server's report per member and period.

Quota use in a period is the sum of the member's ledger rows created in it: reserved
images while open, delivered images once committed, nothing once refunded or cleared by
a moderator's reset.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.store.backend import Database
from bot.store.limit_precedence import RuleSet
from bot.store.limit_rules import LimitRules
from bot.store.models import UNLIMITED, EffectiveLimit, GlobalUsage, MemberUsage, ReportRow, ServerReport
from bot.store.periods import Clock, Instant, Period, period_bounds
from bot.store.quota_checks import check_period, guild_key, moment
from bot.store.quota_sql import statements
from bot.store.sql_template import PerDialect


@dataclass(frozen=True, slots=True)
class UsageSql:
    usage: str
    global_usage: str
    report_rows: str
    report_totals: str


SQL = statements(
    UsageSql,
    {
        "usage": """
SELECT (SELECT version FROM rules_version),
       COALESCE(SUM(CASE WHEN reset_at IS NULL THEN {counted} END), 0),
       COALESCE(SUM(CASE WHEN reset_at IS NULL AND status = 'reserved' THEN images_reserved END), 0),
       COALESCE(SUM(CASE WHEN status = 'committed' THEN images_delivered END), 0),
       COALESCE(SUM(input_tokens), 0),
       COALESCE(SUM(output_tokens), 0),
       COALESCE(SUM(total_tokens), 0),
       COALESCE(SUM(cost_usd), 0.0),
       {day_images}
  FROM ledger
 WHERE guild_id = :guild AND user_id = :user AND created_at >= :start
""",
        # The bot's images today: SQLite's day summary; PostgreSQL keeps a day's total only
        # while GLOBAL_DAILY_IMAGE_LIMIT applies, so it reads each server's rows of the day
        # (ledger_guild_time, one index range per server: a report, not a reservation).
        "global_usage": PerDialect(
            sqlite="SELECT {day_images}",
            postgresql="""
WITH RECURSIVE {each_server}
SELECT COALESCE(SUM(day.images), 0)
  FROM guilds, LATERAL (SELECT SUM({counted}) AS images FROM ledger
                         WHERE guild_id = guilds.g AND created_at >= :day::integer * 86400.0
                           AND created_at < (:day::integer + 1) * 86400.0) day
 WHERE guilds.g IS NOT NULL
""",
        ),
        # Aggregate FILTER: SQLite 3.30+ and PostgreSQL alike.
        "report_rows": """
SELECT user_id,
       COALESCE(SUM(CASE WHEN status = 'committed' THEN images_delivered END), 0) AS images,
       COUNT(*) AS requests,
       COUNT(*) FILTER (WHERE status = 'refunded'),
       COALESCE(SUM(total_tokens), 0),
       COALESCE(SUM(cost_usd), 0.0)
  FROM ledger
 WHERE guild_id = :guild AND created_at >= :start AND created_at < :end
 GROUP BY user_id
 ORDER BY images DESC, requests DESC, user_id
 LIMIT :top
""",
        "report_totals": """
SELECT COUNT(DISTINCT user_id),
       COALESCE(SUM(CASE WHEN status = 'committed' THEN images_delivered END), 0),
       COUNT(*),
       COUNT(*) FILTER (WHERE status = 'refunded'),
       COALESCE(SUM(total_tokens), 0),
       COALESCE(SUM(cost_usd), 0.0),
       COUNT(*) FILTER (WHERE refund_reason = {cancelled_running}),
       COUNT(*) FILTER (WHERE refund_reason = {timed_out_running}),
       COALESCE(SUM(cost_reserved_usd) FILTER (WHERE refund_reason IN ({cancelled_running}, {timed_out_running})
                                                 AND cost_usd IS NULL), 0.0)
  FROM ledger
 WHERE guild_id = :guild AND created_at >= :start AND created_at < :end
""",
    },
)

# How often a read re-reads changed rules before giving up: rules change when a
# moderator acts, not several times a second.
ATTEMPTS = 4


def member_window(guild: int, user_id: int, rules: RuleSet, effective: EffectiveLimit, now: Instant) -> dict[str, Any]:
    """Parameters naming the member's current period under `effective`, at the rules'
    version (the statements that take them check it)."""
    return {
        "guild": guild,
        "user": user_id,
        "start": now.start(effective.period),
        "day": now.day,
        "now": now.timestamp,
        "rules_version": rules.version,
    }


class UsageReports:
    """`global_daily_limit` caps images per UTC day across all servers (None: no cap)."""

    def __init__(self, db: Database, *, rules: LimitRules, clock: Clock, global_daily_limit: int | None) -> None:
        self._db = db
        self._sql = SQL[db.dialect]
        self._rules = rules
        self._clock = clock
        self.global_daily_limit = global_daily_limit

    async def read(
        self, guild: int, user_id: int, rules: RuleSet, effective: EffectiveLimit, now: Instant
    ) -> tuple[MemberUsage | None, int]:
        """(the member's usage under `effective`, the bot's images today), or (None, 0) if
        the rules changed since they were read."""
        row = await self._db.fetchone(self._sql.usage, member_window(guild, user_id, rules, effective, now))
        if row[0] != rules.version:
            return None, 0
        used = row[1]
        limit, period = effective.limit, effective.period
        usage = MemberUsage(
            limit=limit,
            period=period,
            rule=effective.rule,
            rule_detail=effective.rule_detail,
            used=used,
            reserved_in_flight=row[2],
            remaining=None if limit == UNLIMITED else max(0, limit - used),
            period_start=moment(now.start(period)),
            resets_at=now.resets_at(period),
            images=row[3],
            input_tokens=row[4],
            output_tokens=row[5],
            total_tokens=row[6],
            cost_usd=float(row[7]),
        )
        return usage, row[8]

    async def usage_for(self, guild_id: int | None, user_id: int, role_ids: Iterable[int] = ()) -> MemberUsage:
        """The member's limit, use and spend in the current period of their rule."""
        guild = guild_key(guild_id)
        role_ids = tuple(role_ids)
        for attempt in range(ATTEMPTS):
            now = Instant.read(self._clock)
            rules = await self._rules.rule_set(guild, fresh=attempt > 0)
            usage, _ = await self.read(guild, user_id, rules, self._rules.effective(rules, user_id, role_ids), now)
            if usage is not None:
                return usage
        raise RuntimeError("quota rules kept changing while reading usage; try again")

    async def global_usage(self) -> GlobalUsage:
        """Images reserved or delivered today (UTC) across all servers."""
        now = Instant.read(self._clock)
        row = await self._db.fetchone(self._sql.global_usage, {"day": now.day})
        used = row[0] if row else 0
        budget = self.global_daily_limit
        return GlobalUsage(
            limit=budget,
            used=used,
            remaining=None if budget is None else max(0, budget - used),
            resets_at=now.resets_at("day"),
        )

    async def report(
        self, guild_id: int | None, top: int = 10, *, period: Period | None = None, at: datetime | None = None
    ) -> ServerReport:
        """Usage per member in one period, most images first.

        By default the current period of the server default (else the bot default);
        `at` picks the period containing another moment (last month). Images are
        delivered images; requests count every row, refunded included.
        """
        guild = guild_key(guild_id)
        if period is None:
            period = await self._rules.server_period(guild)
        check_period(period)
        start, end = period_bounds(period, at if at is not None else self._clock())
        params = {"guild": guild, "start": start.timestamp(), "end": end.timestamp(), "top": max(0, top)}
        rows = await self._db.fetchall(self._sql.report_rows, params)
        totals = await self._db.fetchone(self._sql.report_totals, params)
        return ServerReport(
            guild_id=guild,
            period=period,
            start=start,
            resets_at=end,
            rows=tuple(ReportRow(r[0], r[1], r[2], r[3], r[4], float(r[5])) for r in rows),
            users=totals[0],
            images=totals[1],
            requests=totals[2],
            refunded=totals[3],
            tokens=totals[4],
            cost_usd=float(totals[5]),
            cancelled_running=totals[6],
            timed_out_running=totals[7],
            running_estimate_usd=float(totals[8]),
        )
