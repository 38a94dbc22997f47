"""Apps › `Edit image`: edit a picture someone posted, through a form, as a normal edit."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.editing.message_images import find_images
from bot.discord_app.editing.modals import EditImageModal
from bot.discord_app.replies import send_private
from bot.text import edit_commands as texts
from bot.text import editing

if TYPE_CHECKING:
    from bot.discord_app.retouch_bot import Retouch


class EditImageMenuCog(commands.Cog):
    def __init__(self, bot: "Retouch") -> None:
        self.bot = bot
        allow_dms = bot.settings.allow_dms
        # A context menu cannot be declared inside a cog with the decorator.
        self.menu = app_commands.ContextMenu(
            name=texts.EDIT_IMAGE_MENU,
            callback=self.edit_image,
            allowed_contexts=app_commands.AppCommandContext(guild=True, dm_channel=allow_dms, private_channel=allow_dms),
        )

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    async def edit_image(self, interaction: discord.Interaction, message: discord.Message) -> None:
        images = find_images(message)
        if not images:
            await send_private(interaction, editing.NO_IMAGE)
            return
        # The form must be the first answer, within 3 s: no download before it (the
        # server's models come from the settings cache).
        offer = await self.bot.orders.offer(interaction.guild_id)
        await interaction.response.send_modal(EditImageModal(images, offer))


async def setup(bot: "Retouch") -> None:
    await bot.add_cog(EditImageMenuCog(bot))
