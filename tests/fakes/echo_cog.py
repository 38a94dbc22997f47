"""A test-only extension: proves the wiring from gateway to tree to reply."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands


class Echo(commands.Cog):
    @app_commands.command(name="echo", description="Repeat a text (test only)")
    async def echo(self, interaction: discord.Interaction, text: str) -> None:
        await interaction.response.send_message(f"echo: {text}", ephemeral=True)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Echo())
