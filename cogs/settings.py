"""`/settings ...` for moderators: thin adapters over the server's rules and the audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Optional

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app import safety_commands
from bot.discord_app.moderators import is_moderator
from bot.store.server_settings import MAX_IMAGES_PER_EDIT
from bot.text.settings_view import SettingsView, bot_lines, server_lines

if TYPE_CHECKING:
    from bot.discord_app.retouch_bot import Retouch

MODERATORS_ONLY = "Only moderators can change or see Retouch's server settings (Manage Server permission or a moderator role)."
WORDS_HELP = "Comma-separated words or phrases, e.g. dragon, red panda"


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


def _embed(title: str, lines: list[str], colour: discord.Colour = discord.Colour.blurple()) -> discord.Embed:
    return discord.Embed(title=title, description="\n".join(lines)[:4096], colour=colour)


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class SettingsCommands(commands.GroupCog, group_name="settings", group_description="Retouch's settings for this server (moderators)"):
    blocked_words = app_commands.Group(name="blocked-words", description="Words and phrases prompts may not contain")

    def __init__(self, bot: "Retouch") -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        # Discord's default permissions can be changed by a server admin, so check again here.
        if not is_moderator(interaction, self.bot.settings.moderator_role_ids):
            raise app_commands.CheckFailure(MODERATORS_ONLY)
        return True

    @property
    def rules(self):  # type: ignore[no-untyped-def]
        return self.bot.server_rules

    async def _reply(self, interaction: discord.Interaction, title: str, lines: list[str]) -> None:
        await interaction.response.send_message(embed=_embed(title, lines), ephemeral=True)

    @app_commands.command(name="log-channel", description="Log every edit, refusal and rejection in a channel (no channel: turn it off)")
    @app_commands.describe(channel="Where to log (leave out to turn the log off)")
    async def log_channel(
        self, interaction: discord.Interaction, channel: Optional[app_commands.Transform[Any, LogChannel]] = None
    ) -> None:
        assert interaction.guild_id is not None
        guild_id = interaction.guild_id
        await self.rules.set_log_channel(guild_id, channel.id if channel is not None else None)
        self.bot.audit_log.setting_changed(guild_id)
        if channel is None:
            await self._reply(interaction, "Audit log turned off", ["Edits are no longer logged in a channel."])
            return
        # Answer first (Discord's 3 s), then prove the bot can post there.
        await interaction.response.defer(ephemeral=True, thinking=True)
        problem = await self.bot.audit_log.announce(
            guild_id, channel.id, f"Retouch will log every edit, refusal and provider rejection here (set by {interaction.user.mention})."
        )
        lines = [f"Every edit, refusal and provider rejection is logged in <#{channel.id}>."]
        if problem:
            lines.append(f"⚠️ {problem}")
        await interaction.followup.send(embed=_embed("Audit log channel set", lines), ephemeral=True)

    @app_commands.command(name="show", description="Every setting for this server, and the bot-wide ones that apply")
    async def show(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        guild_id = interaction.guild_id
        server = await self.rules.settings(guild_id)
        view = SettingsView(
            server=server,
            models=self.rules.models_allowed_by(server),
            rules=await self.bot.store.list_rules(guild_id),
            spend=await self.bot.store.spend_status(guild_id),
            log_problem=self.bot.audit_log.problem_for(guild_id),
            log_dropped=self.bot.audit_log.dropped,
            bot=self.bot.settings,
            safety_level=await self.bot.strikes.level(guild_id),
        )
        embed = _embed("Retouch settings for this server", server_lines(view))
        embed.add_field(name="Bot-wide (set by the bot owner)", value="\n".join(bot_lines(view))[:1024], inline=False)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(name="models", description="Which models members may use (leave out, or `all`, to allow every model)")
    @app_commands.describe(allowed="Comma-separated model names, e.g. gpt-image-2, gpt-image-1-mini; `all` allows every model")
    async def models(self, interaction: discord.Interaction, allowed: Optional[str] = None) -> None:
        assert interaction.guild_id is not None
        server = await self.rules.set_allowed_models(interaction.guild_id, allowed)
        models = self.rules.models_allowed_by(server)
        if not server.allowed_models:
            lines = [f"Members may use every model the bot offers: {', '.join(f'`{m}`' for m in models)}."]
        else:
            lines = [f"Members may use only {', '.join(f'`{m}`' for m in models)}."]
            if models and models[0] != self.bot.settings.image_model:
                lines.append(f"Edits without a `model` use `{models[0]}` here (the bot's default is not allowed).")
        await self._reply(interaction, "Allowed models updated", lines)

    @models.autocomplete("allowed")
    async def models_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        # Complete the last name of the comma-separated list.
        done, _, last = current.rpartition(",")
        chosen = {p.strip() for p in done.split(",") if p.strip()}
        prefix = f"{done}, " if done else ""
        names = [m for m in self.bot.edits.allowed_models() if m not in chosen and last.strip().lower() in m.lower()]
        choices = [] if done else [app_commands.Choice(name="all (every model)", value="all")]
        choices += [app_commands.Choice(name=(prefix + m)[:100], value=(prefix + m)[:100]) for m in names]
        return choices[:25]

    @app_commands.command(name="max-images", description="The most images (n) one edit may ask for in this server")
    @app_commands.describe(n=f"1-{MAX_IMAGES_PER_EDIT}; {MAX_IMAGES_PER_EDIT} is the bot's maximum (no extra limit)")
    async def max_images(self, interaction: discord.Interaction, n: app_commands.Range[int, 1, MAX_IMAGES_PER_EDIT]) -> None:
        assert interaction.guild_id is not None
        await self.rules.set_max_images(interaction.guild_id, n)
        await self._reply(interaction, "Max images updated", [f"One edit may ask for at most {n} image{'s' if n != 1 else ''} here."])

    @app_commands.command(name="safety", description="Check prompts (and input images) with the moderation endpoint before anything is paid for")
    @app_commands.describe(level="off; prompts; or images (prompts and every input image)")
    async def safety(self, interaction: discord.Interaction, level: Literal["off", "prompts", "images"]) -> None:
        await safety_commands.set_level(self.bot, interaction, level)

    @blocked_words.command(name="add", description="Refuse prompts containing these words or phrases")
    @app_commands.describe(words=WORDS_HELP)
    async def blocked_add(self, interaction: discord.Interaction, words: str) -> None:
        assert interaction.guild_id is not None
        change = await self.rules.add_blocked_words(interaction.guild_id, words, added_by=interaction.user.id)
        lines = []
        if change.changed:
            lines.append(f"Blocked: {', '.join(f'“{w}”' for w in change.changed)}.")
        if change.unchanged:
            lines.append(f"Already blocked: {', '.join(f'“{w}”' for w in change.unchanged)}.")
        lines.append("Matching ignores case and accents and respects word boundaries (“ass” does not block “class”).")
        await self._reply(interaction, "Blocked words updated", lines)

    @blocked_words.command(name="remove", description="Allow these words or phrases again")
    @app_commands.describe(words=WORDS_HELP)
    async def blocked_remove(self, interaction: discord.Interaction, words: str) -> None:
        assert interaction.guild_id is not None
        change = await self.rules.remove_blocked_words(interaction.guild_id, words)
        lines = []
        if change.changed:
            lines.append(f"No longer blocked: {', '.join(f'“{w}”' for w in change.changed)}.")
        if change.unchanged:
            lines.append(f"Not on the list: {', '.join(f'“{w}”' for w in change.unchanged)}.")
        await self._reply(interaction, "Blocked words updated", lines)

    @blocked_words.command(name="list", description="The words and phrases prompts may not contain")
    async def blocked_list(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        server = await self.rules.settings(interaction.guild_id)
        words = [w.word for w in server.blocked_words]
        if not words:
            lines = ["No words are blocked. Add some with `/settings blocked-words add words:…`."]
        else:
            lines = [f"{len(words)} blocked (spoilered; click to read):", ", ".join(f"||{w}||" for w in words)]
        await self._reply(interaction, "Blocked words", lines)


async def setup(bot: "Retouch") -> None:
    await bot.add_cog(SettingsCommands(bot))
