"""What members and moderators read about the content safety check (no Discord types)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.store.strikes import MemberSafety, StrikeReport
from bot.text.edit_summary import plural
from bot.text.panel import Panel, Section

# The moderation endpoint's category names, in words a member understands.
CATEGORY_WORDS = {
    "sexual": "sexual content",
    "sexual/minors": "sexual content involving minors",
    "harassment": "harassment",
    "harassment/threatening": "threats",
    "hate": "hate",
    "hate/threatening": "hateful threats",
    "illicit": "illegal activity",
    "illicit/violent": "violent crime or weapons",
    "self-harm": "self-harm",
    "self-harm/intent": "intent to self-harm",
    "self-harm/instructions": "self-harm instructions",
    "violence": "violence",
    "violence/graphic": "graphic violence",
    "unspecified": "content the provider does not allow",
}

LEVEL_WORDS = {
    "off": "off (nothing is checked)",
    "prompts": "prompts (every prompt is checked)",
    "images": "images (every prompt and input image is checked)",
}

UNAVAILABLE = "Safety check unavailable, try again in a minute. Nothing was sent or counted."


def category_words(categories: Sequence[str]) -> str:
    words = [CATEGORY_WORDS.get(c, c.replace("/", " / ").replace("-", " ")) for c in categories]
    words = list(dict.fromkeys(words))
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _when(moment: datetime) -> str:
    ts = int(moment.timestamp())
    return f"<t:{ts}:f> (<t:{ts}:R>)"


def _here(in_server: bool) -> str:
    return "in this server" if in_server else "here"


def flagged(categories: Sequence[str], where: str, *, strikes: int, most: int, pause_hours: float,
            paused_until: datetime | None, in_server: bool = True) -> str:
    """The private refusal of a flagged request, with where the member stands."""
    text = (
        f"Retouch's safety check flagged your {where} for {category_words(categories)}, which isn't allowed "
        f"{_here(in_server)}. Nothing was sent or counted; change it and try again."
    )
    if paused_until is not None:
        return text + f"\nThat was {plural(most, 'strike')} within 24 hours: your editing {_here(in_server)} is paused until {_when(paused_until)}."
    return text + (
        f"\nThis is a strike ({strikes} of {most} within 24 hours; at {most} your editing {_here(in_server)} "
        f"pauses for {_hours(pause_hours)})."
    )


def provider_strike(*, strikes: int, most: int, pause_hours: float, paused_until: datetime | None, in_server: bool = True) -> str:
    """Added to a provider safety rejection the member is told about."""
    if paused_until is not None:
        return f"\nThat was {plural(most, 'strike')} within 24 hours: your editing {_here(in_server)} is paused until {_when(paused_until)}."
    return f"\nThis is a strike ({strikes} of {most} within 24 hours; at {most} your editing {_here(in_server)} pauses for {_hours(pause_hours)})."


def paused(until: datetime, *, in_server: bool = True) -> str:
    return (
        f"Your editing {_here(in_server)} is paused until {_when(until)} after safety flags, or by a moderator. "
        "Nothing was sent or counted; a moderator can lift the pause early."
    )


def _hours(hours: float) -> str:
    whole = round(hours)
    return plural(whole, "hour") if abs(hours - whole) < 1e-9 else f"{hours:g} hours"


# Who struck the last strike (the strike's `source` in the store).
STRUCK_BY = {"moderation": "flagged by the safety check", "provider": "rejected by the provider"}


def pause_alert(user_id: int, *, strikes: int, until: datetime, categories: Sequence[str], source: str) -> str:
    """The audit log's alert when strikes pause a member (never the prompt or the image).
    `source`: "moderation" or "provider"."""
    why = f"the last one: {category_words(categories)}" if categories else "the last one from the image provider's safety system"
    return (
        f"⚠️ <@{user_id}> reached {plural(strikes, 'safety strike')} within 24 hours ({why}; {STRUCK_BY.get(source, source)}) and can't edit "
        f"until {_when(until)}. `/quota resume user:` lifts the pause; `/quota show user:` shows their strikes."
    )


def member_section(safety: MemberSafety, *, most: int) -> Section:
    """For /quota show user: strikes and a pause."""
    lines = [f"Safety strikes: {safety.strikes} of {most} within 24 hours ({safety.total_strikes} in total)"]
    if safety.paused_until is not None:
        by = f" by <@{safety.paused_by}>" if safety.paused_by is not None else " after safety strikes"
        lines.append(f"⏸️ Editing paused{by} until {_when(safety.paused_until)}")
    return Section("Safety", lines)


def report_section(report: StrikeReport) -> Section:
    """For /quota report: strikes in the period, who has most, who is paused."""
    if not report.strikes and not report.paused:
        return Section("Safety strikes", ["No safety strikes this period."])
    lines = [f"{plural(report.strikes, 'strike')} by {plural(report.members, 'member')} this period"]
    lines += [f"<@{user}>: {plural(count, 'strike')}" for user, count in report.top]
    lines += [f"⏸️ <@{user}> paused until {_when(until)}" for user, until in report.paused]
    return Section("Safety strikes", lines)


def paused_by_moderator(name: str, user_id: int, until: datetime) -> Panel:
    return Panel(f"Paused {name}", [f"<@{user_id}> can't edit in this server until {_when(until)}. `/quota resume user:` lifts it."])


def resumed(name: str, user_id: int, lifted: bool) -> Panel:
    if lifted:
        return Panel(f"Resumed {name}", [f"<@{user_id}> can edit again; their strikes so far no longer count toward a pause."])
    return Panel(f"{name} was not paused", [f"<@{user_id}> was not paused; their strikes so far no longer count toward a pause."])


def level_set(level: str, *, default: str) -> Panel:
    lines = [f"Safety check: {LEVEL_WORDS[level]}."]
    if level != "off":
        lines.append(
            "Checked with the moderation endpoint before anything is reserved; a flagged request is refused privately, "
            "logged in the audit channel with its categories, and counts as a strike."
        )
    lines.append(f"The bot's default (SAFETY_CHECK) is {default}.")
    return Panel("Safety check updated", lines)


def audit_pause_by_moderator(user_id: int, moderator_id: int, until: datetime) -> str:
    return f"⏸️ <@{moderator_id}> paused <@{user_id}>'s editing until {_when(until)}."


def audit_resume(user_id: int, moderator_id: int) -> str:
    return f"▶️ <@{moderator_id}> lifted <@{user_id}>'s pause; their strikes so far no longer count."


# Command descriptions (English; the command tree shows them).
SETTINGS_SAFETY = "Check prompts (and input images) with the moderation endpoint before anything is paid for"
SETTINGS_SAFETY_OPTIONS = {"level": "off; prompts; or images (prompts and every input image)"}
QUOTA_PAUSE = "Stop a member from editing here for a while (content safety)"
QUOTA_PAUSE_OPTIONS = {"user": "The member", "hours": "How long (default: SAFETY_PAUSE_HOURS)"}
QUOTA_RESUME = "Let a paused member edit again (and forgive their strikes so far)"
QUOTA_RESUME_OPTIONS = {"user": "The member"}
