"""Per-member image quotas: rules, atomic reservations and the usage ledger.

The unit is generated images. A request reserves its images before the provider
is called, then commits what was delivered or is refunded. Every request is one
`ledger` row; quota use in a period is the sum of the member's rows created in
that period: reserved images while open, delivered images once committed,
nothing once refunded or cleared by a moderator reset.

Every write is a single SQL statement on the shared connection, which runs in
autocommit mode. Nothing here holds a transaction across an await, so any number
of coroutines can share the connection, and each statement is atomic on its own.
Rules are cached per server and every statement that depends on them checks the
database's rules_version, so the cache can be out of date but never wrong.

The store runs on SQLite (one process per file) or PostgreSQL (several processes on
one database), through bot/store/backend.py. The statements below are SQLite's; the
few PostgreSQL spells differently are in bot/store/quota_postgres.py, chosen once per
store (`_Statements`). On PostgreSQL a reservation is a function call that takes
advisory locks for the member and each cap before it checks and inserts (see there).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiosqlite

from bot.store import quota_postgres as pg
from bot.store.backend import Database, as_database
from bot.store.models import (
    BLOCKED,
    MAX_BUDGET_USD,
    MAX_LIMIT,
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
    to_micros,
    to_usd,
)
from bot.store.periods import PERIODS, Clock, Instant, Period, period_bounds, utc_now
from bot.store.limit_precedence import RuleSet

__all__ = [
    "ABANDONED_REASON",
    "Budget",
    "BLOCKED",
    "MAX_BUDGET_USD",
    "MAX_LIMIT",
    "STALE_REASON",
    "UNLIMITED",
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

STALE_REASON = "stale"
ABANDONED_REASON = "abandoned"
# A member cancelled while the provider worked: refunded, but the provider may bill it.
CANCELLED_RUNNING_REASON = "cancelled while running"

# The day number under which ledger_days keeps the money caps' running totals (after
# every real day, so they share a page with today's row; see migration 007).
CAP_ROWS = 9_999_999

# What one ledger row counts against its member's quota.
_COUNTED = (
    "CASE {t}status WHEN 'reserved' THEN {t}images_reserved "
    "WHEN 'committed' THEN {t}images_delivered ELSE 0 END"
)

# One statement, so the version and the rules are one consistent snapshot.
_RULES_SQL = """
SELECT 'version', version, NULL, NULL FROM rules_version
UNION ALL
SELECT 'server', NULL, quota_limit, period FROM guild_defaults WHERE guild_id = :guild
UNION ALL
SELECT 'role', role_id, quota_limit, period FROM role_limits WHERE guild_id = :guild
UNION ALL
SELECT 'user', user_id, quota_limit, period FROM user_limits WHERE guild_id = :guild
UNION ALL
SELECT 'budget', NULL, limit_micros, period FROM guild_budgets WHERE guild_id = :guild
"""

_RULES_CURRENT = "(SELECT version FROM rules_version) = :rules_version"

# The check and the insert are one statement. SQLite takes the database's write
# lock when a writing statement starts, before it reads anything, so no other
# statement on any connection or process can slip in between the SUM and the
# INSERT: concurrent reservations can never spend more than the limit. The
# rules_version condition makes the limit itself part of the same snapshot.
#
# Money caps ride in the same statement. The request's estimate (:cost, in
# micro-dollars) is stored on the row (cost_reserved_usd) and counts against the
# caps while the row is open; once settled the row counts its billed cost instead.
# Each cap's running total for its current period is one "cap row" in ledger_days
# (day CAP_ROWS; scope -1 for the bot, the server's id for a budget), kept by triggers
# inside the same statements that change the ledger, so a check reads one row however
# long the ledger. A total of an earlier period (no edit yet in the current one) reads
# as 0. Without a cap the condition is one IS NULL test.
_RESERVE_NO_CAPS_SQL = f"""
INSERT INTO ledger (guild_id, user_id, model, images_reserved, status, rule, rule_detail,
                    quota_limit, period, created_at, owner, prompt, alive_at, cost_reserved_usd)
SELECT :guild, :user, :model, :images, 'reserved', :rule, :rule_detail,
       :limit, :period, :now, :owner, :prompt, :now, :cost_usd
 WHERE {_RULES_CURRENT}
   AND (:limit = -1
        OR :images + (SELECT COALESCE(SUM({_COUNTED.format(t="")}), 0)
                        FROM ledger
                       WHERE guild_id = :guild AND user_id = :user
                         AND created_at >= :start AND reset_at IS NULL)
           <= :limit)
   AND (:global_limit IS NULL
        OR :images + COALESCE((SELECT images FROM ledger_days WHERE day = :day AND scope = -1), 0)
           <= :global_limit)
RETURNING id
"""

# The same with the money caps (used only while one applies: fewer values to bind and
# conditions to test on the common path).
_RESERVE_SQL = _RESERVE_NO_CAPS_SQL.replace(
    "RETURNING id",
    f"""  AND (:budget IS NULL
        OR :cost + COALESCE((SELECT CASE WHEN period_start = :budget_start THEN spend_micros ELSE 0 END
                               FROM ledger_days WHERE day = {CAP_ROWS} AND scope = :guild), 0)
           <= :budget)
   AND (:spend_limit IS NULL
        OR :cost + COALESCE((SELECT CASE WHEN period_start = :spend_start THEN spend_micros ELSE 0 END
                               FROM ledger_days WHERE day = {CAP_ROWS} AND scope = -1), 0)
           <= :spend_limit)
