"""`/quota ...` for moderators and `/usage` for everyone: thin adapters over QuotaStore."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Optional, Union

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.moderators import is_moderator, role_ids_of
from bot.discord_app.report_chart import report_chart
from bot.errors import UserFacingError
from bot.store.quota import MAX_BUDGET_USD, MAX_LIMIT, UNLIMITED
from bot.text.quota_messages import limit_text, report_lines, rules_lines, usage_lines
from bot.text.spend_messages import budget_text, spend_lines

if TYPE_CHECKING:
    from bot.discord_app.retouch_bot import Retouch

Period = Literal["day", "week", "month"]
LimitValue = app_commands.Range[int, UNLIMITED, MAX_LIMIT]
# A member, or a user who has left the server (their rules and usage still exist).
AnyUser = Union[discord.Member, discord.User]
LIMIT_HELP = "Images per period: -1 = unlimited, 0 = blocked"
BudgetValue = app_commands.Range[float, 0, MAX_BUDGET_USD]


def _embed(title: str, lines: list[str], colour: discord.Colour = discord.Colour.blurple()) -> discord.Embed:
    return discord.Embed(title=title, description="\n".join(lines)[:4096], colour=colour)


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class QuotaCommands(commands.GroupCog, group_name="quota", group_description="Set and inspect image quotas (moderators)"):
    def __init__(self, bot: "Retouch") -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        # Discord's default permissions can be changed by a server admin, so check again here.
        if not is_moderator(interaction, self.bot.settings.moderator_role_ids):
            raise app_commands.CheckFailure("Only moderators can change or inspect quotas (Manage Server permission or a moderator role).")
        return True

    @property
    def store(self):  # type: ignore[no-untyped-def]
        return self.bot.store

    async def _usage_embed(self, guild_id: int, user: AnyUser, title: str) -> discord.Embed:
        usage = await self.store.usage_for(guild_id, user.id, role_ids_of(user))
        return _embed(title, usage_lines(usage))

    @app_commands.command(name="set", description="Give one member their own limit (overrides roles and the server default)")
    @app_commands.describe(user="The member", limit=LIMIT_HELP, period="Per day, week or month (default: the server's)")
    async def set_(self, interaction: discord.Interaction, user: AnyUser, limit: LimitValue, period: Optional[Period] = None) -> None:
        assert interaction.guild_id is not None
        rule = await self.store.set_user_limit(interaction.guild_id, user.id, limit, period)
        embed = await self._usage_embed(interaction.guild_id, user, f"{user.display_name}: {limit_text(rule.limit, rule.period)}")
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(name="reset", description="Clear a member's usage in the current period")
    @app_commands.describe(user="The member whose used images go back to zero")
    async def reset(self, interaction: discord.Interaction, user: AnyUser) -> None:
        assert interaction.guild_id is not None
        cleared = await self.store.reset_user(interaction.guild_id, user.id, role_ids_of(user))
        embed = await self._usage_embed(interaction.guild_id, user, f"Reset {user.display_name}: {cleared} image(s) cleared")
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(name="default", description="Set the server-wide limit for members without another rule")
    @app_commands.describe(limit=LIMIT_HELP, period="Per day, week or month (default: keep the current one)")
    async def default(self, interaction: discord.Interaction, limit: LimitValue, period: Optional[Period] = None) -> None:
        assert interaction.guild_id is not None
        rule = await self.store.set_guild_default(interaction.guild_id, limit, period)
        await interaction.response.send_message(
            embed=_embed("Server default updated", [f"Members without another rule get {limit_text(rule.limit, rule.period)}."]),
            ephemeral=True,
        )

    @app_commands.command(name="role", description="Set a limit for everyone with a role (a member gets their best role)")
    @app_commands.describe(role="The role", limit=LIMIT_HELP, period="Per day, week or month (default: the server's)")
    async def role(self, interaction: discord.Interaction, role: discord.Role, limit: LimitValue, period: Optional[Period] = None) -> None:
        assert interaction.guild_id is not None
        if role.is_default():
            raise UserFacingError("To set a limit for everyone, use `/quota default`.")
        rule = await self.store.set_role_limit(interaction.guild_id, role.id, limit, period)
        await interaction.response.send_message(
            embed=_embed("Role limit set", [f"{role.mention}: {limit_text(rule.limit, rule.period)}"]), ephemeral=True
        )

    @app_commands.command(name="clear", description="Remove a member's override, a role's limit, or the server default")
    @app_commands.describe(
        user="Remove this member's own limit",
        role="Remove this role's limit",
        server_default="Remove the server default (members fall back to the bot's default)",
    )
    async def clear(
        self,
        interaction: discord.Interaction,
        user: Optional[AnyUser] = None,
        role: Optional[discord.Role] = None,
        server_default: bool = False,
    ) -> None:
        assert interaction.guild_id is not None
        if [user is not None, role is not None, server_default].count(True) != 1:
            raise UserFacingError(
                "Pick exactly one: `user` to remove a member's override, `role` to remove a role's limit, "
                "or `server_default:True` to remove the server default."
            )
        lines: list[str] = []
        if user is not None:
            removed = await self.store.clear_user_limit(interaction.guild_id, user.id)
            lines.append(f"Removed {user.display_name}'s override." if removed else f"{user.display_name} had no override.")
            lines += usage_lines(await self.store.usage_for(interaction.guild_id, user.id, role_ids_of(user)))
        elif role is not None:
            removed = await self.store.clear_role_limit(interaction.guild_id, role.id)
            lines.append(f"Removed the limit for {role.mention}." if removed else f"{role.mention} had no limit.")
        else:
            removed = await self.store.clear_guild_default(interaction.guild_id)
            rules = await self.store.list_rules(interaction.guild_id)
            fallback = limit_text(rules.bot_default_limit, rules.bot_default_period)
            lines.append(f"Removed the server default; members without another rule get the bot default, {fallback}." if removed else "There was no server default.")
        await interaction.response.send_message(embed=_embed("Quota rule removed" if removed else "Nothing to remove", lines), ephemeral=True)

    @app_commands.command(name="show", description="A member's limit, usage and reset time, and which rule applies")
    @app_commands.describe(user="The member (default: you, plus the server's rules)", public="Post it in the channel")
    async def show(self, interaction: discord.Interaction, user: Optional[AnyUser] = None, public: bool = False) -> None:
        assert interaction.guild is not None and interaction.guild_id is not None
        target = user or interaction.user
        embed = await self._usage_embed(interaction.guild_id, target, f"Quota for {target.display_name}")
        if user is None:
            guild = interaction.guild
            rules = await self.store.list_rules(interaction.guild_id)
            lines = rules_lines(
                rules,
                role_name=lambda rid: (r.mention if (r := guild.get_role(rid)) else f"<@&{rid}>"),
                user_name=lambda uid: f"<@{uid}>",
            )
            embed.add_field(name="Server rules", value="\n".join(lines)[:1024], inline=False)
        await interaction.response.send_message(embed=embed, ephemeral=not public)

    @app_commands.command(name="report", description="Top members this period, and spend against the money caps")
    @app_commands.describe(public="Post it in the channel")
    async def report(self, interaction: discord.Interaction, public: bool = False) -> None:
        assert interaction.guild_id is not None
        # The chart takes a moment to draw (worker thread): answer within Discord's 3 s first.
        await interaction.response.defer(ephemeral=not public, thinking=True)
        report = await self.store.report(interaction.guild_id, top=15)
        lines = report_lines(report, user_name=lambda uid: f"<@{uid}>")
        embed = _embed("Usage report", lines)
        embed.add_field(name="Spend", value="\n".join(spend_lines(await self.store.spend_status(interaction.guild_id)))[:1024], inline=False)
        chart = await report_chart(self.bot.database, self.bot.charts, interaction.guild, report)
        if chart is not None:
            embed.set_image(url=f"attachment://{chart.filename}")
        await interaction.followup.send(embed=embed, files=[chart] if chart else [], ephemeral=not public)

    @app_commands.command(name="budget", description="Cap this server's estimated spend per period (no amount: remove the cap)")
    @app_commands.describe(
        amount="US dollars per period, e.g. 25 (leave out to remove the budget)",
        period="Per day, week or month (default: keep the current one, else month)",
    )
    async def budget(self, interaction: discord.Interaction, amount: Optional[BudgetValue] = None, period: Optional[Period] = None) -> None:
        assert interaction.guild_id is not None
        guild_id = interaction.guild_id
        if amount is None:
            if period is not None:
                raise UserFacingError("Give an `amount` in US dollars with the period, e.g. `/quota budget amount:25 period:month`.")
            removed = await self.store.clear_budget(guild_id)
            title = "Server budget removed" if removed else "There was no server budget"
            lines = ["Edits here are no longer capped by money (the bot-wide cap, if any, still applies)."] if removed else []
        else:
            budget = await self.store.set_budget(guild_id, float(amount), period)
            title = "Server budget set"
            lines = [
                f"This server may spend an estimated {budget_text(budget.limit_usd, budget.period)}. "
                "An edit that would go over it is refused before anything is sent to the provider."
            ]
        lines += spend_lines(await self.store.spend_status(guild_id))
        await interaction.response.send_message(embed=_embed(title, lines), ephemeral=True)


class UsageCommand(commands.Cog):
    def __init__(self, bot: "Retouch") -> None:
        self.bot = bot

    @app_commands.command(name="usage", description="How many images you have left, and when your quota resets")
    async def usage(self, interaction: discord.Interaction) -> None:
        if interaction.guild_id is None and not self.bot.settings.allow_dms:
            raise app_commands.NoPrivateMessage()
        usage = await self.bot.store.usage_for(interaction.guild_id, interaction.user.id, role_ids_of(interaction.user))
        await interaction.response.send_message(embed=_embed("Your image quota", usage_lines(usage)), ephemeral=True)


async def setup(bot: "Retouch") -> None:
    await bot.add_cog(QuotaCommands(bot))
    await bot.add_cog(UsageCommand(bot))
