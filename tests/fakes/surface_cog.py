"""A test-only extension: the edit service's Discord surface driven directly, for the
orders of answers an edit reaches only rarely (a question after a public placeholder)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.editing.interaction_surface import InteractionSurface
from bot.edits.surface import Confirmation


class SurfaceDriver(commands.Cog):
    def __init__(self) -> None:
        self.outcomes: list[str] = []

    @app_commands.command(name="asklate", description="acknowledge, then ask (test only)")
    async def asklate(self, interaction: discord.Interaction, private: bool) -> None:
        surface = InteractionSurface(interaction)
        if private:
            await surface.acknowledge_privately()
        else:
            await surface.acknowledge()
        answered = await surface.confirm(Confirmation(title="Go ahead?", lines=["Nothing happens before Confirm."]))
        if answered is None:
            self.outcomes.append("not confirmed")
            return
        self.outcomes.append("confirmed")
        await answered.tell("done")


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(SurfaceDriver())
