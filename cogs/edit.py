"""`/edit`: translates the slash command's options for the order builder."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Optional

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.editing import autocomplete
from bot.discord_app.editing.inputs import AttachmentInput
from bot.discord_app.editing.orders import requester_of, submit
from bot.edits.order_builder import MAX_N, Asked, Background, OutputFormat, Quality
from bot.text import edit_commands as texts
from bot.text import editing

if TYPE_CHECKING:
    from bot.discord_app.retouch_bot import Retouch

# Discord string options stop at 6000 characters; models check their own (shorter) limits.
PROMPT_MAX = 6000


class EditCog(commands.Cog):
    def __init__(self, bot: "Retouch") -> None:
        self.bot = bot
        self.now = lambda: datetime.now(timezone.utc)  # a seam for tests that cross the 15 minutes
        allow_dms = bot.settings.allow_dms
        self.edit.allowed_contexts = app_commands.AppCommandContext(guild=True, dm_channel=allow_dms, private_channel=allow_dms)

    @app_commands.command(name="edit", description=texts.EDIT)
    @app_commands.describe(**texts.EDIT_OPTIONS)
    @app_commands.autocomplete(model=autocomplete.models, size=autocomplete.sizes, region=autocomplete.regions)
    async def edit(
        self,
        interaction: discord.Interaction,
        image: discord.Attachment,
        prompt: app_commands.Range[str, 1, PROMPT_MAX],
        mask: Optional[discord.Attachment] = None,
        model: Optional[str] = None,
        size: Optional[str] = None,
        quality: Optional[Quality] = None,
        n: Optional[app_commands.Range[int, 1, MAX_N]] = None,
        output_format: Optional[OutputFormat] = None,
        background: Optional[Background] = None,
        image2: Optional[discord.Attachment] = None,
        image3: Optional[discord.Attachment] = None,
        image4: Optional[discord.Attachment] = None,
        region: Optional[app_commands.Range[str, 1, 100]] = None,
        mask_preview: Optional[bool] = None,
    ) -> None:
        pictures = [a for a in (image, image2, image3, image4) if a is not None]
        order = self.bot.orders.order(
            requester=requester_of(interaction),
            prompt=prompt,
            images=[AttachmentInput(a, editing.option_label(i)) for i, a in enumerate(pictures, start=1)],
            mask=AttachmentInput(mask, editing.MASK) if mask is not None else None,
            asked=Asked(
                model=model, size=size, quality=quality, n=n, output_format=output_format, background=background,
                regions=(region,) if region else (), mask_preview=bool(mask_preview),
            ),
            entry="/edit",
            channel_id=interaction.channel_id,
        )
        await submit(interaction, order, now=self.now)


async def setup(bot: "Retouch") -> None:
    await bot.add_cog(EditCog(bot))
