"""`/edit`: turns the slash command's options into an edit order for the bot's edit service."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Literal, Optional

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.editing.interaction_surface import (
    AttachmentInput,
    InteractionSurface,
    requester_of,
)
from bot.edits.order import EditOrder
from bot.images.regions import PRESET_DESCRIPTIONS, REGION_EXAMPLE, REGION_PRESETS

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

    async def model_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        # The models this server allows, its default first.
        models = await self.bot.server_rules.models_for(interaction.guild_id)
        default = models[0] if models else None
        return [
            app_commands.Choice(name=n + (" (default)" if n == default else ""), value=n)
            for n in models
            if current.lower() in n.lower()
        ][:25]

    async def size_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        model = getattr(interaction.namespace, "model", None) or self.bot.settings.image_model
        choices = [s for s in self.bot.edits.sizes_for(model) if current.lower() in s.lower()]
        if current and current not in choices:
            choices.insert(0, current)  # free sizes (gpt-image-2) are checked on submit
        return [app_commands.Choice(name=s, value=s) for s in choices][:25]

    async def region_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        typed = current.strip().lower()
        choices = [
            app_commands.Choice(name=f"{name} — {PRESET_DESCRIPTIONS[name]}", value=name)
            for name in REGION_PRESETS
            if typed in name
        ]
        if typed and typed not in REGION_PRESETS:
            # A custom area is checked on submit, with an example if it is malformed.
            choices.insert(0, app_commands.Choice(name=current[:100], value=current[:100]))
        elif not typed:
            choices.append(app_commands.Choice(name=f"custom: type e.g. {REGION_EXAMPLE} or ellipse:25,25,50,50", value=REGION_EXAMPLE))
        return choices[:25]

    @app_commands.command(name="edit", description="Edit an image with AI: attach it and describe the change")
    @app_commands.describe(
        image="The picture to edit (PNG, JPEG, WebP; GIF/BMP/TIFF are converted)",
        prompt="What should change, e.g. 'give the cat a red scarf'",
        mask="Optional: where to edit. Transparent (or white on black) areas get edited",
        model="Which AI model to use",
        size="Output size, e.g. 1024x1024 (auto keeps the model's choice)",
        quality="Higher quality is slower and costs more",
        n="How many versions to make (1-10); each counts against your quota",
        output_format="File type of the result",
        background="Transparent needs png or webp output",
        region="Or let Retouch make the mask: top, bottom, left, right, center, border, or rect:X,Y,W,H / ellipse:X,Y,W,H in %",
        mask_preview="Show me the mask on my picture first; nothing is counted until I confirm",
        image2="Optional second input image, for models that combine several (e.g. gpt-image-2)",
        image3="Optional third input image",
        image4="Optional fourth input image",
    )
    @app_commands.autocomplete(model=model_autocomplete, size=size_autocomplete, region=region_autocomplete)
    async def edit(
        self,
        interaction: discord.Interaction,
        image: discord.Attachment,
        prompt: app_commands.Range[str, 1, PROMPT_MAX],
        mask: Optional[discord.Attachment] = None,
        model: Optional[str] = None,
        size: Optional[str] = None,
        quality: Optional[Literal["auto", "low", "medium", "high", "standard"]] = None,
        n: Optional[app_commands.Range[int, 1, 10]] = None,
        output_format: Optional[Literal["png", "jpeg", "webp"]] = None,
        background: Optional[Literal["auto", "opaque", "transparent"]] = None,
        image2: Optional[discord.Attachment] = None,
        image3: Optional[discord.Attachment] = None,
        image4: Optional[discord.Attachment] = None,
        region: Optional[app_commands.Range[str, 1, 100]] = None,
        mask_preview: Optional[bool] = None,
    ) -> None:
        more = [(label, a) for label, a in (("image2", image2), ("image3", image3), ("image4", image4)) if a is not None]
        order = EditOrder(
            requester=requester_of(interaction),
            prompt=prompt,
            image=AttachmentInput(image, "image"),
            more_images=tuple(AttachmentInput(a, label) for label, a in more),
            mask=AttachmentInput(mask, "mask") if mask is not None else None,
            region=region,
            mask_preview=bool(mask_preview),
            model=model,
            n=n,
            size=size,
            quality=quality,
            output_format=output_format,
            background=background,
            channel_id=interaction.channel_id,
        )
        await self.bot.edits.submit(order, InteractionSurface(interaction, now=self.now))


async def setup(bot: "Retouch") -> None:
    await bot.add_cog(EditCog(bot))
