"""What /quota's subcommands and /usage do: one change or look-up in the quota store,
answered with one Panel (no Discord types: the cogs translate their arguments)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.errors import UserFacingError
from bot.store.models import MemberUsage, ServerReport
from bot.store.periods import Period
from bot.text import quota_replies
from bot.text.panel import Panel

if TYPE_CHECKING:
    from bot.store.quota import QuotaStore

REPORT_ROWS = 15


@dataclass(frozen=True)
class Person:
    """A member, or a user who has left the server, as the quota rules see them."""

    user_id: int
    name: str
    role_ids: tuple[int, ...]


class QuotaActions:
    def __init__(self, store: "QuotaStore") -> None:
        self.store = store

    async def _usage(self, guild_id: int | None, who: Person) -> MemberUsage:
        return await self.store.usage_for(guild_id, who.user_id, who.role_ids)

    async def own_usage(self, guild_id: int | None, who: Person) -> Panel:
        return quota_replies.own_usage(await self._usage(guild_id, who))

    async def set_limit(self, guild_id: int, who: Person, limit: int, period: Period | None) -> Panel:
        rule = await self.store.set_user_limit(guild_id, who.user_id, limit, period)
        return quota_replies.member_limit_set(who.name, rule, await self._usage(guild_id, who))

    async def reset(self, guild_id: int, who: Person) -> Panel:
        cleared = await self.store.reset_user(guild_id, who.user_id, who.role_ids)
        return quota_replies.member_reset(who.name, cleared, await self._usage(guild_id, who))

    async def set_default(self, guild_id: int, limit: int, period: Period | None) -> Panel:
        return quota_replies.server_default_set(await self.store.set_guild_default(guild_id, limit, period))

    async def set_role_limit(self, guild_id: int, role_id: int, limit: int, period: Period | None) -> Panel:
        if role_id == guild_id:  # @everyone's role has the server's ID
            raise UserFacingError(quota_replies.EVERYONE_ROLE)
        return quota_replies.role_limit_set(role_id, await self.store.set_role_limit(guild_id, role_id, limit, period))

    async def clear(self, guild_id: int, *, who: Person | None, role_id: int | None, server_default: bool) -> Panel:
        if [who is not None, role_id is not None, server_default].count(True) != 1:
            raise UserFacingError(quota_replies.CLEAR_PICK_ONE)
        if who is not None:
            removed = await self.store.clear_user_limit(guild_id, who.user_id)
            return quota_replies.member_override_cleared(who.name, removed, await self._usage(guild_id, who))
        if role_id is not None:
            return quota_replies.role_limit_cleared(role_id, await self.store.clear_role_limit(guild_id, role_id))
        removed = await self.store.clear_guild_default(guild_id)
        return quota_replies.server_default_cleared(removed, await self.store.list_rules(guild_id))

    async def show(self, guild_id: int, who: Person, *, with_rules: bool) -> Panel:
        usage = await self._usage(guild_id, who)
        rules = await self.store.list_rules(guild_id) if with_rules else None
        return quota_replies.member_quota(who.name, usage, rules)

    async def report(self, guild_id: int) -> Panel:
        return (await self.report_and_figures(guild_id))[0]

    async def report_and_figures(self, guild_id: int) -> tuple[Panel, ServerReport]:
        """The report's text, and the figures it was written from (for its chart)."""
        report = await self.store.report(guild_id, top=REPORT_ROWS)
        return quota_replies.usage_report(report, await self.store.spend_status(guild_id)), report

    async def budget(self, guild_id: int, amount: float | None, period: Period | None) -> Panel:
        """Set the server's money cap, or remove it when no amount is given."""
        if amount is None:
            if period is not None:
                raise UserFacingError(quota_replies.BUDGET_NEEDS_AMOUNT)
            removed = await self.store.clear_budget(guild_id)
            return quota_replies.budget_removed(removed, await self.store.spend_status(guild_id))
        budget = await self.store.set_budget(guild_id, float(amount), period)
        return quota_replies.budget_set(budget, await self.store.spend_status(guild_id))
