"""The content safety commands' work (/settings safety, /quota pause|resume, the safety
parts of /quota show and /quota report), so the command handlers stay one line each."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import discord

from bot.text import safety as texts

if TYPE_CHECKING:
    from bot.discord_app.retouch_bot import Retouch


def _embed(title: str, lines: list[str]) -> discord.Embed:
    return discord.Embed(title=title, description="\n".join(lines)[:4096], colour=discord.Colour.blurple())


async def set_level(bot: "Retouch", interaction: discord.Interaction, level: str) -> None:
    assert interaction.guild_id is not None
    await bot.strikes.set_level(interaction.guild_id, level)
    lines = texts.level_set(level, default=bot.settings.safety_check)
    await interaction.response.send_message(embed=_embed("Safety check updated", lines), ephemeral=True)


async def pause(bot: "Retouch", interaction: discord.Interaction, user: discord.abc.User, hours: float | None) -> None:
    assert interaction.guild_id is not None
    until: datetime = await bot.strikes.pause(
        interaction.guild_id, user.id, hours=hours or bot.settings.safety_pause_hours, by=interaction.user.id
    )
    await interaction.response.send_message(embed=_embed(f"Paused {user.display_name}", [texts.paused_by_moderator(user.id, until)]), ephemeral=True)
    await bot.audit_log.alert(interaction.guild_id, texts.audit_pause_by_moderator(user.id, interaction.user.id, until))


async def resume(bot: "Retouch", interaction: discord.Interaction, user: discord.abc.User) -> None:
    assert interaction.guild_id is not None
    lifted = await bot.strikes.resume(interaction.guild_id, user.id, by=interaction.user.id)
    title = f"Resumed {user.display_name}" if lifted else f"{user.display_name} was not paused"
    await interaction.response.send_message(embed=_embed(title, [texts.resumed(user.id, lifted)]), ephemeral=True)
    if lifted:
        await bot.audit_log.alert(interaction.guild_id, texts.audit_resume(user.id, interaction.user.id))


async def add_member_field(bot: "Retouch", embed: discord.Embed, guild_id: int, user_id: int) -> None:
    """/quota show: the member's strikes and pause."""
    safety = await bot.strikes.member(guild_id, user_id)
    embed.add_field(name="Safety", value="\n".join(texts.member_lines(safety, most=bot.settings.safety_strikes))[:1024], inline=False)


async def add_report_field(bot: "Retouch", embed: discord.Embed, guild_id: int, start: datetime, end: datetime) -> None:
    """/quota report: strikes in the report's period, and who is paused."""
    report = await bot.strikes.report(guild_id, start, end)
    embed.add_field(name="Safety strikes", value="\n".join(texts.report_lines(report))[:1024], inline=False)
