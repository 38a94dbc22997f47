"""What the content safety commands do (/settings safety, /quota pause and resume, the
safety parts of /quota show and /quota report): one change or look-up in the strike
store, answered with a Panel or a Section (no Discord types: the cogs translate)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.text import safety as texts
from bot.text.i18n import server_language
from bot.text.panel import Panel

if TYPE_CHECKING:
    from bot.discord_app.moderation.audit_log import AuditLog
    from bot.discord_app.moderation.quota_actions import Person
    from bot.store.quota import QuotaStore
    from bot.store.strikes import StrikeStore


class SafetyActions:
    def __init__(self, *, strikes: "StrikeStore", store: "QuotaStore", audit_log: "AuditLog", bot_settings: Settings) -> None:
        self.strikes = strikes
        self.store = store
        self.audit_log = audit_log
        self.bot_settings = bot_settings

    async def set_level(self, guild_id: int, level: str) -> Panel:
        await self.strikes.set_level(guild_id, level)
        return texts.level_set(level, default=self.bot_settings.safety_check)

    async def pause(self, guild_id: int, who: "Person", hours: float | None, *, moderator_id: int) -> Panel:
        until = await self.strikes.pause(guild_id, who.user_id, hours=hours or self.bot_settings.safety_pause_hours, by=moderator_id)
        with server_language():
            alert = texts.audit_pause_by_moderator(who.user_id, moderator_id, until)
        await self.audit_log.alert(guild_id, alert)
        return texts.paused_by_moderator(who.name, who.user_id, until)

    async def resume(self, guild_id: int, who: "Person", *, moderator_id: int) -> Panel:
        lifted = await self.strikes.resume(guild_id, who.user_id, by=moderator_id)
        if lifted:
            with server_language():
                alert = texts.audit_resume(who.user_id, moderator_id)
            await self.audit_log.alert(guild_id, alert)
        return texts.resumed(who.name, who.user_id, lifted)

    async def with_member(self, panel: Panel, guild_id: int, user_id: int) -> Panel:
        """/quota show: the member's strikes and pause below the quota."""
        safety = await self.strikes.member(guild_id, user_id)
        return replace(panel, sections=(*panel.sections, texts.member_section(safety, most=self.bot_settings.safety_strikes)))

    async def with_report(self, panel: Panel, guild_id: int) -> Panel:
        """/quota report: the period's strikes, and who is paused."""
        period = await self.store.report(guild_id, top=0)  # the report's period
        report = await self.strikes.report(guild_id, period.start, period.resets_at)
        return replace(panel, sections=(*panel.sections, texts.report_section(report)))
