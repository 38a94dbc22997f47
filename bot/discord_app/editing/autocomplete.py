"""Suggestions while a member types `/edit`'s model, size and region, from what the order
builder offers in this server (its models, its default first; that model's sizes)."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.discord_app.editing.orders import retouch
from bot.images.regions import REGION_EXAMPLE
from bot.text import editing

MAX_CHOICES = 25  # Discord shows at most 25 suggestions


async def models(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    offer = await retouch(interaction).orders.offer(interaction.guild_id)
    return [
        app_commands.Choice(name=editing.default_choice(m) if m == offer.default_model else m, value=m)
        for m in offer.models
        if current.lower() in m.lower()
    ][:MAX_CHOICES]


async def sizes(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    # The sizes of the model typed so far, else of this server's default model.
    typed = getattr(interaction.namespace, "model", None)
    offer = await retouch(interaction).orders.offer(interaction.guild_id, model=typed)
    choices = [s for s in offer.sizes if current.lower() in s.lower()]
    if current and current not in choices:
        choices.insert(0, current)  # free sizes (gpt-image-2) are checked on submit
    return [app_commands.Choice(name=s, value=s) for s in choices][:MAX_CHOICES]


async def regions(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    offer = await retouch(interaction).orders.offer(interaction.guild_id)
    typed = current.strip().lower()
    choices = [
        app_commands.Choice(name=editing.region_choice(name), value=name) for name in offer.region_presets if typed in name
    ]
    if typed and typed not in offer.region_presets:
        # A custom area is checked on submit, with an example if it is malformed.
        choices.insert(0, app_commands.Choice(name=current[:100], value=current[:100]))
    elif not typed:
        choices.append(app_commands.Choice(name=editing.CUSTOM_REGION_CHOICE, value=REGION_EXAMPLE))
    return choices[:MAX_CHOICES]
