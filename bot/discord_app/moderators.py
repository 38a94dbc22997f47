"""Transitional: the moderator check lives in bot/discord_app/moderation/access.py.

Kept only so the edit side's modules (interaction_surface, result_actions), moved in
parallel, keep importing it here; once they import from the moderation package, delete it.
"""

from bot.discord_app.moderation.access import is_moderator, role_ids_of

__all__ = ["is_moderator", "role_ids_of"]
