"""How answers to moderators (and /usage) look: one embed per Panel, in one style."""

from __future__ import annotations

from datetime import datetime

import discord

from bot.text.panel import Panel

COLOUR = discord.Colour.blurple()
DESCRIPTION_CHARS = 4096  # Discord's limits
FIELD_CHARS = 1024


def embed_of(panel: Panel, *, colour: discord.Colour = COLOUR, timestamp: datetime | None = None) -> discord.Embed:
    embed = discord.Embed(title=panel.title, description="\n".join(panel.lines)[:DESCRIPTION_CHARS], colour=colour, timestamp=timestamp)
    for section in panel.sections:
        embed.add_field(name=section.name, value="\n".join(section.lines)[:FIELD_CHARS], inline=False)
    return embed


async def answer(
    interaction: discord.Interaction, panel: Panel, *, public: bool = False, image: discord.File | None = None
) -> None:
    """The command's reply (or its follow-up after a defer), private unless `public`;
    `image` (a chart) is attached and shown in the embed."""
    embed = embed_of(panel)
    attached: dict[str, list[discord.File]] = {}
    if image is not None:
        embed.set_image(url=f"attachment://{image.filename}")
        attached["files"] = [image]
    if interaction.response.is_done():
        await interaction.followup.send(embed=embed, ephemeral=not public, **attached)
    else:
        await interaction.response.send_message(embed=embed, ephemeral=not public, **attached)
