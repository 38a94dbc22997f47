"""The Discord option types of the moderator commands, and their translation to values."""

from __future__ import annotations

from typing import Any, Union

import discord
from discord import app_commands

from bot.discord_app.moderation.access import role_ids_of
from bot.discord_app.moderation.quota_actions import Person
from bot.store.models import MAX_BUDGET_USD, MAX_LIMIT, UNLIMITED
from bot.store.periods import Period
from bot.store.server_settings import MAX_IMAGES_PER_EDIT

__all__ = ["AnyUser", "BudgetValue", "LimitValue", "LogChannel", "MaxImages", "Period", "guild_id", "person"]

# A member, or a user who has left the server (their rules and usage still exist).
AnyUser = Union[discord.Member, discord.User]
LimitValue = app_commands.Range[int, UNLIMITED, MAX_LIMIT]
BudgetValue = app_commands.Range[float, 0, MAX_BUDGET_USD]
MaxImages = app_commands.Range[int, 1, MAX_IMAGES_PER_EDIT]


class LogChannel(app_commands.Transformer):
    """A text or announcement channel, taken from the interaction's resolved data (works
    even when the bot's channel cache missed the channel)."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return [discord.ChannelType.text, discord.ChannelType.news]

    async def transform(self, interaction: discord.Interaction, value: Any, /) -> Any:
        return value


def person(user: discord.abc.User) -> Person:
    return Person(user_id=user.id, name=user.display_name, role_ids=tuple(role_ids_of(user)))


def guild_id(interaction: discord.Interaction) -> int:
    """The server of a command registered as guild_only."""
    assert interaction.guild_id is not None
    return interaction.guild_id