RETURNING id""",
)

# A server's spend since :start read from the ledger itself, for servers without a
# budget (only a cap keeps a running total): reports, not reservations.
_GUILD_SPEND_SQL = """
SELECT COALESCE(SUM(spend_micros), 0) FROM ledger WHERE guild_id = :guild AND created_at >= :start
"""

# What counts against the money caps now: the server's budget and the bot's cap.
_SPEND_SQL = f"""
SELECT COALESCE((SELECT CASE WHEN period_start = :budget_start THEN spend_micros ELSE 0 END
                   FROM ledger_days WHERE day = {CAP_ROWS} AND scope = :guild), 0),
       COALESCE((SELECT CASE WHEN period_start = :spend_start THEN spend_micros ELSE 0 END
                   FROM ledger_days WHERE day = {CAP_ROWS} AND scope = -1), 0)
"""

# The bot-wide cap's row, (re)built from the ledger when the store starts with the cap
# on (its period may have changed, or edits were made while it was off): the rows of
# the current period, found by id from the day summary instead of a scan.
_GLOBAL_CAP_SQL = f"""
INSERT INTO ledger_days (day, scope, period, period_start, period_end, spend_micros)
VALUES ({CAP_ROWS}, -1, :period, :start, :end,
        (SELECT COALESCE(SUM(spend_micros), 0) FROM ledger
          WHERE id >= COALESCE((SELECT MIN(first_id) FROM ledger_days
                                 WHERE day >= :start AND day < {CAP_ROWS} AND scope = -1),
                               (SELECT COALESCE(MAX(id), 0) + 1 FROM ledger))
            AND created_at >= :start * 86400))
ON CONFLICT (day, scope) DO UPDATE
   SET period = excluded.period, period_start = excluded.period_start,
       period_end = excluded.period_end, spend_micros = excluded.spend_micros
"""

_USAGE_SQL = f"""
SELECT (SELECT version FROM rules_version),
       COALESCE(SUM(CASE WHEN reset_at IS NULL THEN {_COUNTED.format(t="")} END), 0),
       COALESCE(SUM(CASE WHEN reset_at IS NULL AND status = 'reserved' THEN images_reserved END), 0),
       COALESCE(SUM(CASE WHEN status = 'committed' THEN images_delivered END), 0),
       COALESCE(SUM(input_tokens), 0),
       COALESCE(SUM(output_tokens), 0),
       COALESCE(SUM(total_tokens), 0),
       COALESCE(SUM(cost_usd), 0.0),
       COALESCE((SELECT images FROM ledger_days WHERE day = :day AND scope = -1), 0)
  FROM ledger
 WHERE guild_id = :guild AND user_id = :user AND created_at >= :start
"""

_RESET_SQL = f"""
UPDATE ledger SET reset_at = :now
 WHERE guild_id = :guild AND user_id = :user AND created_at >= :start
   AND reset_at IS NULL AND status != 'refunded' AND {_RULES_CURRENT}
RETURNING {_COUNTED.format(t="")}
"""

# Settling only rows still 'reserved' is what makes commit, refund and the
# releases idempotent: whichever settles a row first wins, the rest change nothing.
_COMMIT_SQL = """
UPDATE ledger
   SET status = 'committed', images_delivered = ?, input_tokens = ?, output_tokens = ?,
       total_tokens = ?, cost_usd = ?, settled_at = ?
 WHERE id = ? AND status = 'reserved'
RETURNING id
"""

# A refund gives the images back but keeps what the provider billed, if anything:
# spend reports and caps must see the real bill even when the member pays nothing.
_REFUND_SQL = """
UPDATE ledger SET status = 'refunded', images_delivered = 0, refund_reason = ?, settled_at = ?,
                  input_tokens = ?, output_tokens = ?, total_tokens = ?, cost_usd = ?
 WHERE id = ? AND status = 'reserved'
RETURNING id
"""

# Signs of life for the reservations of edits that are still alive in this process.
_TOUCH_SQL = """
UPDATE ledger SET alive_at = :now
 WHERE id IN (SELECT value FROM json_each(:ids)) AND status = 'reserved'
"""

# Open rows can only lie at or after the first id of the oldest day that still
# has open reservations (normally today), so crash recovery reads that id range
# of the primary key, not the whole ledger, without an index that every
# reservation would have to maintain.
_OPEN_ROWS = """
status = 'reserved'
AND id >= (SELECT MIN(first_id) FROM ledger_days WHERE open_reservations > 0)
"""

_RELEASE_STALE_SQL = f"""
UPDATE ledger SET status = 'refunded', images_delivered = 0, refund_reason = :reason,
                  settled_at = :now
 WHERE {_OPEN_ROWS} AND COALESCE(alive_at, created_at) < :cutoff
RETURNING id
"""

_RELEASE_ABANDONED_SQL = f"""
UPDATE ledger SET status = 'refunded', images_delivered = 0, refund_reason = :reason,
                  settled_at = :now
 WHERE {_OPEN_ROWS} AND owner != :owner
