"""What /settings' subcommands do: one change or look-up of a server's rules, answered
with one Panel (no Discord types: the cog translates its arguments)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.edits.server_rules import ServerRules
from bot.text import audit_lines, settings_replies, settings_summary
from bot.text.i18n import server_language, t
from bot.text.moderation_commands import ALL_MODELS_CHOICE
from bot.text.panel import Panel

if TYPE_CHECKING:
    from bot.discord_app.moderation.audit_log import AuditLog
    from bot.store.quota import QuotaStore

CHOICES = 25  # Discord shows at most 25 autocomplete choices
CHOICE_CHARS = 100  # and a choice's name and value are at most 100 characters


class SettingsActions:
    def __init__(
        self,
        *,
        rules: ServerRules,
        store: "QuotaStore",
        audit_log: "AuditLog",
        bot_settings: Settings,
        bot_models: Callable[[], list[str]],
        safety_level: Callable[[int], Awaitable[str | None]] | None = None,
    ) -> None:
        """`bot_models`: every model the bot offers, its default first (EditService.allowed_models);
        `safety_level`: a server's /settings safety (StrikeStore.level)."""
        self.rules = rules
        self.store = store
        self.audit_log = audit_log
        self.bot_settings = bot_settings
        self.bot_models = bot_models
        self.safety_level = safety_level

    async def log_channel_off(self, guild_id: int) -> Panel:
        await self.rules.set_log_channel(guild_id, None)
        self.audit_log.setting_changed(guild_id)
        return settings_replies.LOG_CHANNEL_OFF

    async def log_channel_on(self, guild_id: int, channel_id: int, *, moderator_id: int) -> Panel:
        """Store the channel, then prove the bot can post there by posting."""
        await self.rules.set_log_channel(guild_id, channel_id)
        self.audit_log.setting_changed(guild_id)
        with server_language():  # the first post in the audit channel: the server's language
            first_post = audit_lines.channel_chosen(moderator_id)
        problem = await self.audit_log.announce(guild_id, channel_id, first_post)
        return settings_replies.log_channel_set(channel_id, problem)

    async def show(self, guild_id: int) -> Panel:
        server = await self.rules.settings(guild_id)
        summary = settings_summary.SettingsSummary(
            server=server,
            models=self.rules.models_allowed_by(server),
            rules=await self.store.list_rules(guild_id),
            spend=await self.store.spend_status(guild_id),
            log_problem=self.audit_log.problem_for(guild_id),
            log_dropped=self.audit_log.dropped,
            bot=self.bot_settings,
            safety_level=await self.safety_level(guild_id) if self.safety_level is not None else None,
        )
        return settings_summary.panel(summary)

    async def set_models(self, guild_id: int, allowed: str | None) -> Panel:
        server = await self.rules.set_allowed_models(guild_id, allowed)
        models = self.rules.models_allowed_by(server)
        return settings_replies.models_updated(models, restricted=bool(server.allowed_models), bot_default=self.bot_settings.image_model)

    def model_choices(self, current: str) -> list[tuple[str, str]]:
        """Autocomplete for a comma-separated list of models: (name, value) pairs that
        complete its last name."""
        done, _, last = current.rpartition(",")
        chosen = {p.strip() for p in done.split(",") if p.strip()}
        prefix = f"{done}, " if done else ""
        names = [m for m in self.bot_models() if m not in chosen and last.strip().lower() in m.lower()]
        choices = [] if done else [(t(ALL_MODELS_CHOICE), "all")]
        choices += [((prefix + m)[:CHOICE_CHARS], (prefix + m)[:CHOICE_CHARS]) for m in names]
        return choices[:CHOICES]

    async def set_max_images(self, guild_id: int, n: int) -> Panel:
        await self.rules.set_max_images(guild_id, n)
        return settings_replies.max_images_updated(n)

    async def block_words(self, guild_id: int, words: str, *, moderator_id: int) -> Panel:
        change = await self.rules.add_blocked_words(guild_id, words, added_by=moderator_id)
        return settings_replies.words_blocked(change.changed, change.unchanged)

    async def unblock_words(self, guild_id: int, words: str) -> Panel:
        change = await self.rules.remove_blocked_words(guild_id, words)
        return settings_replies.words_unblocked(change.changed, change.unchanged)

    async def blocked_words(self, guild_id: int) -> Panel:
        server = await self.rules.settings(guild_id)
        return settings_replies.blocked_words([w.word for w in server.blocked_words])
