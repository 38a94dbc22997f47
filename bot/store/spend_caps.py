"""Money caps: a server's budget (/quota budget) and the bot-wide spend cap
(GLOBAL_SPEND_LIMIT_USD), each per calendar period.

A reservation's estimate (micro-dollars) counts against the caps while its row is open;
once settled the row counts its billed cost instead. Each cap's running total for its
current period is one "cap row" in ledger_days (day CAP_ROWS; scope -1 for the bot, the
server's id for a budget), kept inside the statements that change the ledger (by
triggers on SQLite, by the statements themselves on PostgreSQL), so a check reads one row
however long the ledger. The check itself rides in the
reservation's statement (bot/store/ledger.py); this module names the caps that apply,
keeps the cap rows in step with the settings, and explains a refusal.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from bot.store.backend import Database
from bot.store.limit_precedence import RuleSet
from bot.store.limit_rules import LimitRules
from bot.store.models import Budget, SpendCap, SpendCapReached, SpendStatus, to_micros, to_usd
from bot.store.periods import Clock, Instant, Period
from bot.store.quota_checks import check_period, check_usd, guild_key, moment
from bot.store.quota_sql import statements
from bot.store.sql_template import PerDialect

# Changing what the cap rows are computed from (the bot-wide cap's rebuild, a new budget
# or a budget's new period, which sum the ledger in a trigger) on PostgreSQL, shared by
# several processes: wait for every ledger write in flight and hold new ones for those
# few milliseconds, so the sum and the running total cannot miss a row another process
# writes meanwhile. Reads go on.
LEDGER_WRITE_LOCK = "LOCK TABLE ledger IN SHARE ROW EXCLUSIVE MODE"


@dataclass(frozen=True, slots=True)
class SpendSql:
    spend: str
    guild_spend: str
    global_cap: str
    drop_global_cap: str
    set_budget: str


_GLOBAL_CAP = """
INSERT INTO ledger_days (day, scope, period, period_start, period_end, spend_micros)
VALUES ({cap_rows}, -1, CAST(:period AS TEXT), CAST(:start AS INTEGER), CAST(:end AS INTEGER),
        {period_spend})
ON CONFLICT (day, scope) DO UPDATE
   SET period = excluded.period, period_start = excluded.period_start,
       period_end = excluded.period_end, spend_micros = excluded.spend_micros
"""

SQL = statements(
    SpendSql,
    {
        # What counts against the money caps now: the server's budget and the bot's cap.
        "spend": "SELECT {server_cap_spend}, {bot_cap_spend}",
        # A server's spend since :start read from the ledger itself, for servers without a
        # budget (only a cap keeps a running total): reports, not reservations.
        "guild_spend": """
SELECT CAST(COALESCE(SUM({row_spend}), 0) AS BIGINT) FROM ledger WHERE guild_id = :guild AND created_at >= :start
""",
        # The bot-wide cap's row, (re)built from the ledger when the store starts with the
        # cap on (its period may have changed, or edits were made while it was off): the
        # rows of the current period, found without reading the whole ledger: on SQLite from
        # the day summary's first id, on PostgreSQL by each server's rows of the period
        # (ledger_guild_time, one index range per server).
        "global_cap": PerDialect(
            sqlite=_GLOBAL_CAP.replace("{period_spend}", """(SELECT COALESCE(SUM({row_spend}), 0) FROM ledger
          WHERE id >= COALESCE((SELECT MIN(first_id) FROM ledger_days
                                 WHERE day >= CAST(:start AS INTEGER) AND day < {cap_rows} AND {bot_day_rows}),
                               (SELECT COALESCE(MAX(id), 0) + 1 FROM ledger))
            AND created_at >= CAST(:start AS INTEGER) * 86400.0)"""),
            postgresql=_GLOBAL_CAP.replace("{period_spend}", """(WITH RECURSIVE {each_server}
         SELECT COALESCE(SUM(period.spend), 0)
           FROM guilds, LATERAL (SELECT SUM({row_spend}) AS spend FROM ledger
                                  WHERE guild_id = guilds.g AND created_at >= CAST(:start AS INTEGER) * 86400.0) period
          WHERE guilds.g IS NOT NULL)"""),
        ),
        "drop_global_cap": "DELETE FROM ledger_days WHERE day = {cap_rows} AND scope = -1",
        # A new budget (or a new period) sums what the server spent so far in its current
        # period from the ledger (a trigger, in this same statement).
        "set_budget": """
