"""What members and moderators read about the content safety check (no Discord types)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.store.strikes import MemberSafety, StrikeReport
from bot.text import mentions
from bot.text.edit_summary import plural
from bot.text.i18n import N_, lazy_texts, num, t
from bot.text.panel import Panel, Section

# The moderation endpoint's category names, in words a member understands.
_CATEGORY_WORDS = {
    "sexual": N_("sexual content"),
    "sexual/minors": N_("sexual content involving minors"),
    "harassment": N_("harassment"),
    "harassment/threatening": N_("threats"),
    "hate": N_("hate"),
    "hate/threatening": N_("hateful threats"),
    "illicit": N_("illegal activity"),
    "illicit/violent": N_("violent crime or weapons"),
    "self-harm": N_("self-harm"),
    "self-harm/intent": N_("intent to self-harm"),
    "self-harm/instructions": N_("self-harm instructions"),
    "violence": N_("violence"),
    "violence/graphic": N_("graphic violence"),
    "unspecified": N_("content the provider does not allow"),
}

_LEVEL_WORDS = {
    "off": N_("off (nothing is checked)"),
    "prompts": N_("prompts (every prompt is checked)"),
    "images": N_("images (every prompt and input image is checked)"),
}

# What the check flagged (bot/edits/safety.py's flagged_where), as in "flagged your prompt".
_WHERE = {
    "prompt": N_("prompt"),
    "image": N_("image"),
    "images": N_("images"),
    "prompt and image": N_("prompt and image"),
    "prompt and images": N_("prompt and images"),
}

# Who struck the last strike (the strike's `source` in the store).
_STRUCK_BY = {"moderation": N_("flagged by the safety check"), "provider": N_("rejected by the provider")}

__getattr__ = lazy_texts({
    "UNAVAILABLE": N_("Safety check unavailable, try again in a minute. Nothing was sent or counted."),
    "CATEGORY_WORDS": lambda: {name: t(words) for name, words in _CATEGORY_WORDS.items()},
    "LEVEL_WORDS": lambda: {level: t(words) for level, words in _LEVEL_WORDS.items()},
    "STRUCK_BY": lambda: {source: t(words) for source, words in _STRUCK_BY.items()},
})


def category_words(categories: Sequence[str]) -> str:
    words = [
        t(_CATEGORY_WORDS[c]) if c in _CATEGORY_WORDS else c.replace("/", " / ").replace("-", " ") for c in categories
    ]
    words = list(dict.fromkeys(words))
    if len(words) <= 1:
        return "".join(words)
    # TRANSLATORS: the last two of a list, as in "hate, threats and violence".
    return t("%(first)s and %(last)s", first=", ".join(words[:-1]), last=words[-1])


def _when(moment: datetime) -> str:
    ts = int(moment.timestamp())
    return f"<t:{ts}:f> (<t:{ts}:R>)"


def flagged(categories: Sequence[str], where: str, *, strikes: int, most: int, pause_hours: float,
            paused_until: datetime | None, in_server: bool = True) -> str:
    """The private refusal of a flagged request, with where the member stands. `where`
    names what was flagged ("prompt", "image", "prompt and images")."""
    where = t(_WHERE[where]) if where in _WHERE else where
    if in_server:
        text = t(
            "Retouch's safety check flagged your %(what)s for %(categories)s, which isn't allowed in this server. "
            "Nothing was sent or counted; change it and try again.",
            what=where, categories=category_words(categories),
        )
    else:
        text = t(
            "Retouch's safety check flagged your %(what)s for %(categories)s, which isn't allowed here. "
            "Nothing was sent or counted; change it and try again.",
            what=where, categories=category_words(categories),
        )
    return text + provider_strike(
        strikes=strikes, most=most, pause_hours=pause_hours, paused_until=paused_until, in_server=in_server,
    )


def provider_strike(*, strikes: int, most: int, pause_hours: float, paused_until: datetime | None, in_server: bool = True) -> str:
    """Added to a provider safety rejection the member is told about."""
    if paused_until is not None:
        if in_server:
            said = t(
                "That was %(strikes)s within 24 hours: your editing in this server is paused until %(when)s.",
                strikes=plural(most, "strike"), when=_when(paused_until),
            )
        else:
            said = t(
                "That was %(strikes)s within 24 hours: your editing here is paused until %(when)s.",
                strikes=plural(most, "strike"), when=_when(paused_until),
            )
    elif in_server:
        said = t(
            "This is a strike (%(strikes)s of %(most)s within 24 hours; at %(most)s your editing in this server "
            "pauses for %(hours)s).",
            strikes=num(strikes), most=num(most), hours=_hours(pause_hours),
        )
    else:
        said = t(
            "This is a strike (%(strikes)s of %(most)s within 24 hours; at %(most)s your editing here "
            "pauses for %(hours)s).",
            strikes=num(strikes), most=num(most), hours=_hours(pause_hours),
        )
    return "\n" + said


def paused(until: datetime, *, in_server: bool = True) -> str:
    if in_server:
        return t(
            "Your editing in this server is paused until %(when)s after safety flags, or by a moderator. "
            "Nothing was sent or counted; a moderator can lift the pause early.",
            when=_when(until),
        )
    return t(
        "Your editing here is paused until %(when)s after safety flags, or by a moderator. "
        "Nothing was sent or counted; a moderator can lift the pause early.",
        when=_when(until),
    )


def _hours(hours: float) -> str:
    whole = round(hours)
    if abs(hours - whole) < 1e-9:
        return plural(whole, "hour")
    return t("%(hours)s hours", hours=num(hours))


def pause_alert(user_id: int, *, strikes: int, until: datetime, categories: Sequence[str], source: str) -> str:
    """The audit log's alert when strikes pause a member (never the prompt or the image).
    `source`: "moderation" or "provider"."""
    if categories:
        why = t("the last one: %(categories)s", categories=category_words(categories))
    else:
        why = t("the last one from the image provider's safety system")
    struck_by = t(_STRUCK_BY[source]) if source in _STRUCK_BY else source
    return t(
        "⚠️ %(member)s reached %(strikes)s within 24 hours (%(why)s; %(struck_by)s) and can't edit "
        "until %(when)s. `/quota resume user:` lifts the pause; `/quota show user:` shows their strikes.",
        member=mentions.user(user_id), strikes=plural(strikes, "safety strike"), why=why, struck_by=struck_by, when=_when(until),
    )


def member_section(safety: MemberSafety, *, most: int) -> Section:
    """For /quota show user: strikes and a pause."""
    lines = [t(
        "Safety strikes: %(strikes)s of %(most)s within 24 hours (%(total)s in total)",
        strikes=num(safety.strikes), most=num(most), total=num(safety.total_strikes),
    )]
    if safety.paused_until is not None:
        if safety.paused_by is not None:
            lines.append(t(
                "⏸️ Editing paused by %(moderator)s until %(when)s",
                moderator=mentions.user(safety.paused_by), when=_when(safety.paused_until),
            ))
        else:
            lines.append(t("⏸️ Editing paused after safety strikes until %(when)s", when=_when(safety.paused_until)))
    return Section(t("Safety"), lines)


def report_section(report: StrikeReport) -> Section:
    """For /quota report: strikes in the period, who has most, who is paused."""
    title = t("Safety strikes")
    if not report.strikes and not report.paused:
        return Section(title, [t("No safety strikes this period.")])
    lines = [t(
        "%(strikes)s by %(members)s this period",
        strikes=plural(report.strikes, "strike"), members=plural(report.members, "member"),
    )]
    lines += [f"<@{user}>: {plural(count, 'strike')}" for user, count in report.top]
    lines += [t("⏸️ %(member)s paused until %(when)s", member=mentions.user(user), when=_when(until)) for user, until in report.paused]
    return Section(title, lines)


def paused_by_moderator(name: str, user_id: int, until: datetime) -> Panel:
    return Panel(t("Paused %(member)s", member=name), [t(
        "%(member)s can't edit in this server until %(when)s. `/quota resume user:` lifts it.",
        member=mentions.user(user_id), when=_when(until),
    )])


def resumed(name: str, user_id: int, lifted: bool) -> Panel:
    if lifted:
        return Panel(t("Resumed %(member)s", member=name), [t(
            "%(member)s can edit again; their strikes so far no longer count toward a pause.", member=mentions.user(user_id),
        )])
    return Panel(t("%(member)s was not paused", member=name), [t(
        "%(member)s was not paused; their strikes so far no longer count toward a pause.", member=mentions.user(user_id),
    )])


def level_set(level: str, *, default: str) -> Panel:
    lines = [t("Safety check: %(level)s.", level=t(_LEVEL_WORDS[level]))]
    if level != "off":
        lines.append(t(
            "Checked with the moderation endpoint before anything is reserved; a flagged request is refused privately, "
            "logged in the audit channel with its categories, and counts as a strike."
        ))
    lines.append(t("The bot's default (SAFETY_CHECK) is %(level)s.", level=default))
    return Panel(t("Safety check updated"), lines)


def audit_pause_by_moderator(user_id: int, moderator_id: int, until: datetime) -> str:
    return t(
        "⏸️ %(moderator)s paused %(member)s's editing until %(when)s.",
        moderator=mentions.user(moderator_id), member=mentions.user(user_id), when=_when(until),
    )


def audit_resume(user_id: int, moderator_id: int) -> str:
    return t(
        "▶️ %(moderator)s lifted %(member)s's pause; their strikes so far no longer count.",
        moderator=mentions.user(moderator_id), member=mentions.user(user_id),
    )


# Command descriptions (English; the command tree's translator shows them translated).
SETTINGS_SAFETY = N_("Check prompts (and input images) with the moderation endpoint before anything is paid for")
SETTINGS_SAFETY_OPTIONS = {"level": N_("off; prompts; or images (prompts and every input image)")}
QUOTA_PAUSE = N_("Stop a member from editing here for a while (content safety)")
QUOTA_PAUSE_OPTIONS = {"user": N_("The member"), "hours": N_("How long (default: SAFETY_PAUSE_HOURS)")}
QUOTA_RESUME = N_("Let a paused member edit again (and forgive their strikes so far)")
QUOTA_RESUME_OPTIONS = {"user": N_("The member")}
