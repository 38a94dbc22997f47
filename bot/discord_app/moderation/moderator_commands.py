"""What every moderators' command group shares: the run-time moderator check and the
safety actions (`/quota pause|resume`, `/settings safety`)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import discord

from bot.discord_app.moderation.access import require_moderator
from bot.discord_app.moderation.safety_actions import SafetyActions

if TYPE_CHECKING:
    from bot.discord_app.retouch_bot import Retouch


class ModeratorCommands:
    """Mixed into a moderators' `GroupCog` (before it, so its `interaction_check` wins)."""

    bot: "Retouch"

    def moderators_only(self) -> str:
        """What a member who is not a moderator reads (in their language: read at call time)."""
        raise NotImplementedError

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return require_moderator(interaction, self.bot.settings.moderator_role_ids, self.moderators_only())

    # Built on first use: the bot's stores exist once it has started, not when its
    # commands are declared (reading the command tree needs no database).
    @cached_property
    def safety_actions(self) -> SafetyActions:
        bot = self.bot
        return SafetyActions(strikes=bot.strikes, store=bot.store, audit_log=bot.audit_log, bot_settings=bot.settings)
