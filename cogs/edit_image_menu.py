"""Apps › `Edit image`: edit a picture someone posted, through a modal, as a normal edit."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.editing.interaction_surface import (
    AttachmentInput,
    InteractionSurface,
    requester_of,
)
from bot.discord_app.editing.message_images import FoundImage, find_images, media_hosts
from bot.discord_app.replies import send_private
from bot.edits.checks import MAX_DOWNLOAD_BYTES
from bot.edits.order import EditOrder

if TYPE_CHECKING:
    from bot.discord_app.retouch_bot import Retouch

PROMPT_MAX = 4000  # a modal text input holds at most 4000 characters
SELECT_MAX = 25  # options in one select
NO_IMAGE = (
    "That message has no image I can edit. Use Apps › Edit image on a message with a picture "
    "(an upload, a forwarded picture or an embed image), or upload one with /edit."
)


class EditImageModal(discord.ui.Modal, title="Edit image"):
    """Prompt, optional mask, and where they fit: which image(s), model and size."""

    def __init__(self, bot: "Retouch", images: list[FoundImage]) -> None:
        super().__init__(timeout=15 * 60)
        self.bot = bot
        self.images = images[:SELECT_MAX]  # a file field cannot be pre-filled: the targets stay here
        self.prompt = discord.ui.TextInput(
            custom_id="prompt", style=discord.TextStyle.paragraph, max_length=PROMPT_MAX, required=True,
            placeholder="e.g. give the cat a red scarf",
        )
        self.add_item(discord.ui.Label(text="What should change?", component=self.prompt))
        self.mask = discord.ui.FileUpload(custom_id="mask", required=False, min_values=0, max_values=1)
        self.add_item(
            discord.ui.Label(text="Mask (optional)", description="Transparent or white areas get edited", component=self.mask)
        )
        self.which: discord.ui.Select | None = None
        if len(self.images) > 1:
            self.which = discord.ui.Select(
                custom_id="images",
                min_values=1,
                max_values=min(4, len(self.images)),
                options=[
                    discord.SelectOption(label=f"{i}. {image.description}"[:100], value=str(i - 1), default=i == 1)
                    for i, image in enumerate(self.images, start=1)
                ],
            )
            self.add_item(
                discord.ui.Label(
                    text="Which image?", description="Pick several for models that combine images", component=self.which
                )
            )
        default = bot.settings.image_model
        models = bot.edits.allowed_models()[:SELECT_MAX]
        self.model = discord.ui.Select(
            custom_id="model",
            required=False,
            options=[discord.SelectOption(label=m, value=m, default=m == default) for m in models],
        )
        self.add_item(discord.ui.Label(text="Model", component=self.model))
        sizes = ["auto", *[s for s in bot.edits.sizes_for(default) if s != "auto"]][:SELECT_MAX]
        self.size = discord.ui.Select(
            custom_id="size",
            required=False,
            options=[discord.SelectOption(label=s, value=s, default=s == "auto") for s in sizes],
        )
        self.add_item(discord.ui.Label(text="Size", component=self.size))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        chosen = [int(v) for v in self.which.values] if self.which is not None and self.which.values else [0]
        sources = [
            self.images[index].source(
                self.bot.http_session, label="image" if n == 0 else f"image {n + 1}", max_bytes=MAX_DOWNLOAD_BYTES,
                media_hosts=media_hosts(),
            )
            for n, index in enumerate(chosen)
        ]
        uploads = self.mask.values
        order = EditOrder(
            requester=requester_of(interaction),
            prompt=self.prompt.value,
            image=sources[0],
            more_images=tuple(sources[1:]),
            mask=AttachmentInput(uploads[0], "mask") if uploads else None,
            model=self.model.values[0] if self.model.values else None,
            size=self.size.values[0] if self.size.values and self.size.values[0] != "auto" else None,
            entry="Edit image",
            channel_id=interaction.channel_id,
        )
        await self.bot.edits.submit(order, InteractionSurface(interaction))

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:
        await self.bot.tree.on_error(interaction, error)  # type: ignore[arg-type]


class EditMessageCog(commands.Cog):
    def __init__(self, bot: "Retouch") -> None:
        self.bot = bot
        allow_dms = bot.settings.allow_dms
        # A context menu cannot be declared inside a cog with the decorator.
        self.menu = app_commands.ContextMenu(
            name="Edit image",
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
            await send_private(interaction, NO_IMAGE)
            return
        # The modal must be the first answer, within 3 s: no download before it.
        await interaction.response.send_modal(EditImageModal(self.bot, images))


async def setup(bot: "Retouch") -> None:
    await bot.add_cog(EditMessageCog(bot))
