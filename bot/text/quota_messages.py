"""How quota facts read to members and moderators (no Discord types)."""

from __future__ import annotations

from datetime import datetime

from bot.store.quota import (
    UNLIMITED,
    GuildRules,
    MemberUsage,
    QuotaExceeded,
    Rule,
    ServerReport,
)
from bot.text.edit_summary import PERIOD_WORDS, cost_text, discord_time, plural

PER_PERIOD = {"day": "per day", "week": "per week", "month": "per month"}


def rule_text(rule: Rule, detail: int | None) -> str:
    """Which rule applies; a role is shown as a mention, which Discord renders as its name."""
    if rule is Rule.ROLE and detail is not None:
        return f"role <@&{detail}>"
    return rule.value


def limit_text(limit: int, period: str) -> str:
    if limit == UNLIMITED:
        return "unlimited images"
    if limit == 0:
        return "no images (blocked)"
    return f"{plural(limit, 'image')} {PER_PERIOD.get(period, 'per ' + period)}"


def resets_text(moment: datetime) -> str:
    return f"{discord_time(moment, 'R')} ({discord_time(moment, 'f')})"


def usage_lines(usage: MemberUsage) -> list[str]:
    word = PERIOD_WORDS.get(usage.period, f"this {usage.period}")
    in_flight = f" ({usage.reserved_in_flight} in progress)" if usage.reserved_in_flight else ""
    remaining = "unlimited" if usage.remaining is None else str(usage.remaining)
    return [
        f"Limit: {limit_text(usage.limit, usage.period)} — {rule_text(usage.rule, usage.rule_detail)}",
        f"Used {word}: {usage.used}{in_flight} · Remaining: {remaining}",
        f"Resets {resets_text(usage.resets_at)}",
        f"Tokens {word}: {usage.input_tokens:,} in · {usage.output_tokens:,} out · {usage.total_tokens:,} total"
        f" · Est. cost: {cost_text(usage.cost_usd)}",
    ]


def refusal_text(refusal: QuotaExceeded) -> str:
    when = resets_text(refusal.resets_at)
    if refusal.rule.value == "bot-wide daily budget":
        return (
            "Retouch has reached its daily image budget for all servers, set by the bot owner to cap costs. "
            f"It resets {when}."
        )
    if refusal.limit == 0:
        return f"You can't make edits here: your limit is 0 ({rule_text(refusal.rule, refusal.rule_detail)}). Ask a moderator if this is a mistake."
    word = PERIOD_WORDS.get(refusal.period, f"this {refusal.period}")
    if refusal.images_requested > refusal.limit:
        return (
            f"You asked for {plural(refusal.images_requested, 'image')} but your limit is {refusal.limit} "
            f"{PER_PERIOD.get(refusal.period, '')} ({rule_text(refusal.rule, refusal.rule_detail)}). Ask for fewer with `n`."
        )
    left = max(refusal.remaining, 0)
    if left > 0:
        return (
            f"You have {plural(left, 'image')} left {word} but asked for {refusal.images_requested}. "
            f"Lower `n` to {left}, or wait until your quota resets {when}."
        )
    return f"You've used all {refusal.limit} of your images {word} ({rule_text(refusal.rule, refusal.rule_detail)}). Your quota resets {when}."


def rules_lines(rules: GuildRules, *, role_name, user_name) -> list[str]:  # type: ignore[no-untyped-def]
    lines = []
    if rules.default is not None:
        lines.append(f"Server default: {limit_text(rules.default.limit, rules.default.period)}")
    else:
        lines.append(f"Server default: not set — bot default {limit_text(rules.bot_default_limit, rules.bot_default_period)}")
    for role in rules.roles:
        lines.append(f"Role {role_name(role.role_id)}: {limit_text(role.limit, role.period)}")
    for user in rules.users:
        lines.append(f"Override for {user_name(user.user_id)}: {limit_text(user.limit, user.period)}")
    return lines


def report_lines(report: ServerReport, *, user_name) -> list[str]:  # type: ignore[no-untyped-def]
    word = PERIOD_WORDS.get(report.period, report.period)
    if not report.rows:
        return [f"Nobody has made an edit {word}."]
    lines = [
        f"{word.capitalize()}: {plural(report.images, 'image')} for {plural(report.users, 'member')} "
        f"· {report.tokens:,} tokens · est. {cost_text(report.cost_usd)} · resets {discord_time(report.resets_at)}",
    ]
    if report.cancelled_running or report.timed_out_running:
        stopped = [
            f"{plural(count, 'edit')} {what}"
            for count, what in ((report.cancelled_running, "cancelled while running"),
                                (report.timed_out_running, "timed out while running"))
            if count
        ]
        lines.append(
            f"{' and '.join(stopped)}: images refunded, but the provider may bill them, so "
            f"est. {cost_text(report.running_estimate_usd)} more counts toward spend caps"
        )
    for rank, row in enumerate(report.rows, start=1):
        refunded = f", {row.refunded} refunded" if row.refunded else ""
        lines.append(
            f"{rank}. {user_name(row.user_id)} — {plural(row.images, 'image')} in {plural(row.requests, 'request')}{refunded}"
            f" · {row.tokens:,} tokens · {cost_text(row.cost_usd)}"
        )
    return lines
