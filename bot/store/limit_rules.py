"""The quota limits moderators set (a server default, role limits, member overrides) and
the bot-wide default, with each server's rules cached for the statements that check them.

Every change bumps the database's `rules_version` (a trigger). The cache is tagged with
the version it was read at, and every statement that depends on the rules checks that
version (the `rules_current` fragment), so the cache can be out of date but never wrong:
a change made anywhere, by any process, applies to the very next reservation. Which rule
applies to a member is bot/store/limit_precedence.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.store.backend import Database
from bot.store.limit_precedence import RuleSet
from bot.store.models import EffectiveLimit, GuildRules, LimitRule, RoleLimit, UserLimit
from bot.store.periods import Clock, Instant, Period
from bot.store.quota_checks import check_limit, check_period, guild_key, moment

# One statement, so the version and the rules are one consistent snapshot.
RULES_SQL = """
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

_VERSION_SQL = "SELECT version FROM rules_version"
_SERVER_PERIOD_SQL = "SELECT period FROM guild_defaults WHERE guild_id = ?"

# Rule tables: (table, key column or None for the per-guild default). Statements name
# tables and columns from these constants only, never from input.
_USER_RULES = ("user_limits", "user_id")
_ROLE_RULES = ("role_limits", "role_id")
_GUILD_RULES = ("guild_defaults", None)


class LimitRules:
    """`default_limit`/`default_period` are the bot-wide default (QUOTA_DEFAULT_LIMIT /
    QUOTA_DEFAULT_PERIOD), which applies where a server set nothing."""

    def __init__(self, db: Database, *, clock: Clock, default_limit: int, default_period: Period) -> None:
        check_limit(default_limit)
        check_period(default_period)
        self._db = db
        self._clock = clock
        self.default_limit = default_limit
        self.default_period = default_period
        self._cache: dict[int, RuleSet] = {}
        self._version = -1

    # -- the cache -------------------------------------------------------------------

    async def rule_set(self, guild: int, *, fresh: bool = False) -> RuleSet:
        """The server's rules: cached, or read again with `fresh=True`."""
        cached = self._cache.get(guild)
        if cached is not None and not fresh:
            return cached
        rows = await self._db.fetchall(RULES_SQL, {"guild": guild})
        version = next(r[1] for r in rows if r[0] == "version")
        rules = RuleSet(
            version=version,
            default=next(((r[2], r[3]) for r in rows if r[0] == "server"), None),
            roles={r[1]: (r[2], r[3]) for r in rows if r[0] == "role"},
            users={r[1]: (r[2], r[3]) for r in rows if r[0] == "user"},
            budget=next(((r[2], r[3]) for r in rows if r[0] == "budget"), None),
        )
        if version != self._version:
            # Some rule changed somewhere (or the database was restored): every cached
            # server may be out of date.
            self._cache.clear()
            self._version = version
        self._cache[guild] = rules
        return rules

    async def version(self) -> int:
        """The database's rules_version now."""
        return (await self._db.fetchone(_VERSION_SQL))[0]

    def forget(self) -> None:
        """After a change made here: read every server's rules again."""
        self._cache.clear()

    def effective(self, rules: RuleSet, user_id: int, role_ids: Iterable[int]) -> EffectiveLimit:
        return rules.resolve(user_id, role_ids, (self.default_limit, self.default_period))

    async def effective_limit(self, guild_id: int | None, user_id: int, role_ids: Iterable[int] = ()) -> EffectiveLimit:
        rules = await self.rule_set(guild_key(guild_id), fresh=True)
        return self.effective(rules, user_id, role_ids)

    async def server_period(self, guild: int) -> Period:
        """The period of the server default, else the bot default's."""
        row = await self._db.fetchone(_SERVER_PERIOD_SQL, (guild,))
        return row[0] if row else self.default_period

    # -- changes ---------------------------------------------------------------------

    async def set_user_limit(self, guild_id: int | None, user_id: int, limit: int, period: Period | None = None) -> LimitRule:
        """Override one member's limit. Without a period, the server's period is used."""
        return await self._set(_USER_RULES, guild_key(guild_id), user_id, limit, period)

    async def clear_user_limit(self, guild_id: int | None, user_id: int) -> bool:
        return await self._clear(_USER_RULES, guild_key(guild_id), user_id)

    async def set_role_limit(self, guild_id: int | None, role_id: int, limit: int, period: Period | None = None) -> LimitRule:
        """Limit members holding a role. Without a period, the server's period is used."""
        return await self._set(_ROLE_RULES, guild_key(guild_id), role_id, limit, period)

    async def clear_role_limit(self, guild_id: int | None, role_id: int) -> bool:
        return await self._clear(_ROLE_RULES, guild_key(guild_id), role_id)

    async def set_guild_default(self, guild_id: int | None, limit: int, period: Period | None = None) -> LimitRule:
        """Set the server-wide per-member limit. Without a period, the current one is kept."""
        return await self._set(_GUILD_RULES, guild_key(guild_id), None, limit, period)

    async def clear_guild_default(self, guild_id: int | None) -> bool:
        return await self._clear(_GUILD_RULES, guild_key(guild_id), None)

    async def _set(self, rules: tuple[str, str | None], guild: int, key_id: int | None, limit: int, period: Period | None) -> LimitRule:
        check_limit(limit)
        if period is None:
            period = await self.server_period(guild)
        check_period(period)
        table, key = rules
        keys = "guild_id" + (f", {key}" if key else "")
        values: tuple[Any, ...] = (guild, key_id) if key else (guild,)
        now = Instant.read(self._clock)
        try:
            await self._db.fetchall(
                f"INSERT INTO {table} ({keys}, quota_limit, period, updated_at) "
                f"VALUES ({', '.join('?' * len(values))}, ?, ?, ?) "
                f"ON CONFLICT ({keys}) DO UPDATE SET quota_limit = excluded.quota_limit, "
                "period = excluded.period, updated_at = excluded.updated_at",
                (*values, limit, period, now.timestamp),
            )
        finally:
            self.forget()
        return LimitRule(limit, period, moment(now.timestamp))

    async def _clear(self, rules: tuple[str, str | None], guild: int, key_id: int | None) -> bool:
        table, key = rules
        where = "guild_id = ?" + (f" AND {key} = ?" if key else "")
        params = (guild, key_id) if key else (guild,)
        try:
            return bool(await self._db.fetchall(f"DELETE FROM {table} WHERE {where} RETURNING guild_id", params))
        finally:
            self.forget()

    # -- listing ---------------------------------------------------------------------

    async def list_rules(self, guild_id: int | None) -> GuildRules:
        guild = guild_key(guild_id)
        default = await self._db.fetchone(
            "SELECT quota_limit, period, updated_at FROM guild_defaults WHERE guild_id = ?", (guild,)
        )
        roles = await self._db.fetchall(
            "SELECT role_id, quota_limit, period, updated_at FROM role_limits WHERE guild_id = ? ORDER BY role_id",
            (guild,),
        )
        users = await self._db.fetchall(
            "SELECT user_id, quota_limit, period, updated_at FROM user_limits WHERE guild_id = ? ORDER BY user_id",
            (guild,),
        )
        return GuildRules(
            guild_id=guild,
            default=LimitRule(default[0], default[1], moment(default[2])) if default else None,
            roles=tuple(RoleLimit(r[0], r[1], r[2], moment(r[3])) for r in roles),
            users=tuple(UserLimit(u[0], u[1], u[2], moment(u[3])) for u in users),
            bot_default_limit=self.default_limit,
            bot_default_period=self.default_period,
        )
