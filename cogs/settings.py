"""`/settings ...` for moderators: registration, and Discord's arguments turned into values."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, Optional

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.moderation.embeds import answer
from bot.discord_app.moderation.options import LogChannel, MaxImages, guild_id
from bot.discord_app.moderation.moderator_commands import ModeratorCommands
from bot.discord_app.moderation.settings_actions import SettingsActions
from bot.text import moderation_commands as says
from bot.text import safety as safety_says
from bot.text import settings_replies

if TYPE_CHECKING:
    from bot.discord_app.retouch_bot import Retouch


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class SettingsCog(ModeratorCommands, commands.GroupCog, group_name="settings", group_description=says.SETTINGS):
    blocked_words = app_commands.Group(name="blocked-words", description=says.BLOCKED_WORDS)

    def __init__(self, bot: "Retouch") -> None:
        self.bot = bot
        super().__init__()

    # Built on first use: the bot's stores exist once it has started, not when its
    # commands are declared (reading the command tree needs no database).
    @cached_property
    def actions(self) -> SettingsActions:
        bot = self.bot
        return SettingsActions(
            rules=bot.server_rules, store=bot.store, audit_log=bot.audit_log, bot_settings=bot.settings, bot_models=bot.edits.allowed_models,
            safety_level=bot.strikes.level,
        )

    def moderators_only(self) -> str:
        return settings_replies.MODERATORS_ONLY

    @app_commands.command(name="log-channel", description=says.SETTINGS_LOG_CHANNEL)
    @app_commands.describe(**says.SETTINGS_LOG_CHANNEL_OPTIONS)
    async def log_channel(self, interaction: discord.Interaction, channel: Optional[app_commands.Transform[Any, LogChannel]] = None) -> None:
        if channel is None:
            await answer(interaction, await self.actions.log_channel_off(guild_id(interaction)))
            return
        # Answer first (Discord's 3 s), then prove the bot can post there.
        await interaction.response.defer(ephemeral=True, thinking=True)
        await answer(interaction, await self.actions.log_channel_on(guild_id(interaction), channel.id, moderator_id=interaction.user.id))

    @app_commands.command(name="show", description=says.SETTINGS_SHOW)
    async def show(self, interaction: discord.Interaction) -> None:
        await answer(interaction, await self.actions.show(guild_id(interaction)))

    @app_commands.command(name="models", description=says.SETTINGS_MODELS)
    @app_commands.describe(**says.SETTINGS_MODELS_OPTIONS)
    async def models(self, interaction: discord.Interaction, allowed: Optional[str] = None) -> None:
        await answer(interaction, await self.actions.set_models(guild_id(interaction), allowed))

    @models.autocomplete("allowed")
    async def models_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=name, value=value) for name, value in self.actions.model_choices(current)]

    @app_commands.command(name="max-images", description=says.SETTINGS_MAX_IMAGES)
    @app_commands.describe(**says.SETTINGS_MAX_IMAGES_OPTIONS)
    async def max_images(self, interaction: discord.Interaction, n: MaxImages) -> None:
        await answer(interaction, await self.actions.set_max_images(guild_id(interaction), n))

    @app_commands.command(name="safety", description=safety_says.SETTINGS_SAFETY)
    @app_commands.describe(**safety_says.SETTINGS_SAFETY_OPTIONS)
    async def safety(self, interaction: discord.Interaction, level: Literal["off", "prompts", "images"]) -> None:
        await answer(interaction, await self.safety_actions.set_level(guild_id(interaction), level))

    @blocked_words.command(name="add", description=says.BLOCKED_WORDS_ADD)
    @app_commands.describe(**says.WORDS)
    async def blocked_add(self, interaction: discord.Interaction, words: str) -> None:
        await answer(interaction, await self.actions.block_words(guild_id(interaction), words, moderator_id=interaction.user.id))

    @blocked_words.command(name="remove", description=says.BLOCKED_WORDS_REMOVE)
    @app_commands.describe(**says.WORDS)
    async def blocked_remove(self, interaction: discord.Interaction, words: str) -> None:
        await answer(interaction, await self.actions.unblock_words(guild_id(interaction), words))

    @blocked_words.command(name="list", description=says.BLOCKED_WORDS_LIST)
    async def blocked_list(self, interaction: discord.Interaction) -> None:
        await answer(interaction, await self.actions.blocked_words(guild_id(interaction)))


async def setup(bot: "Retouch") -> None:
    await bot.add_cog(SettingsCog(bot))
