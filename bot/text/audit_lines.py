"""What the audit log channel says about an edit, and what moderators read about the
channel itself (no Discord types). Written in the server's language (guild_locale)."""

from __future__ import annotations

from bot.edits.events import EditEvent, Outcome
from bot.text import mentions
from bot.text.edit_summary import cost_text, plural
from bot.text.i18n import N_, lazy_texts, num, t

_TITLES = {
    Outcome.DELIVERED: N_("Edit delivered"),
    Outcome.REFUSED: N_("Edit refused"),
    Outcome.REJECTED: N_("Rejected by the provider"),
    Outcome.FAILED: N_("Edit failed"),
    Outcome.CANCELLED: N_("Edit cancelled"),
}
REASON_CHARS = 600

# Discord's error codes meaning "the bot can't post there", and how a moderator reads them.
_CHANNEL_PROBLEMS = {
    50001: N_("missing access"),
    50013: N_("missing permissions"),
    10003: N_("the channel no longer exists"),
}

_TEXTS = {
    "TITLES": lambda: {outcome: t(title) for outcome, title in _TITLES.items()},
    "CHANNEL_PROBLEMS": lambda: {code: t(reason) for code, reason in _CHANNEL_PROBLEMS.items()},
    # Why an edit stopped, when no error says it.
    "NOT_CONFIRMED": N_("the member did not confirm"),
    "RESTARTED": N_("the bot restarted"),
    "COULD_NOT_POST": N_("Retouch could not post there; check the bot's permissions in that channel."),
}
__getattr__ = lazy_texts(_TEXTS)


def cancelled_reason(*, by_moderator: bool) -> str:
    return t("cancelled by a moderator") if by_moderator else t("cancelled by the member")


def title(event: EditEvent) -> str:
    base = t(_TITLES[event.outcome]) if event.outcome in _TITLES else t("Edit")
    return f"{base} · #{event.edit_id}" if event.edit_id is not None else base


def lines(event: EditEvent) -> list[str]:
    """Requester, what was asked, what it cost, and why it stopped; never the prompt."""
    out = [t("Requester: %(member)s via %(entry)s", member=mentions.user(event.requester.user_id), entry=event.entry)]
    what = [f"**{event.model}**" if event.model else t("model ?"), event.size or t("size auto")]
    if event.outcome is Outcome.DELIVERED:
        what.append(plural(event.images, "image"))
    out.append(" · ".join(what))
    if event.total_tokens is not None or event.cost_usd is not None or event.outcome is Outcome.DELIVERED:
        tokens = num(event.total_tokens) if event.total_tokens is not None else t("not reported")
        out.append(t("Tokens: %(tokens)s · Est. cost: %(cost)s", tokens=tokens, cost=cost_text(event.cost_usd)))
    if event.reason:
        reason = event.reason if len(event.reason) <= REASON_CHARS else event.reason[: REASON_CHARS - 1] + "…"
        if event.reason_code:
            out.append(t("Reason (`%(code)s`): %(reason)s", code=event.reason_code, reason=reason))
        else:
            out.append(t("Reason: %(reason)s", reason=reason))
    if event.link:
        out.append(t("Result: %(link)s", link=event.link))
    return out


# -- the channel ----------------------------------------------------------------------


def channel_problem_reason(code: int, status: int, detail: str) -> str:
    known = _CHANNEL_PROBLEMS.get(code)
    return t(known) if known else f"{status} {detail[:80]}"


def channel_problem(channel_id: int, reason: str) -> str:
    return t(
        "Retouch can't post in %(channel)s (%(reason)s). Give it View Channel, Send Messages and "
        "Embed Links there, or choose another channel with `/settings log-channel`.",
        channel=mentions.channel(channel_id), reason=reason,
    )


def channel_chosen(moderator_id: int) -> str:
    """The first post in a newly chosen channel: it proves the bot can post there."""
    return t(
        "Retouch will log every edit, refusal and provider rejection here (set by %(moderator)s).",
        moderator=mentions.user(moderator_id),
    )