RETURNING id
"""

# Both databases read these as written (aggregate FILTER: SQLite 3.30+, PostgreSQL).
_REPORT_ROWS_SQL = """
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
"""

_REPORT_TOTALS_SQL = f"""
SELECT COUNT(DISTINCT user_id),
       COALESCE(SUM(CASE WHEN status = 'committed' THEN images_delivered END), 0),
       COUNT(*),
       COUNT(*) FILTER (WHERE status = 'refunded'),
       COALESCE(SUM(total_tokens), 0),
       COALESCE(SUM(cost_usd), 0.0),
       COUNT(*) FILTER (WHERE refund_reason = '{CANCELLED_RUNNING_REASON}')
  FROM ledger
 WHERE guild_id = :guild AND created_at >= :start AND created_at < :end
"""

# Rule tables: (table, key column or None for the per-guild default).
_USER_RULES = ("user_limits", "user_id")
_ROLE_RULES = ("role_limits", "role_id")
_GUILD_RULES = ("guild_defaults", None)

# A commit recorded late (from the commit journal, after a restart or a long lock) also
# settles a row that crash recovery or the stale release refunded meanwhile: the images
# reached Discord, so they count (never a refund for an image a member received).
_LATE_COMMIT_SQL = _COMMIT_SQL.replace(
    "WHERE id = ? AND status = 'reserved'",
    f"WHERE id = ? AND (status = 'reserved' OR (status = 'refunded' AND refund_reason IN ('{STALE_REASON}', '{ABANDONED_REASON}')))",
)


@dataclass(frozen=True, slots=True)
class _Statements:
    reserve: str
    reserve_no_caps: str
    guild_spend: str
    global_cap: str
    touch: str
    usage: str
    global_usage: str


_SQLITE = _Statements(
    reserve=_RESERVE_SQL,
    reserve_no_caps=_RESERVE_NO_CAPS_SQL,
    guild_spend=_GUILD_SPEND_SQL,
    global_cap=_GLOBAL_CAP_SQL,
    touch=_TOUCH_SQL,
    usage=_USAGE_SQL,
    global_usage="SELECT images FROM ledger_days WHERE day = :day AND scope = -1",
)

_POSTGRES = _Statements(
    reserve=pg.RESERVE_SQL,
    reserve_no_caps=pg.RESERVE_SQL,
    guild_spend=pg.GUILD_SPEND_SQL,
    global_cap=pg.GLOBAL_CAP_SQL,
    touch=pg.TOUCH_SQL,
    usage=pg.usage_sql(_USAGE_SQL),
    global_usage=pg.GLOBAL_USAGE_SQL,
)

# Parameters the PostgreSQL reservation always takes (SQLite's statement without caps
# does not mention them).
_NO_CAPS = {"budget": None, "budget_start": 0, "spend_limit": None, "spend_start": 0, "cost": 0}


def _guild(guild_id: int | None) -> int:
    # Direct messages have no guild; they share the id 0 and the bot default.
    return 0 if guild_id is None else guild_id


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_limit(limit: int) -> None:
    if not _is_int(limit) or not UNLIMITED <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be an integer from {UNLIMITED} (unlimited) to {MAX_LIMIT}, not {limit!r}")


def _check_period(period: str) -> None:
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")


def _check_usd(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_BUDGET_USD:
        raise ValueError(f"{name} must be a number of US dollars from 0 to {MAX_BUDGET_USD:,}, not {value!r}")


def _check_bill(cost_usd: float | None, **counts: int | None) -> None:
    """What the provider billed, as a commit or refund records it: counts and a cost, each
    non-negative or None (unknown)."""
    for name, value in counts.items():
        if value is not None and (not _is_int(value) or value < 0):
            raise ValueError(f"{name} must be a non-negative integer or None, not {value!r}")
    if cost_usd is not None and not cost_usd >= 0:
        raise ValueError(f"cost_usd must be a non-negative number or None, not {cost_usd!r}")


def _dt(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


class QuotaStore:
    """Quota rules and the usage ledger over one shared aiosqlite connection, or a
    PostgreSQL pool (a bot/store/backend.py Database; a bare aiosqlite connection is taken
    as one).

    `owner` identifies this process (a boot id); `release_abandoned` refunds
    reservations left open by any other owner. `default_limit`/`default_period`
    are the bot-wide default (QUOTA_DEFAULT_LIMIT / QUOTA_DEFAULT_PERIOD).
    `global_daily_limit` caps images per UTC day across all servers (None: no cap).
    Prompts are stored only with `store_prompts=True`. `clock` must return aware
    datetimes; tests inject one to cross period boundaries.

    Each server's rules are cached in memory, tagged with the database's
    rules_version; every statement that depends on them checks that version,
    so a change made anywhere applies to the very next reservation.
    """

    # How often an operation re-reads changed rules before settling for what
    # it has: rules change when a moderator acts, not several times a second.
    _ATTEMPTS = 4

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
        _check_limit(default_limit)
        _check_period(default_period)
        _check_period(global_spend_period)
        if global_daily_limit is not None and (not _is_int(global_daily_limit) or global_daily_limit < 0):
            raise ValueError(f"global_daily_limit must be a non-negative integer or None, not {global_daily_limit!r}")
        if global_spend_limit_usd is not None:
            _check_usd("global_spend_limit_usd", global_spend_limit_usd)
        if not owner:
            raise ValueError("owner must be a non-empty string identifying this process")
        self._db = as_database(conn)
        self.dialect = self._db.dialect
        self._sql = _SQLITE if self.dialect == "sqlite" else _POSTGRES
        self._fetch = self._db.fetchall
        self.owner = owner
        self.default_limit = default_limit
        self.default_period = default_period
        self.global_daily_limit = global_daily_limit
        self.global_spend_limit = None if global_spend_limit_usd is None else to_micros(global_spend_limit_usd)
        self.global_spend_period: Period = global_spend_period
        self.store_prompts = store_prompts
        self._clock = clock
        self._rules: dict[int, RuleSet] = {}
        self._rules_version = -1
        self._global_cap_ready = False
        self._global_cap_lock = asyncio.Lock()

    # -- helpers ---------------------------------------------------------------

    async def _fetchall(self, sql: str, params: dict[str, Any] | tuple[Any, ...] = ()) -> list[Any]:
        # SQLite: one round trip to the connection's thread; the cursor is created and
        # dropped there, so there is no cursor to close (a second round trip).
        return await self._fetch(sql, params)  # type: ignore[return-value]

    async def _fetchone(self, sql: str, params: dict[str, Any] | tuple[Any, ...] = ()) -> Any:
        rows = await self._fetchall(sql, params)
        return rows[0] if rows else None

    async def _guild_rules(self, guild: int, *, fresh: bool = False) -> RuleSet:
        cached = self._rules.get(guild)
        if cached is not None and not fresh:
            return cached
        rows = await self._fetchall(_RULES_SQL, {"guild": guild})
        version = next(r[1] for r in rows if r[0] == "version")
        rules = RuleSet(
            version=version,
            default=next(((r[2], r[3]) for r in rows if r[0] == "server"), None),
            roles={r[1]: (r[2], r[3]) for r in rows if r[0] == "role"},
            users={r[1]: (r[2], r[3]) for r in rows if r[0] == "user"},
            budget=next(((r[2], r[3]) for r in rows if r[0] == "budget"), None),
        )
        if version != self._rules_version:
            # Some rule changed somewhere (or the database was restored): every
            # cached server may be out of date.
            self._rules.clear()
            self._rules_version = version
        self._rules[guild] = rules
        return rules

    def now(self) -> float:
        """The store's clock, as Unix seconds."""
        return self._clock().timestamp()

    @property
    def shared(self) -> bool:
        """Whether other bot processes may use this database at the same time (PostgreSQL)."""
        return self.dialect != "sqlite"

    def _forget_rules(self) -> None:
        self._rules.clear()

    def _effective(self, rules: RuleSet, user_id: int, role_ids: Iterable[int]) -> EffectiveLimit:
        return rules.resolve(user_id, role_ids, (self.default_limit, self.default_period))

    def _window(
        self, guild: int, user_id: int, rules: RuleSet, effective: EffectiveLimit, now: Instant
    ) -> dict[str, Any]:
        """Parameters naming the member's current period under `effective`."""
        return {
            "guild": guild,
            "user": user_id,
            "start": now.start(effective.period),
            "day": now.day,
            "now": now.timestamp,
            "rules_version": rules.version,
        }

    # -- rules -----------------------------------------------------------------

    async def effective_limit(
        self, guild_id: int | None, user_id: int, role_ids: Iterable[int] = ()
    ) -> EffectiveLimit:
        rules = await self._guild_rules(_guild(guild_id), fresh=True)
        return self._effective(rules, user_id, role_ids)

    async def set_user_limit(
        self, guild_id: int | None, user_id: int, limit: int, period: Period | None = None
    ) -> LimitRule:
        """Override one member's limit. Without a period, the server's period is used."""
        return await self._set_rule(_USER_RULES, _guild(guild_id), user_id, limit, period)

    async def clear_user_limit(self, guild_id: int | None, user_id: int) -> bool:
        return await self._clear_rule(_USER_RULES, _guild(guild_id), user_id)

    async def set_role_limit(
        self, guild_id: int | None, role_id: int, limit: int, period: Period | None = None
    ) -> LimitRule:
        """Limit members holding a role. Without a period, the server's period is used."""
        return await self._set_rule(_ROLE_RULES, _guild(guild_id), role_id, limit, period)

    async def clear_role_limit(self, guild_id: int | None, role_id: int) -> bool:
        return await self._clear_rule(_ROLE_RULES, _guild(guild_id), role_id)

    async def set_guild_default(self, guild_id: int | None, limit: int, period: Period | None = None) -> LimitRule:
        """Set the server-wide per-member limit. Without a period, the current one is kept."""
        return await self._set_rule(_GUILD_RULES, _guild(guild_id), None, limit, period)

    async def clear_guild_default(self, guild_id: int | None) -> bool:
        return await self._clear_rule(_GUILD_RULES, _guild(guild_id), None)

    async def _server_period(self, guild: int) -> Period:
        row = await self._fetchone("SELECT period FROM guild_defaults WHERE guild_id = ?", (guild,))
        return row[0] if row else self.default_period

    async def _set_rule(
        self, rules: tuple[str, str | None], guild: int, key_id: int | None, limit: int, period: Period | None
    ) -> LimitRule:
        _check_limit(limit)
        if period is None:
            period = await self._server_period(guild)
        _check_period(period)
        table, key = rules
        keys = "guild_id" + (f", {key}" if key else "")
        values = (guild, key_id) if key else (guild,)
        now = Instant.read(self._clock)
        # Table and column names come from the constants above, never from input.
        try:
            await self._fetchall(
                f"INSERT INTO {table} ({keys}, quota_limit, period, updated_at) "
                f"VALUES ({', '.join('?' * len(values))}, ?, ?, ?) "
                f"ON CONFLICT ({keys}) DO UPDATE SET quota_limit = excluded.quota_limit, "
                "period = excluded.period, updated_at = excluded.updated_at",
                (*values, limit, period, now.timestamp),
            )
        finally:
            self._forget_rules()
        return LimitRule(limit, period, _dt(now.timestamp))

    async def _clear_rule(self, rules: tuple[str, str | None], guild: int, key_id: int | None) -> bool:
        table, key = rules
        where = "guild_id = ?" + (f" AND {key} = ?" if key else "")
        params = (guild, key_id) if key else (guild,)
        try:
            return bool(await self._fetchall(f"DELETE FROM {table} WHERE {where} RETURNING guild_id", params))
        finally:
            self._forget_rules()

    async def list_rules(self, guild_id: int | None) -> GuildRules:
        guild = _guild(guild_id)
        default = await self._fetchone(
            "SELECT quota_limit, period, updated_at FROM guild_defaults WHERE guild_id = ?", (guild,)
        )
        roles = await self._fetchall(
            "SELECT role_id, quota_limit, period, updated_at FROM role_limits WHERE guild_id = ? ORDER BY role_id",
            (guild,),
        )
        users = await self._fetchall(
            "SELECT user_id, quota_limit, period, updated_at FROM user_limits WHERE guild_id = ? ORDER BY user_id",
            (guild,),
        )
        return GuildRules(
            guild_id=guild,
            default=LimitRule(default[0], default[1], _dt(default[2])) if default else None,
            roles=tuple(RoleLimit(r[0], r[1], r[2], _dt(r[3])) for r in roles),
            users=tuple(UserLimit(u[0], u[1], u[2], _dt(u[3])) for u in users),
            bot_default_limit=self.default_limit,
            bot_default_period=self.default_period,
        )

    # -- reservations ------------------------------------------------------------

    async def reserve(
        self,
        guild_id: int | None,
        user_id: int,
        role_ids: Iterable[int],
        images: int,
        *,
        model: str,
        prompt: str | None = None,
        cost_usd: float | None = None,
    ) -> Reservation | QuotaExceeded | SpendCapReached:
        """Hold `images` of the member's quota and `cost_usd` of the money caps, or explain why not.

        Refused (QuotaExceeded, returned not raised): not enough quota left, a
        request larger than the whole limit, a blocked member (limit 0), or the
        bot-wide daily budget. Refused (SpendCapReached): the estimate does not fit
        the server's budget or the bot-wide spend cap, or there is no estimate
        (`cost_usd` None: the model has no price) while a money cap applies.
        `prompt` is kept only with store_prompts=True.
        """
        if not _is_int(images) or not 1 <= images <= MAX_LIMIT:
            raise ValueError(f"images must be an integer from 1 to {MAX_LIMIT}, not {images!r}")
        if cost_usd is not None:
            _check_usd("cost_usd", cost_usd)
        if not self._global_cap_ready:
            await self._prepare_global_cap()
        cost = None if cost_usd is None else to_micros(cost_usd)
        guild = _guild(guild_id)
        role_ids = tuple(role_ids)
        refusal: QuotaExceeded | SpendCapReached | None = None
        for _ in range(self._ATTEMPTS):
            now = Instant.read(self._clock)
            rules = await self._guild_rules(guild)
            effective = self._effective(rules, user_id, role_ids)
            params = self._window(guild, user_id, rules, effective, now)
            capped = rules.budget is not None or self.global_spend_limit is not None
            if capped:
                params.update(self._spend_window(rules, now))
                params["cost"] = cost or 0
                if cost is None:
                    # A cap we cannot check this request against: refuse rather than
                    # guess (after making sure the cached rules still hold).
                    current = await self._guild_rules(guild, fresh=True)
                    if current.version != rules.version:
                        continue
                    refusal = self._spend_refusal(await self._spend_caps(guild, current, now), None)
                    if refusal is not None:
                        return refusal
                    continue
            params["images"] = images
            params["model"] = model
            params["rule"] = effective.rule.value
            params["rule_detail"] = effective.rule_detail
            params["limit"] = effective.limit
            params["period"] = effective.period
            params["owner"] = self.owner
            params["prompt"] = prompt if self.store_prompts else None
            params["global_limit"] = self.global_daily_limit
            params["cost_usd"] = None if cost is None else to_usd(cost)
            if capped:
                row = await self._fetchone(self._sql.reserve, params)
            else:
                if self.dialect != "sqlite":
                    params.update(_NO_CAPS)
                row = await self._fetchone(self._sql.reserve_no_caps, params)
            if row is not None and row[0] is not None:
                return Reservation(
                    id=row[0],
                    guild_id=guild,
                    user_id=user_id,
                    images=images,
                    model=model,
                    created_at=now.at,
                    limit=effective.limit,
                    period=effective.period,
                    rule=effective.rule,
                    rule_detail=effective.rule_detail,
                    resets_at=now.resets_at(effective.period),
                )
            # Nothing was inserted: the rules changed, or the quota or a budget is
            # spent. A second read tells which; if quota was freed in between
            # (a refund landed), the request may fit after all: try again.
            usage, global_used = await self._usage(guild, user_id, rules, effective, now)
            if usage is None:
                await self._guild_rules(guild, fresh=True)
                continue
            refusal = self._refusal(usage, global_used, images, now)
            if refusal is None:
                refusal = self._spend_refusal(await self._spend_caps(guild, rules, now), cost)
            if refusal is not None:
                return refusal
        if refusal is None:
            # The rules kept changing under us; explain with whatever holds now.
            usage_now = await self.usage_for(guild, user_id, role_ids)
            rules = await self._guild_rules(guild, fresh=True)
            refusal = (
                self._refusal(usage_now, 0, images, now)
                or self._spend_refusal(await self._spend_caps(guild, rules, now), cost)
                or self._member_refusal(usage_now, images)
            )
        return refusal

    async def refusal_for(
        self,
        guild_id: int | None,
        user_id: int,
        role_ids: Iterable[int],
        images: int,
        *,
        cost_usd: float | None = None,
    ) -> QuotaExceeded | SpendCapReached | None:
        """Why `reserve` would refuse this request now, or None when it would fit.

        Only reads: nothing is held, so the answer can change before a reservation
        (which decides for real); used to spare a member a question about an edit
        that cannot run anyway."""
        guild = _guild(guild_id)
        role_ids = tuple(role_ids)
        cost = None if cost_usd is None else to_micros(cost_usd)
        if not self._global_cap_ready:
            await self._prepare_global_cap()
        for attempt in range(self._ATTEMPTS):
            now = Instant.read(self._clock)
            rules = await self._guild_rules(guild, fresh=attempt > 0)
            effective = self._effective(rules, user_id, role_ids)
            usage, global_used = await self._usage(guild, user_id, rules, effective, now)
            if usage is None:
                continue
            return self._refusal(usage, global_used, images, now) or self._spend_refusal(
                await self._spend_caps(guild, rules, now), cost
            )
        return None

    # -- money caps --------------------------------------------------------------

    async def _prepare_global_cap(self) -> None:
        """Once per store, before the first money check: the bot-wide cap's row matches
        the configured cap (built from the ledger), or is gone when there is no cap."""
        async with self._global_cap_lock:
            if self._global_cap_ready:
                return
            if self.global_spend_limit is None:
                await self._fetchall(f"DELETE FROM ledger_days WHERE day = {CAP_ROWS} AND scope = -1")
            else:
                now = Instant.read(self._clock)
                period = self.global_spend_period
                params = {
                    "period": period,
                    "start": int(now.start(period) // 86400),
                    "end": int(now.resets_at(period).timestamp() // 86400),
                }
                if self.dialect == "sqlite":
                    await self._fetchall(_GLOBAL_CAP_SQL, params)
                else:
                    # Other processes keep writing the ledger: hold their writes for the
                    # sum, so none falls between the sum and the row.
                    await self._db.fetch_locked(pg.LEDGER_WRITE_LOCK, (), pg.GLOBAL_CAP_SQL, params)  # type: ignore[attr-defined]
            self._global_cap_ready = True

    def _spend_window(self, rules: RuleSet, now: Instant) -> dict[str, Any]:
        """Parameters naming the money caps that apply and the first days of their periods."""
        budget, budget_period = rules.budget if rules.budget is not None else (None, "month")
        return {
            "budget": budget,
            "budget_start": int(now.start(budget_period) // 86400),
            "spend_limit": self.global_spend_limit,
            "spend_start": int(now.start(self.global_spend_period) // 86400),
        }

    async def _spend_caps(self, guild: int, rules: RuleSet, now: Instant) -> tuple[SpendCap | None, SpendCap | None, int]:
        """(the server's cap, the bot-wide cap, the server's spend this budget period)."""
        window = self._spend_window(rules, now)
        row = await self._fetchone(_SPEND_SQL, {"guild": guild, **window})
        server_spent, global_spent = row[0], row[1]
        server = None
        if rules.budget is not None:
            limit, period = rules.budget
            server = SpendCap("server", limit, server_spent, period, now.resets_at(period))
        bot_wide = None
        if self.global_spend_limit is not None:
            period = self.global_spend_period
            bot_wide = SpendCap("global", self.global_spend_limit, global_spent, period, now.resets_at(period))
        return server, bot_wide, server_spent

    @staticmethod
    def _spend_refusal(caps: tuple[SpendCap | None, SpendCap | None, int], cost: int | None) -> SpendCapReached | None:
        """Which cap `cost` does not fit (a missing estimate fits none), or None."""
        for cap in caps[:2]:
            if cap is not None and (cost is None or cap.spent_micros + cost > cap.limit_micros):
                return SpendCapReached(cap, None if cost is None else to_usd(cost))
        return None

    async def spend_status(self, guild_id: int | None) -> SpendStatus:
        """Spend against the server's budget and the bot-wide cap, for reports."""
        if not self._global_cap_ready:
            await self._prepare_global_cap()
        guild = _guild(guild_id)
        now = Instant.read(self._clock)
        rules = await self._guild_rules(guild, fresh=True)
        server, bot_wide, server_spent = await self._spend_caps(guild, rules, now)
        period: Period = rules.budget[1] if rules.budget is not None else "month"
        if rules.budget is None:
            row = await self._fetchone(self._sql.guild_spend, {"guild": guild, "start": now.start(period)})
            server_spent = row[0]
        return SpendStatus(server, bot_wide, server_spent, period, now.resets_at(period))

    async def budget(self, guild_id: int | None) -> Budget | None:
        row = await self._fetchone(
            "SELECT limit_micros, period, updated_at FROM guild_budgets WHERE guild_id = ?", (_guild(guild_id),)
        )
        return Budget(to_usd(row[0]), row[1], _dt(row[2])) if row else None

    async def set_budget(self, guild_id: int | None, limit_usd: float, period: Period | None = None) -> Budget:
        """Cap the server's estimated spend per period. Without a period the current
        budget's is kept (a month for a new budget). Applies to the very next reservation."""
        _check_usd("limit_usd", limit_usd)
        guild = _guild(guild_id)
        if period is None:
            current = await self.budget(guild)
            period = current.period if current is not None else "month"
        _check_period(period)
        now = self._clock().timestamp()
        try:
            # A new budget (or a new period) sums what the server spent so far in its
            # current period from the ledger (a trigger, in this same statement).
            sql = (
                "INSERT INTO guild_budgets (guild_id, limit_micros, period, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (guild_id) DO UPDATE SET limit_micros = excluded.limit_micros, "
                "period = excluded.period, updated_at = excluded.updated_at "
                "RETURNING limit_micros, period, updated_at"
            )
            params = (guild, to_micros(limit_usd), period, now)
            if self.dialect == "sqlite":
                row = await self._fetchone(sql, params)
            else:
                # The trigger's sum must not miss a reservation another process is
                # writing in this server right now (it does not know of the budget yet).
                rows = await self._db.fetch_locked(pg.LEDGER_WRITE_LOCK, (), sql, params)  # type: ignore[attr-defined]
                row = rows[0]
        finally:
            self._forget_rules()
        return Budget(to_usd(row[0]), row[1], _dt(row[2]))

    async def clear_budget(self, guild_id: int | None) -> bool:
        try:
            return bool(await self._fetchall("DELETE FROM guild_budgets WHERE guild_id = ? RETURNING guild_id", (_guild(guild_id),)))
        finally:
            self._forget_rules()

    def _member_refusal(self, usage: MemberUsage, images: int) -> QuotaExceeded:
        return QuotaExceeded(
            limit=usage.limit,
            used=usage.used,
            remaining=usage.remaining or 0,
            resets_at=usage.resets_at,
            rule=usage.rule,
            images_requested=images,
            rule_detail=usage.rule_detail,
            period=usage.period,
            reserved_in_flight=usage.reserved_in_flight,
        )

    def _refusal(self, usage: MemberUsage, global_used: int, images: int, now: Instant) -> QuotaExceeded | None:
        """Why `images` more do not fit, or None if they do."""
        if usage.limit != UNLIMITED and usage.used + images > usage.limit:
            return self._member_refusal(usage, images)
        budget = self.global_daily_limit
        if budget is not None and global_used + images > budget:
            return QuotaExceeded(
                limit=budget,
                used=global_used,
                remaining=max(0, budget - global_used),
                resets_at=now.resets_at("day"),
                rule=Rule.GLOBAL_BUDGET,
                images_requested=images,
                period="day",
            )
        return None

    async def commit(
        self,
        reservation: Reservation,
        delivered_images: int,
        *,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        total_tokens: int | None = None,
        cost_usd: float | None = None,
    ) -> bool:
        """Record what was delivered; reserved images not delivered stop counting.

        Returns False, changing nothing, if the reservation was already settled
        (committed, refunded, or released as stale or abandoned).
        """
        if not _is_int(delivered_images) or not 0 <= delivered_images <= reservation.images:
            raise ValueError(
                f"delivered_images must be from 0 to the {reservation.images} reserved, not {delivered_images!r}"
            )
        return await self.commit_row(
            reservation.id,
            delivered_images,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=total_tokens,
            cost_usd=cost_usd,
        )

    async def commit_row(
        self,
        reservation_id: int,
        delivered_images: int,
        *,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        total_tokens: int | None = None,
        cost_usd: float | None = None,
        late: bool = False,
    ) -> bool:
        """`commit` by row id, for commits recorded before a restart (the schema
        still refuses more delivered images than were reserved). `late=True` (the commit
        journal) also settles a row that was released as stale or abandoned meanwhile."""
        if not _is_int(delivered_images) or delivered_images < 0:
            raise ValueError(f"delivered_images must be a non-negative integer, not {delivered_images!r}")
        _check_bill(cost_usd, input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=total_tokens)
        now = self._clock().timestamp()
        params = (delivered_images, input_tokens, output_tokens, total_tokens, cost_usd, now, reservation_id)
        return bool(await self._fetchall(_LATE_COMMIT_SQL if late else _COMMIT_SQL, params))

    async def refund(
        self,
        reservation: Reservation,
        reason: str,
        *,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        total_tokens: int | None = None,
        cost_usd: float | None = None,
    ) -> bool:
        """Give all reserved images back, recording what the provider billed if it did.

        Returns False if already settled."""
        _check_bill(cost_usd, input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=total_tokens)
        now = self._clock().timestamp()
        params = (reason, now, input_tokens, output_tokens, total_tokens, cost_usd, reservation.id)
        return bool(await self._fetchall(_REFUND_SQL, params))

    async def touch(self, reservation_ids: Iterable[int]) -> None:
        """Record a sign of life for open reservations whose edits are still alive."""
        ids = sorted(set(reservation_ids))
        if ids:
            await self._fetchall(
                self._sql.touch, {"now": self._clock().timestamp(), "ids": json.dumps(ids) if self.dialect == "sqlite" else ids}
            )

    async def edit_requester(self, edit_id: int) -> int | None:
        """The member an edit (a ledger row) was made for, or None if there is no such row."""
        row = await self._fetchone("SELECT user_id FROM ledger WHERE id = ?", (edit_id,))
        return row[0] if row else None

    async def release_stale(self, older_than_seconds: float) -> int:
        """Refund reservations with no sign of life for longer than any request can
        run: their edit died without settling (a crash, a bug). Live edits refresh
        theirs with `touch`. The bot passes STALE_RESERVATION_SECONDS
        (IMAGE_API_TIMEOUT + 60 by default). Returns how many."""
        now = self._clock().timestamp()
        rows = await self._fetchall(
            _RELEASE_STALE_SQL, {"reason": STALE_REASON, "now": now, "cutoff": now - older_than_seconds}
        )
        return len(rows)

    async def release_abandoned(self, current_owner: str | None = None) -> int:
        """Refund every open reservation made by a process that is gone. Returns how many.

        SQLite: every other owner's, which is only safe while this process holds the
        exclusive lock on the database (bot/ops/instance_lock.py): it proves that no
        other instance is still working on them. PostgreSQL, shared by several
        processes: only the rows of owners whose liveness lock nobody holds any more
        (bot/store/postgres.py); a running process's reservations are never touched.
        """
        owner = current_owner or self.owner
        params: dict[str, Any] = {"reason": ABANDONED_REASON, "now": self._clock().timestamp(), "owner": owner}
        if self.dialect == "sqlite":
            return len(await self._fetchall(_RELEASE_ABANDONED_SQL, params))
        from bot.store.postgres import dead_owners

        owners = [r[0] for r in await self._fetchall(pg.OPEN_OWNERS_SQL, {"owner": owner})]
        dead = await dead_owners(self._db, owners) if owners else []  # type: ignore[arg-type]
        if not dead:
            return 0
        params["owners"] = dead
        return len(await self._fetchall(pg.RELEASE_OWNERS_SQL, params))

    async def reset_user(self, guild_id: int | None, user_id: int, role_ids: Iterable[int] = ()) -> int:
        """Clear the member's usage in the current period of their effective rule.

        Rows stay in the ledger and in reports but are marked reset and stop
        counting, including requests still running. Returns the images given back.
        """
        guild = _guild(guild_id)
        role_ids = tuple(role_ids)
        for _ in range(self._ATTEMPTS):
            now = Instant.read(self._clock)
            rules = await self._guild_rules(guild, fresh=True)
            effective = self._effective(rules, user_id, role_ids)
            rows = await self._fetchall(_RESET_SQL, self._window(guild, user_id, rules, effective, now))
            if rows or (await self._fetchone("SELECT version FROM rules_version"))[0] == rules.version:
                return sum(r[0] or 0 for r in rows)
        raise RuntimeError("quota rules kept changing during reset; try again")

    # -- reads -----------------------------------------------------------------

    async def _usage(
        self, guild: int, user_id: int, rules: RuleSet, effective: EffectiveLimit, now: Instant
    ) -> tuple[MemberUsage | None, int]:
        """Usage under `effective`, or None if the rules changed since they were read."""
        row = await self._fetchone(self._sql.usage, self._window(guild, user_id, rules, effective, now))
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
            period_start=_dt(now.start(period)),
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
        guild = _guild(guild_id)
        role_ids = tuple(role_ids)
        for attempt in range(self._ATTEMPTS):
            now = Instant.read(self._clock)
            rules = await self._guild_rules(guild, fresh=attempt > 0)
            usage, _ = await self._usage(guild, user_id, rules, self._effective(rules, user_id, role_ids), now)
            if usage is not None:
                return usage
        raise RuntimeError("quota rules kept changing while reading usage; try again")

    async def global_usage(self) -> GlobalUsage:
        """Images reserved or delivered today (UTC) across all servers."""
        now = Instant.read(self._clock)
        row = await self._fetchone(self._sql.global_usage, {"day": now.day})
        used = row[0] if row else 0
        budget = self.global_daily_limit
        return GlobalUsage(
            limit=budget,
            used=used,
            remaining=None if budget is None else max(0, budget - used),
            resets_at=now.resets_at("day"),
        )

    async def report(
        self,
        guild_id: int | None,
        top: int = 10,
        *,
        period: Period | None = None,
        at: datetime | None = None,
    ) -> ServerReport:
        """Usage per member in one period, most images first.

        By default the current period of the server default (else the bot
        default); `at` picks the period containing another moment (last month).
        Images are delivered images; requests count every row, refunded included.
        """
        guild = _guild(guild_id)
        if period is None:
            period = await self._server_period(guild)
        _check_period(period)
        start, end = period_bounds(period, at if at is not None else self._clock())
        params = {"guild": guild, "start": start.timestamp(), "end": end.timestamp(), "top": max(0, top)}
        rows = await self._fetchall(_REPORT_ROWS_SQL, params)
        totals = await self._fetchone(_REPORT_TOTALS_SQL, params)
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
        )
