"""What /quota and /usage answer (no Discord types): one Panel per reply."""

from __future__ import annotations

from bot.store.models import Budget, GuildRules, LimitRule, MemberUsage, ServerReport, SpendStatus
from bot.text import mentions
from bot.text.i18n import N_, lazy_texts, t, tn
from bot.text.panel import Panel, Section
from bot.text.quota_messages import limit_text, report_lines, rules_lines, usage_lines
from bot.text.spend_messages import budget_text, spend_lines

_TEXTS = {
    "MODERATORS_ONLY": N_("Only moderators can change or inspect quotas (Manage Server permission or a moderator role)."),
    "EVERYONE_ROLE": N_("To set a limit for everyone, use `/quota default`."),
    "CLEAR_PICK_ONE": N_(
        "Pick exactly one: `user` to remove a member's override, `role` to remove a role's limit, "
        "or `server_default:True` to remove the server default."
    ),
    "BUDGET_NEEDS_AMOUNT": N_("Give an `amount` in US dollars with the period, e.g. `/quota budget amount:25 period:month`."),
}
__getattr__ = lazy_texts(_TEXTS)


def _removed_title(removed: bool) -> str:
    return t("Quota rule removed") if removed else t("Nothing to remove")


def own_usage(usage: MemberUsage) -> Panel:
    return Panel(t("Your image quota"), usage_lines(usage))


def member_limit_set(name: str, rule: LimitRule, usage: MemberUsage) -> Panel:
    return Panel(t("%(member)s: %(limit)s", member=name, limit=limit_text(rule.limit, rule.period)), usage_lines(usage))


def member_reset(name: str, cleared: int, usage: MemberUsage) -> Panel:
    title = tn("Reset %(member)s: %(n)s image cleared", "Reset %(member)s: %(n)s images cleared", cleared, member=name)
    return Panel(title, usage_lines(usage))


def server_default_set(rule: LimitRule) -> Panel:
    return Panel(
        t("Server default updated"),
        [t("Members without another rule get %(limit)s.", limit=limit_text(rule.limit, rule.period))],
    )


def role_limit_set(role_id: int, rule: LimitRule) -> Panel:
    return Panel(t("Role limit set"), [f"{mentions.role(role_id)}: {limit_text(rule.limit, rule.period)}"])


def member_override_cleared(name: str, removed: bool, usage: MemberUsage) -> Panel:
    said = t("Removed %(member)s's override.", member=name) if removed else t("%(member)s had no override.", member=name)
    return Panel(_removed_title(removed), [said, *usage_lines(usage)])


def role_limit_cleared(role_id: int, removed: bool) -> Panel:
    role = mentions.role(role_id)
    said = t("Removed the limit for %(role)s.", role=role) if removed else t("%(role)s had no limit.", role=role)
    return Panel(_removed_title(removed), [said])


def server_default_cleared(removed: bool, rules: GuildRules) -> Panel:
    if not removed:
        return Panel(_removed_title(removed), [t("There was no server default.")])
    fallback = limit_text(rules.bot_default_limit, rules.bot_default_period)
    return Panel(
        _removed_title(removed),
        [t("Removed the server default; members without another rule get the bot default, %(limit)s.", limit=fallback)],
    )


def member_quota(name: str, usage: MemberUsage, rules: GuildRules | None = None) -> Panel:
    """A member's quota; with the server's rules when a moderator looks at their own."""
    sections = (
        [Section(t("Server rules"), rules_lines(rules, role_name=mentions.role, user_name=mentions.user))]
        if rules is not None else []
    )
    return Panel(t("Quota for %(member)s", member=name), usage_lines(usage), sections)


def usage_report(report: ServerReport, spend: SpendStatus) -> Panel:
    return Panel(t("Usage report"), report_lines(report, user_name=mentions.user), [Section(t("Spend"), spend_lines(spend))])


def budget_removed(removed: bool, spend: SpendStatus) -> Panel:
    if not removed:
        return Panel(t("There was no server budget"), spend_lines(spend))
    said = t("Edits here are no longer capped by money (the bot-wide cap, if any, still applies).")
    return Panel(t("Server budget removed"), [said, *spend_lines(spend)])


def budget_set(budget: Budget, spend: SpendStatus) -> Panel:
    said = t(
        "This server may spend an estimated %(budget)s. "
        "An edit that would go over it is refused before anything is sent to the provider.",
        budget=budget_text(budget.limit_usd, budget.period),
    )
    return Panel(t("Server budget set"), [said, *spend_lines(spend)])
