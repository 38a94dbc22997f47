"""The command tree with the bot's one error handler."""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from bot.discord_app.replies import send_private
from bot.errors import ShuttingDown, user_message_for
from bot.text import command_errors, moderation
from bot.text.i18n import use_language

log = logging.getLogger("retouch.errors")


def describe_app_command_error(error: app_commands.AppCommandError) -> str | None:
    if isinstance(error, app_commands.NoPrivateMessage):
        return command_errors.SERVERS_ONLY
    if isinstance(error, app_commands.MissingPermissions):
        return moderation.MISSING_PERMISSIONS
    if isinstance(error, app_commands.CommandOnCooldown):
        return command_errors.slow_down(error.retry_after)
    if isinstance(error, app_commands.TransformerError):
        return command_errors.not_understood(error.value)
    if isinstance(error, app_commands.CommandNotFound):
        return command_errors.COMMAND_GONE
    if isinstance(error, app_commands.CheckFailure):
        return str(error) or command_errors.NOT_HERE
    return None


class RetouchTree(app_commands.CommandTree):
    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        # Every command and autocomplete runs in its own task: answer in the member's language.
        use_language(interaction.locale)
        return True

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        use_language(interaction.locale)  # also for errors raised before interaction_check
        original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        if isinstance(error, app_commands.CommandNotFound) and not getattr(interaction.client, "accepting_work", True):
            original = ShuttingDown()
        message = user_message_for(original) or describe_app_command_error(error)
        if message is None:
            error_id = secrets.token_hex(4)
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error("unexpected error %s in /%s", error_id, command, exc_info=original)
            message = command_errors.bug(error_id)
        await send_private(interaction, message)
