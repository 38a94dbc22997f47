"""What every Discord entry point shares on its way to the edit service: who asks, and
handing over an order built by the bot's one `OrderBuilder` (bot/edits/order_builder.py)
with the interaction as its surface."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Callable

import discord

from bot.discord_app.editing.interaction_surface import InteractionSurface
from bot.discord_app.moderation.access import role_ids_of
from bot.edits.order import EditOrder, Requester

if TYPE_CHECKING:
    from bot.discord_app.retouch_bot import Retouch


def retouch(interaction: discord.Interaction) -> "Retouch":
    return interaction.client  # type: ignore[return-value]


def requester_of(interaction: discord.Interaction) -> Requester:
    user = interaction.user
    return Requester(
        user_id=user.id,
        guild_id=interaction.guild_id,
        role_ids=tuple(role_ids_of(user)),
        display_name=user.display_name,
        age_restricted=_age_restricted(interaction.channel),
        locale=interaction.locale.value,
        guild_locale=interaction.guild_locale.value if interaction.guild_locale is not None else None,
    )


def _age_restricted(channel: object) -> bool:
    # Text channels, and threads through their parent; DMs are never age-restricted.
    is_nsfw = getattr(channel, "is_nsfw", None)
    return bool(is_nsfw()) if callable(is_nsfw) else False


async def submit(interaction: discord.Interaction, order: EditOrder, *, now: Callable[[], datetime] | None = None) -> None:
    """Run `order` as an ordinary edit answered on `interaction` (ack, progress, result)."""
    await retouch(interaction).edits.submit(order, InteractionSurface(interaction, now=now))
