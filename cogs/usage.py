"""`/usage` for every member: their own quota, privately."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.moderation.embeds import answer
from bot.discord_app.moderation.options import person
from bot.discord_app.moderation.quota_actions import QuotaActions
from bot.text import moderation_commands as says

if TYPE_CHECKING:
    from bot.discord_app.retouch_bot import Retouch


class UsageCog(commands.Cog):
    def __init__(self, bot: "Retouch") -> None:
        self.bot = bot

    @cached_property
    def actions(self) -> QuotaActions:
        return QuotaActions(self.bot.store)  # the store exists once the bot has started

    @app_commands.command(name="usage", description=says.USAGE)
    async def usage(self, interaction: discord.Interaction) -> None:
        if interaction.guild_id is None and not self.bot.settings.allow_dms:
            raise app_commands.NoPrivateMessage()
        await answer(interaction, await self.actions.own_usage(interaction.guild_id, person(interaction.user)))


async def setup(bot: "Retouch") -> None:
    await bot.add_cog(UsageCog(bot))
