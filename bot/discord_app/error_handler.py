"""The command tree with the bot's one error handler."""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from bot.discord_app.replies import send_private
from bot.errors import ShuttingDown, user_message_for
from bot.text import moderation

log = logging.getLogger("retouch.errors")


def describe_app_command_error(error: app_commands.AppCommandError) -> str | None:
    if isinstance(error, app_commands.NoPrivateMessage):
        return "Retouch works in servers: run this command in a server channel."
    if isinstance(error, app_commands.MissingPermissions):
        return moderation.MISSING_PERMISSIONS
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: try again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.TransformerError):
        return f"I couldn't understand the value {error.value!r} for that option. Pick one from the list."
    if isinstance(error, app_commands.CommandNotFound):
        return "That command isn't available any more; Discord may still be updating its command list. Try again in a minute."
    if isinstance(error, app_commands.CheckFailure):
        return str(error) or "You can't use this command here."
    return None


class RetouchTree(app_commands.CommandTree):
    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        if isinstance(error, app_commands.CommandNotFound) and not getattr(interaction.client, "accepting_work", True):
            original = ShuttingDown()
        message = user_message_for(original) or describe_app_command_error(error)
        if message is None:
            error_id = secrets.token_hex(4)
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error("unexpected error %s in /%s", error_id, command, exc_info=original)
            message = (
                f"Something went wrong on Retouch's side (error id `{error_id}`). Nothing was charged. "
                "Try again; if it keeps happening, give the server owner this id."
            )
        await send_private(interaction, message)
