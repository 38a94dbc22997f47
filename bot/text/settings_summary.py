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
from bot.text.i18n import num, t
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
        lines.append(t("**Log channel:** off (`/settings log-channel channel:#channel`)"))
    else:
        lines.append(t("**Log channel:** %(channel)s", channel=mentions.channel(s.log_channel_id)))
        if summary.log_problem:
            lines.append(f"⚠️ {summary.log_problem}")
    default = summary.models[0] if summary.models else None
    if s.allowed_models:
        models = code_list(summary.models) or t("(none available)")
        if default:
            lines.append(t("**Models:** only %(models)s — default `%(default)s`", models=models, default=default))
        else:
            lines.append(t("**Models:** only %(models)s", models=models))
    else:
        lines.append(t(
            "**Models:** all %(count)s the bot offers — default `%(default)s`", count=num(len(summary.models)), default=default,
        ))
    if s.max_images is None:
        lines.append(t("**Max images per edit:** %(most)s (the bot's maximum)", most=MAX_IMAGES_PER_EDIT))
    else:
        lines.append(t("**Max images per edit:** %(most)s", most=s.max_images))
    words = len(s.blocked_words)
    if words:
        lines.append(t("**Blocked words:** %(count)s (`/settings blocked-words list`)", count=num(words)))
    else:
        lines.append(t("**Blocked words:** none (`/settings blocked-words add`)"))
    rules = summary.rules
    if rules.default is not None:
        lines.append(t("**Quota default:** %(limit)s (`/quota default`)", limit=limit_text(rules.default.limit, rules.default.period)))
    else:
        lines.append(t("**Quota default:** not set — the bot default applies (`/quota default`)"))
    if rules.roles or rules.users:
        lines.append(t(
            "**Quota rules:** %(roles)s, %(members)s (`/quota show`)",
            roles=plural(len(rules.roles), "role limit"), members=plural(len(rules.users), "member override"),
        ))
    if summary.spend.server is not None:
        lines.append(t(
            "**Spend budget:** %(budget)s", budget=budget_text(summary.spend.server.limit_usd, summary.spend.server.period),
        ))
        lines.append(cap_line(summary.spend.server))
    else:
        lines.append(t("**Spend budget:** none (`/quota budget amount:<USD>`)"))
    if summary.safety_level:
        lines.append(t("**Safety check:** %(level)s (`/settings safety`)", level=summary.safety_level))
    else:
        lines.append(t("**Safety check:** %(level)s — the bot default (`/settings safety`)", level=summary.bot.safety_check))
    return lines


def bot_lines(summary: SettingsSummary) -> list[str]:
    b = summary.bot
    lines = [
        t("**Default model:** `%(model)s` (IMAGE_MODEL)", model=b.image_model),
        t(
            "**Bot default quota:** %(limit)s (QUOTA_DEFAULT_LIMIT)",
            limit=limit_text(b.quota_default_limit, b.quota_default_period),
        ),
    ]
    if b.global_daily_image_limit is not None:
        lines.append(t(
            "**Daily image limit, all servers:** %(limit)s (GLOBAL_DAILY_IMAGE_LIMIT)", limit=num(b.global_daily_image_limit),
        ))
    else:
        lines.append(t("**Daily image limit, all servers:** none"))
    if summary.spend.global_ is not None:
        lines.append(t(
            "**Spending cap, all servers:** %(budget)s (GLOBAL_SPEND_LIMIT_USD)",
            budget=budget_text(summary.spend.global_.limit_usd, summary.spend.global_.period),
        ))
        lines.append(cap_line(summary.spend.global_))
    else:
        lines.append(t("**Spending cap, all servers:** none"))
    if b.confirm_cost_above_usd is not None:
        lines.append(t(
            "**Cost confirmation:** edits estimated above %(threshold)s ask first (CONFIRM_COST_ABOVE_USD)",
            threshold=usd(b.confirm_cost_above_usd),
        ))
    else:
        lines.append(t("**Cost confirmation:** off"))
    if b.unpriced_image_usd is not None:
        lines.append(t(
            "**Models without a price:** estimated at %(price)s per image (UNPRICED_IMAGE_USD)", price=usd(b.unpriced_image_usd),
        ))
    else:
        lines.append(t("**Models without a price:** refused while a spending cap applies"))
    endpoint_down = t("edits go on unchecked") if b.safety_fail_open else t("edits refused")
    lines.append(t(
        "**Safety check default:** %(level)s (SAFETY_CHECK); %(strikes)s in 24 h pause a member for %(hours)s h; "
        "endpoint down: %(endpoint_down)s",
        level=b.safety_check, strikes=plural(b.safety_strikes, "strike"), hours=num(b.safety_pause_hours),
        endpoint_down=endpoint_down,
    ))
    roles = " ".join(mentions.role(r) for r in b.moderator_role_ids)
    if roles:
        lines.append(t("**Moderators:** Manage Server, %(roles)s", roles=roles))
    else:
        lines.append(t("**Moderators:** Manage Server"))
    if summary.log_dropped:
        lines.append(t(
            "**Audit log:** %(count)s entries dropped (the queue overflowed)", count=num(summary.log_dropped),
        ))
    return lines


def panel(summary: SettingsSummary) -> Panel:
    return Panel(
        t("Retouch settings for this server"),
        server_lines(summary),
        [Section(t("Bot-wide (set by the bot owner)"), bot_lines(summary))],
    )
