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
from bot.text import mentions
from bot.text.edit_summary import cost_text, discord_time, period_word, plural
from bot.text.i18n import N_, lazy_texts, num, t

# TRANSLATORS: how often a limit applies, as in "10 images per day".
_PER_PERIOD = {"day": N_("per day"), "week": N_("per week"), "month": N_("per month")}
# TRANSLATORS: which quota rule applies to a member ("— server default").
_RULE_WORDS = {
    "user override": N_("user override"),
    "server default": N_("server default"),
    "bot default": N_("bot default"),
    "bot-wide daily budget": N_("bot-wide daily budget"),
    "role": N_("role"),
}
__getattr__ = lazy_texts({"PER_PERIOD": lambda: {p: t(w) for p, w in _PER_PERIOD.items()}})


def per_period(period: str) -> str:
    word = _PER_PERIOD.get(period)
    return t(word) if word else t("per %(period)s", period=period)


def rule_text(rule: Rule, detail: int | None) -> str:
    """Which rule applies; a role is shown as a mention, which Discord renders as its name."""
    if rule is Rule.ROLE and detail is not None:
        return t("role %(role)s", role=mentions.role(detail))
    word = _RULE_WORDS.get(rule.value)
    return t(word) if word else rule.value


def limit_text(limit: int, period: str) -> str:
    if limit == UNLIMITED:
        return t("unlimited images")
    if limit == 0:
        return t("no images (blocked)")
    return t("%(images)s %(per_period)s", images=plural(limit, "image"), per_period=per_period(period))


def resets_text(moment: datetime) -> str:
    return f"{discord_time(moment, 'R')} ({discord_time(moment, 'f')})"


def usage_lines(usage: MemberUsage) -> list[str]:
    word = period_word(usage.period)
    remaining = t("unlimited") if usage.remaining is None else num(usage.remaining)
    if usage.reserved_in_flight:
        used = t(
            "Used %(period)s: %(used)s (%(in_flight)s in progress) · Remaining: %(remaining)s",
            period=word, used=num(usage.used), in_flight=num(usage.reserved_in_flight), remaining=remaining,
        )
    else:
        used = t("Used %(period)s: %(used)s · Remaining: %(remaining)s", period=word, used=num(usage.used), remaining=remaining)
    return [
        t("Limit: %(limit)s — %(rule)s", limit=limit_text(usage.limit, usage.period), rule=rule_text(usage.rule, usage.rule_detail)),
        used,
        t("Resets %(when)s", when=resets_text(usage.resets_at)),
        t(
            "Tokens %(period)s: %(input)s in · %(output)s out · %(total)s total · Est. cost: %(cost)s",
            period=word, input=num(usage.input_tokens), output=num(usage.output_tokens), total=num(usage.total_tokens),
            cost=cost_text(usage.cost_usd),
        ),
    ]


def refusal_text(refusal: QuotaExceeded) -> str:
    when = resets_text(refusal.resets_at)
    if refusal.rule.value == "bot-wide daily budget":
        return t(
            "Retouch has reached its daily image budget for all servers, set by the bot owner to cap costs. "
            "It resets %(when)s.",
            when=when,
        )
    rule = rule_text(refusal.rule, refusal.rule_detail)
    if refusal.limit == 0:
        return t("You can't make edits here: your limit is 0 (%(rule)s). Ask a moderator if this is a mistake.", rule=rule)
    word = period_word(refusal.period)
    if refusal.images_requested > refusal.limit:
        return t(
            "You asked for %(asked)s but your limit is %(limit)s %(per_period)s (%(rule)s). Ask for fewer with `n`.",
            asked=plural(refusal.images_requested, "image"), limit=num(refusal.limit), per_period=per_period(refusal.period), rule=rule,
        )
    left = max(refusal.remaining, 0)
    if left > 0:
        return t(
            "You have %(left)s left %(period)s but asked for %(asked)s. "
            "Lower `n` to %(most)s, or wait until your quota resets %(when)s.",
            left=plural(left, "image"), period=word, asked=num(refusal.images_requested), most=left, when=when,
        )
    return t(
        "You've used all %(limit)s of your images %(period)s (%(rule)s). Your quota resets %(when)s.",
        limit=num(refusal.limit), period=word, rule=rule, when=when,
    )


def rules_lines(rules: GuildRules, *, role_name, user_name) -> list[str]:  # type: ignore[no-untyped-def]
    lines = []
    if rules.default is not None:
        lines.append(t("Server default: %(limit)s", limit=limit_text(rules.default.limit, rules.default.period)))
    else:
        lines.append(t(
            "Server default: not set — bot default %(limit)s",
            limit=limit_text(rules.bot_default_limit, rules.bot_default_period),
        ))
    for role in rules.roles:
        lines.append(t("Role %(role)s: %(limit)s", role=role_name(role.role_id), limit=limit_text(role.limit, role.period)))
    for user in rules.users:
        lines.append(t("Override for %(member)s: %(limit)s", member=user_name(user.user_id), limit=limit_text(user.limit, user.period)))
    return lines


def report_lines(report: ServerReport, *, user_name) -> list[str]:  # type: ignore[no-untyped-def]
    word = period_word(report.period)
    if not report.rows:
        return [t("Nobody has made an edit %(period)s.", period=word)]
    lines = [
        t(
            "%(period)s: %(images)s for %(members)s · %(tokens)s tokens · est. %(cost)s · resets %(when)s",
            period=word[:1].upper() + word[1:], images=plural(report.images, "image"), members=plural(report.users, "member"),
            tokens=num(report.tokens), cost=cost_text(report.cost_usd), when=discord_time(report.resets_at),
        ),
    ]
    if report.cancelled_running or report.timed_out_running:
        # Refunded to the member, but the provider may bill work it started: apart from real bills.
        cancelled, timed_out = report.cancelled_running, report.timed_out_running
        cost = cost_text(report.running_estimate_usd)
        if cancelled and timed_out:
            line = t(
                "%(cancelled)s cancelled and %(timed_out)s timed out while running: images refunded, but the provider "
                "may bill them, so est. %(cost)s more counts toward spend caps",
                cancelled=plural(cancelled, "edit"), timed_out=plural(timed_out, "edit"), cost=cost,
            )
        elif cancelled:
            line = t(
                "%(edits)s cancelled while running: images refunded, but the provider may bill them, "
                "so est. %(cost)s more counts toward spend caps",
                edits=plural(cancelled, "edit"), cost=cost,
            )
        else:
            line = t(
                "%(edits)s timed out while running: images refunded, but the provider may bill them, "
                "so est. %(cost)s more counts toward spend caps",
                edits=plural(timed_out, "edit"), cost=cost,
            )
        lines.append(line)
    for rank, row in enumerate(report.rows, start=1):
        if row.refunded:
            line = t(
                "%(rank)s. %(member)s — %(images)s in %(requests)s, %(refunded)s refunded · %(tokens)s tokens · %(cost)s",
                refunded=num(row.refunded), rank=rank, member=user_name(row.user_id), images=plural(row.images, "image"),
                requests=plural(row.requests, "request"), tokens=num(row.tokens), cost=cost_text(row.cost_usd),
            )
        else:
            line = t(
                "%(rank)s. %(member)s — %(images)s in %(requests)s · %(tokens)s tokens · %(cost)s",
                rank=rank, member=user_name(row.user_id), images=plural(row.images, "image"),
                requests=plural(row.requests, "request"), tokens=num(row.tokens), cost=cost_text(row.cost_usd),
            )
        lines.append(line)
    return lines
