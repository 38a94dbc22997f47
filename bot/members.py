"""Facts about the member behind an interaction, as the domain needs them."""

from __future__ import annotations

import discord


def role_ids_of(user: discord.abc.User) -> list[int]:
    """The member's role IDs, without @everyone (users outside a server have none)."""
    return [role.id for role in getattr(user, "roles", []) if not role.is_default()]


def is_moderator(interaction: discord.Interaction, moderator_role_ids: tuple[int, ...]) -> bool:
    perms = interaction.permissions
    if perms.manage_guild or perms.administrator:
        return True
    return any(role_id in moderator_role_ids for role_id in role_ids_of(interaction.user))
