"""What /settings show says: a server's own settings and the bot-wide ones that apply
(no Discord types: channels, roles and members are written as mentions)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.config import Settings
from bot.store.models import GuildRules, SpendStatus
from bot.store.server_settings import MAX_IMAGES_PER_EDIT, ServerSettings
from bot.text import mentions
from bot.text.edit_summary import plural
from bot.text.panel import Panel, Section
from bot.text.quota_messages import limit_text
from bot.text.spend_messages import budget_text, cap_line, usd


@dataclass(frozen=True)
class SettingsSummary:
    """Everything /settings show reports about one server, gathered before it is written."""

    server: ServerSettings
    models: Sequence[str]  # what members here may use, the default first
    rules: GuildRules
    spend: SpendStatus
    log_problem: str | None
    log_dropped: int
    bot: Settings  # the owner's settings (environment) that shape what a server can do
    safety_level: str | None = None  # /settings safety; None: SAFETY_CHECK applies


def code_list(names: Sequence[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def server_lines(summary: SettingsSummary) -> list[str]:
    s = summary.server
    lines = []
    if s.log_channel_id is None:
        lines.append("**Log channel:** off (`/settings log-channel channel:#channel`)")
    else:
        lines.append(f"**Log channel:** {mentions.channel(s.log_channel_id)}")
        if summary.log_problem:
            lines.append(f"⚠️ {summary.log_problem}")
    default = summary.models[0] if summary.models else None
    if s.allowed_models:
        lines.append(f"**Models:** only {code_list(summary.models) or '(none available)'}" + (f" — default `{default}`" if default else ""))
    else:
        lines.append(f"**Models:** all {len(summary.models)} the bot offers — default `{default}`")
    if s.max_images is None:
        lines.append(f"**Max images per edit:** {MAX_IMAGES_PER_EDIT} (the bot's maximum)")
    else:
        lines.append(f"**Max images per edit:** {s.max_images}")
    words = len(s.blocked_words)
    if words:
        lines.append(f"**Blocked words:** {words} (`/settings blocked-words list`)")
    else:
        lines.append("**Blocked words:** none (`/settings blocked-words add`)")
    rules = summary.rules
    if rules.default is not None:
        lines.append(f"**Quota default:** {limit_text(rules.default.limit, rules.default.period)} (`/quota default`)")
    else:
        lines.append("**Quota default:** not set — the bot default applies (`/quota default`)")
    if rules.roles or rules.users:
        lines.append(f"**Quota rules:** {plural(len(rules.roles), 'role limit')}, {plural(len(rules.users), 'member override')} (`/quota show`)")
    if summary.spend.server is not None:
        lines.append(f"**Spend budget:** {budget_text(summary.spend.server.limit_usd, summary.spend.server.period)}")
        lines.append(cap_line(summary.spend.server))
    else:
        lines.append("**Spend budget:** none (`/quota budget amount:<USD>`)")
    level = summary.safety_level or summary.bot.safety_check
    lines.append(f"**Safety check:** {level}{'' if summary.safety_level else ' — the bot default'} (`/settings safety`)")
    return lines


def bot_lines(summary: SettingsSummary) -> list[str]:
    b = summary.bot
    lines = [
        f"**Default model:** `{b.image_model}` (IMAGE_MODEL)",
        f"**Bot default quota:** {limit_text(b.quota_default_limit, b.quota_default_period)} (QUOTA_DEFAULT_LIMIT)",
    ]
    if b.global_daily_image_limit is not None:
        lines.append(f"**Daily image limit, all servers:** {b.global_daily_image_limit} (GLOBAL_DAILY_IMAGE_LIMIT)")
    else:
        lines.append("**Daily image limit, all servers:** none")
    if summary.spend.global_ is not None:
        lines.append(f"**Spending cap, all servers:** {budget_text(summary.spend.global_.limit_usd, summary.spend.global_.period)} (GLOBAL_SPEND_LIMIT_USD)")
        lines.append(cap_line(summary.spend.global_))
    else:
        lines.append("**Spending cap, all servers:** none")
    if b.confirm_cost_above_usd is not None:
        lines.append(f"**Cost confirmation:** edits estimated above {usd(b.confirm_cost_above_usd)} ask first (CONFIRM_COST_ABOVE_USD)")
    else:
        lines.append("**Cost confirmation:** off")
    if b.unpriced_image_usd is not None:
        lines.append(f"**Models without a price:** estimated at {usd(b.unpriced_image_usd)} per image (UNPRICED_IMAGE_USD)")
    else:
        lines.append("**Models without a price:** refused while a spending cap applies")
    lines.append(
        f"**Safety check default:** {b.safety_check} (SAFETY_CHECK); {b.safety_strikes} strikes in 24 h pause a member for "
        f"{b.safety_pause_hours:g} h; endpoint down: {'edits go on unchecked' if b.safety_fail_open else 'edits refused'}"
    )
    roles = " ".join(mentions.role(r) for r in b.moderator_role_ids)
    lines.append("**Moderators:** Manage Server" + (f", {roles}" if roles else ""))
    if summary.log_dropped:
        lines.append(f"**Audit log:** {summary.log_dropped} entries dropped (the queue overflowed)")
    return lines


def panel(summary: SettingsSummary) -> Panel:
    return Panel(
        "Retouch settings for this server",
        server_lines(summary),
        [Section("Bot-wide (set by the bot owner)", bot_lines(summary))],
    )
