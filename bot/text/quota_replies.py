"""What /quota and /usage answer (no Discord types): one Panel per reply."""

from __future__ import annotations

from bot.store.models import Budget, GuildRules, LimitRule, MemberUsage, ServerReport, SpendStatus
from bot.text import mentions
from bot.text.panel import Panel, Section
from bot.text.quota_messages import limit_text, report_lines, rules_lines, usage_lines
from bot.text.spend_messages import budget_text, spend_lines

MODERATORS_ONLY = "Only moderators can change or inspect quotas (Manage Server permission or a moderator role)."
EVERYONE_ROLE = "To set a limit for everyone, use `/quota default`."
CLEAR_PICK_ONE = (
    "Pick exactly one: `user` to remove a member's override, `role` to remove a role's limit, "
    "or `server_default:True` to remove the server default."
)
BUDGET_NEEDS_AMOUNT = "Give an `amount` in US dollars with the period, e.g. `/quota budget amount:25 period:month`."


def _removed_title(removed: bool) -> str:
    return "Quota rule removed" if removed else "Nothing to remove"


def own_usage(usage: MemberUsage) -> Panel:
    return Panel("Your image quota", usage_lines(usage))


def member_limit_set(name: str, rule: LimitRule, usage: MemberUsage) -> Panel:
    return Panel(f"{name}: {limit_text(rule.limit, rule.period)}", usage_lines(usage))


def member_reset(name: str, cleared: int, usage: MemberUsage) -> Panel:
    return Panel(f"Reset {name}: {cleared} image(s) cleared", usage_lines(usage))


def server_default_set(rule: LimitRule) -> Panel:
    return Panel("Server default updated", [f"Members without another rule get {limit_text(rule.limit, rule.period)}."])


def role_limit_set(role_id: int, rule: LimitRule) -> Panel:
    return Panel("Role limit set", [f"{mentions.role(role_id)}: {limit_text(rule.limit, rule.period)}"])


def member_override_cleared(name: str, removed: bool, usage: MemberUsage) -> Panel:
    said = f"Removed {name}'s override." if removed else f"{name} had no override."
    return Panel(_removed_title(removed), [said, *usage_lines(usage)])


def role_limit_cleared(role_id: int, removed: bool) -> Panel:
    role = mentions.role(role_id)
    return Panel(_removed_title(removed), [f"Removed the limit for {role}." if removed else f"{role} had no limit."])


def server_default_cleared(removed: bool, rules: GuildRules) -> Panel:
    if not removed:
        return Panel(_removed_title(removed), ["There was no server default."])
    fallback = limit_text(rules.bot_default_limit, rules.bot_default_period)
    return Panel(_removed_title(removed), [f"Removed the server default; members without another rule get the bot default, {fallback}."])


def member_quota(name: str, usage: MemberUsage, rules: GuildRules | None = None) -> Panel:
    """A member's quota; with the server's rules when a moderator looks at their own."""
    sections = [Section("Server rules", rules_lines(rules, role_name=mentions.role, user_name=mentions.user))] if rules is not None else []
    return Panel(f"Quota for {name}", usage_lines(usage), sections)


def usage_report(report: ServerReport, spend: SpendStatus) -> Panel:
    return Panel("Usage report", report_lines(report, user_name=mentions.user), [Section("Spend", spend_lines(spend))])


def budget_removed(removed: bool, spend: SpendStatus) -> Panel:
    if not removed:
        return Panel("There was no server budget", spend_lines(spend))
    said = "Edits here are no longer capped by money (the bot-wide cap, if any, still applies)."
    return Panel("Server budget removed", [said, *spend_lines(spend)])


def budget_set(budget: Budget, spend: SpendStatus) -> Panel:
    said = (
        f"This server may spend an estimated {budget_text(budget.limit_usd, budget.period)}. "
        "An edit that would go over it is refused before anything is sent to the provider."
    )
    return Panel("Server budget set", [said, *spend_lines(spend)])
