"""A test-only extension that breaks Discord's rules on purpose, to prove the fake enforces them."""

from __future__ import annotations

import asyncio
import io

import discord
from discord import app_commands
from discord.ext import commands


class Rules(commands.Cog):
    def __init__(self) -> None:
        self.errors: list[BaseException] = []

    @app_commands.command(name="slow", description="answers too late")
    async def slow(self, interaction: discord.Interaction, seconds: float) -> None:
        await asyncio.sleep(seconds)
        try:
            await interaction.response.send_message("late")
        except discord.HTTPException as exc:
            self.errors.append(exc)

    @app_commands.command(name="twice", description="acknowledges twice")
    async def twice(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("one")
        try:
            await interaction.followup.send("two")  # allowed
            from discord.http import handle_message_parameters
            from discord.webhook.async_ import async_context

            params = handle_message_parameters(content="three")
            await async_context.get().create_interaction_response(
                interaction.id, interaction.token, session=interaction._session, params=params
            )
        except discord.HTTPException as exc:
            self.errors.append(exc)

    @app_commands.command(name="deferfollow", description="public defer, then an 'ephemeral' follow-up")
    async def deferfollow(self, interaction: discord.Interaction, ephemeral_defer: bool) -> None:
        await interaction.response.defer(ephemeral=ephemeral_defer, thinking=True)
        await interaction.followup.send("first", ephemeral=not ephemeral_defer)
        await interaction.followup.send("second", ephemeral=True)

    @app_commands.command(name="upload", description="uploads n bytes")
    async def upload(self, interaction: discord.Interaction, size: int) -> None:
        await interaction.response.defer()
        try:
            await interaction.edit_original_response(attachments=[discord.File(io.BytesIO(b"x" * size), "blob.bin")])
        except discord.HTTPException as exc:
            self.errors.append(exc)

    @app_commands.command(name="later", description="defers; the test ages the token; then edits")
    async def later(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        await asyncio.sleep(0.3)
        try:
            await interaction.edit_original_response(content="too late")
        except discord.HTTPException as exc:
            self.errors.append(exc)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Rules())
