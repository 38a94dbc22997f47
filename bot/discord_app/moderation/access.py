"""Who may use moderator commands and buttons: the one moderator check."""

from __future__ import annotations

import discord
from discord import app_commands


def role_ids_of(user: discord.abc.User) -> list[int]:
    """The member's role IDs, without @everyone (users outside a server have none).

    `Member.roles` drops roles missing from the guild cache (e.g. one created while the
    bot was reconnecting); the interaction's own role list is authoritative, so we read
    the raw IDs (a private attribute, stable across 2.x; discord.py is pinned).
    """
    raw = getattr(user, "_roles", None)
    if raw is not None:
        guild = getattr(user, "guild", None)
        everyone = guild.id if guild is not None else None
        return [int(role_id) for role_id in raw if role_id != everyone]
    return [role.id for role in getattr(user, "roles", []) if not role.is_default()]


def is_moderator(interaction: discord.Interaction, moderator_role_ids: tuple[int, ...]) -> bool:
    """Manage Server, Administrator, or one of the owner's MODERATOR_ROLE_IDS."""
    perms = interaction.permissions
    if perms.manage_guild or perms.administrator:
        return True
    return any(role_id in moderator_role_ids for role_id in role_ids_of(interaction.user))


def require_moderator(interaction: discord.Interaction, moderator_role_ids: tuple[int, ...], refusal: str) -> bool:
    """A moderator cog's `interaction_check`. A server admin can change Discord's default
    permissions for a command, so they are checked again here; `refusal` is what the
    member reads (through the command tree's error handler)."""
    if not is_moderator(interaction, moderator_role_ids):
        raise app_commands.CheckFailure(refusal)
    return True
