"""`/quota ...` for moderators: registration, and Discord's arguments turned into values."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Optional

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.moderation.embeds import answer
from bot.discord_app.moderation.options import AnyUser, BudgetValue, LimitValue, Period, guild_id, person
from bot.discord_app.moderation.quota_actions import QuotaActions
from bot.discord_app.moderation.moderator_commands import ModeratorCommands
from bot.discord_app.moderation.report_chart import report_chart
from bot.text import moderation_commands as says
from bot.text import safety as safety_says
from bot.text import quota_replies

if TYPE_CHECKING:
    from bot.discord_app.retouch_bot import Retouch


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class QuotaCog(ModeratorCommands, commands.GroupCog, group_name="quota", group_description=says.QUOTA):
    def __init__(self, bot: "Retouch") -> None:
        self.bot = bot
        super().__init__()

    # Built on first use: the bot's stores exist once it has started, not when its
    # commands are declared (reading the command tree needs no database).
    @cached_property
    def actions(self) -> QuotaActions:
        return QuotaActions(self.bot.store)

    def moderators_only(self) -> str:
        return quota_replies.MODERATORS_ONLY

    @app_commands.command(name="set", description=says.QUOTA_SET)
    @app_commands.describe(**says.QUOTA_SET_OPTIONS)
    async def set_(self, interaction: discord.Interaction, user: AnyUser, limit: LimitValue, period: Optional[Period] = None) -> None:
        await answer(interaction, await self.actions.set_limit(guild_id(interaction), person(user), limit, period))

    @app_commands.command(name="reset", description=says.QUOTA_RESET)
    @app_commands.describe(**says.QUOTA_RESET_OPTIONS)
    async def reset(self, interaction: discord.Interaction, user: AnyUser) -> None:
        await answer(interaction, await self.actions.reset(guild_id(interaction), person(user)))

    @app_commands.command(name="default", description=says.QUOTA_DEFAULT)
    @app_commands.describe(**says.QUOTA_DEFAULT_OPTIONS)
    async def default(self, interaction: discord.Interaction, limit: LimitValue, period: Optional[Period] = None) -> None:
        await answer(interaction, await self.actions.set_default(guild_id(interaction), limit, period))

    @app_commands.command(name="role", description=says.QUOTA_ROLE)
    @app_commands.describe(**says.QUOTA_ROLE_OPTIONS)
    async def role(self, interaction: discord.Interaction, role: discord.Role, limit: LimitValue, period: Optional[Period] = None) -> None:
        await answer(interaction, await self.actions.set_role_limit(guild_id(interaction), role.id, limit, period))

    @app_commands.command(name="clear", description=says.QUOTA_CLEAR)
    @app_commands.describe(**says.QUOTA_CLEAR_OPTIONS)
    async def clear(
        self,
        interaction: discord.Interaction,
        user: Optional[AnyUser] = None,
        role: Optional[discord.Role] = None,
        server_default: bool = False,
    ) -> None:
        who = person(user) if user is not None else None
        role_id = role.id if role is not None else None
        panel = await self.actions.clear(guild_id(interaction), who=who, role_id=role_id, server_default=server_default)
        await answer(interaction, panel)

    @app_commands.command(name="show", description=says.QUOTA_SHOW)
    @app_commands.describe(**says.QUOTA_SHOW_OPTIONS)
    async def show(self, interaction: discord.Interaction, user: Optional[AnyUser] = None, public: bool = False) -> None:
        who = person(user or interaction.user)
        panel = await self.actions.show(guild_id(interaction), who, with_rules=user is None)
        await answer(interaction, await self.safety_actions.with_member(panel, guild_id(interaction), who.user_id), public=public)

    @app_commands.command(name="report", description=says.QUOTA_REPORT)
    @app_commands.describe(**says.QUOTA_REPORT_OPTIONS)
    async def report(self, interaction: discord.Interaction, public: bool = False) -> None:
        # The chart takes a moment to draw (a worker process): answer within Discord's 3 s first.
        await interaction.response.defer(ephemeral=not public, thinking=True)
        panel, figures = await self.actions.report_and_figures(guild_id(interaction))
        panel = await self.safety_actions.with_report(panel, guild_id(interaction))
        chart = await report_chart(self.bot.database, self.bot.charts, interaction.guild, figures)
        await answer(interaction, panel, public=public, image=chart)

    @app_commands.command(name="budget", description=says.QUOTA_BUDGET)
    @app_commands.describe(**says.QUOTA_BUDGET_OPTIONS)
    async def budget(self, interaction: discord.Interaction, amount: Optional[BudgetValue] = None, period: Optional[Period] = None) -> None:
        await answer(interaction, await self.actions.budget(guild_id(interaction), amount, period))

    @app_commands.command(name="pause", description=safety_says.QUOTA_PAUSE)
    @app_commands.describe(**safety_says.QUOTA_PAUSE_OPTIONS)
    async def pause(self, interaction: discord.Interaction, user: AnyUser, hours: Optional[app_commands.Range[int, 1, 8760]] = None) -> None:
        await answer(interaction, await self.safety_actions.pause(guild_id(interaction), person(user), hours, moderator_id=interaction.user.id))

    @app_commands.command(name="resume", description=safety_says.QUOTA_RESUME)
    @app_commands.describe(**safety_says.QUOTA_RESUME_OPTIONS)
    async def resume(self, interaction: discord.Interaction, user: AnyUser) -> None:
        await answer(interaction, await self.safety_actions.resume(guild_id(interaction), person(user), moderator_id=interaction.user.id))


async def setup(bot: "Retouch") -> None:
    await bot.add_cog(QuotaCog(bot))