INSERT INTO guild_budgets (guild_id, limit_micros, period, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (guild_id) DO UPDATE SET limit_micros = excluded.limit_micros,
       period = excluded.period, updated_at = excluded.updated_at
RETURNING limit_micros, period, updated_at
""",
    },
)

Caps = tuple[SpendCap | None, SpendCap | None, int]  # (the server's, the bot's, the server's spend)


class SpendCaps:
    """`global_limit_usd` None: no bot-wide cap."""

    def __init__(
        self, db: Database, *, rules: LimitRules, clock: Clock, global_limit_usd: float | None, global_period: Period
    ) -> None:
        check_period(global_period)
        if global_limit_usd is not None:
            check_usd("global_spend_limit_usd", global_limit_usd)
        self._db = db
        self._sql = SQL[db.dialect]
        self._rules = rules
        self._clock = clock
        self.global_limit = None if global_limit_usd is None else to_micros(global_limit_usd)
        self.global_period: Period = global_period
        self.ready = False  # the bot-wide cap's row matches the settings
        self._ready_lock = asyncio.Lock()

    async def prepare(self) -> None:
        """Once per store, before the first money check: the bot-wide cap's row matches
        the configured cap (built from the ledger), or is gone when there is no cap."""
        async with self._ready_lock:
            if self.ready:
                return
            if self.global_limit is None:
                await self._db.fetchall(self._sql.drop_global_cap)
            else:
                now = Instant.read(self._clock)
                params = {
                    "period": self.global_period,
                    "start": int(now.start(self.global_period) // 86400),
                    "end": int(now.resets_at(self.global_period).timestamp() // 86400),
                }
                await self._write_cap_source(self._sql.global_cap, params)
            self.ready = True

    async def _write_cap_source(self, sql: str, params: Any) -> list[Any]:
        if self._db.dialect == "sqlite":
            # One process per file: nothing writes the ledger between the sum and the row.
            return await self._db.fetchall(sql, params)
        return await self._db.fetch_locked(LEDGER_WRITE_LOCK, (), sql, params)  # type: ignore[attr-defined, no-any-return]

    def window(self, rules: RuleSet, now: Instant) -> dict[str, Any]:
        """Parameters naming the money caps that apply and the first days of their periods."""
        budget, budget_period = rules.budget if rules.budget is not None else (None, "month")
        return {
            "budget": budget,
            "budget_start": int(now.start(budget_period) // 86400),
            "spend_limit": self.global_limit,
            "spend_start": int(now.start(self.global_period) // 86400),
        }

    async def caps(self, guild: int, rules: RuleSet, now: Instant) -> Caps:
        """(the server's cap, the bot-wide cap, the server's spend this budget period)."""
        row = await self._db.fetchone(self._sql.spend, {"guild": guild, **self.window(rules, now)})
        server_spent, global_spent = row[0], row[1]
        server = None
        if rules.budget is not None:
            limit, period = rules.budget
            server = SpendCap("server", limit, server_spent, period, now.resets_at(period))
        bot_wide = None
        if self.global_limit is not None:
            period = self.global_period
            bot_wide = SpendCap("global", self.global_limit, global_spent, period, now.resets_at(period))
        return server, bot_wide, server_spent

    @staticmethod
    def refusal(caps: Caps, cost: int | None) -> SpendCapReached | None:
        """Which cap `cost` (micro-dollars) does not fit (a missing estimate fits none), or None."""
        for cap in caps[:2]:
            if cap is not None and (cost is None or cap.spent_micros + cost > cap.limit_micros):
                return SpendCapReached(cap, None if cost is None else to_usd(cost))
        return None

    async def spend_status(self, guild_id: int | None) -> SpendStatus:
        """Spend against the server's budget and the bot-wide cap, for reports."""
        if not self.ready:
            await self.prepare()
        guild = guild_key(guild_id)
        now = Instant.read(self._clock)
        rules = await self._rules.rule_set(guild, fresh=True)
        server, bot_wide, server_spent = await self.caps(guild, rules, now)
        period: Period = rules.budget[1] if rules.budget is not None else "month"
        if rules.budget is None:
            row = await self._db.fetchone(self._sql.guild_spend, {"guild": guild, "start": now.start(period)})
            server_spent = row[0]
        return SpendStatus(server, bot_wide, server_spent, period, now.resets_at(period))

    # -- budgets ---------------------------------------------------------------------

    async def budget(self, guild_id: int | None) -> Budget | None:
        row = await self._db.fetchone(
            "SELECT limit_micros, period, updated_at FROM guild_budgets WHERE guild_id = ?", (guild_key(guild_id),)
        )
        return Budget(to_usd(row[0]), row[1], moment(row[2])) if row else None

    async def set_budget(self, guild_id: int | None, limit_usd: float, period: Period | None = None) -> Budget:
        """Cap the server's estimated spend per period. Without a period the current
        budget's is kept (a month for a new budget). Applies to the very next reservation."""
        check_usd("limit_usd", limit_usd)
        guild = guild_key(guild_id)
        if period is None:
            current = await self.budget(guild)
            period = current.period if current is not None else "month"
        check_period(period)
        try:
            # The trigger's sum must not miss a reservation another process is writing in
            # this server right now (it does not know of the budget yet).
            rows = await self._write_cap_source(
                self._sql.set_budget, (guild, to_micros(limit_usd), period, self._clock().timestamp())
            )
        finally:
            self._rules.forget()
        row = rows[0]
        return Budget(to_usd(row[0]), row[1], moment(row[2]))

    async def clear_budget(self, guild_id: int | None) -> bool:
        try:
            return bool(
                await self._db.fetchall("DELETE FROM guild_budgets WHERE guild_id = ? RETURNING guild_id", (guild_key(guild_id),))
            )
        finally:
            self._rules.forget()
