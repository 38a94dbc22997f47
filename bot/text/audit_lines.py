"""What the audit log channel says about an edit, and what moderators read about the
channel itself (no Discord types)."""

from __future__ import annotations

from bot.edits.events import EditEvent, Outcome
from bot.text import mentions
from bot.text.edit_summary import cost_text, plural

TITLES = {
    Outcome.DELIVERED: "Edit delivered",
    Outcome.REFUSED: "Edit refused",
    Outcome.REJECTED: "Rejected by the provider",
    Outcome.FAILED: "Edit failed",
    Outcome.CANCELLED: "Edit cancelled",
}
REASON_CHARS = 600

# Why an edit stopped, when no error says it.
NOT_CONFIRMED = "the member did not confirm"
RESTARTED = "the bot restarted"


def cancelled_reason(*, by_moderator: bool) -> str:
    return "cancelled by a moderator" if by_moderator else "cancelled by the member"


def title(event: EditEvent) -> str:
    base = TITLES.get(event.outcome, "Edit")
    return f"{base} · #{event.edit_id}" if event.edit_id is not None else base


def lines(event: EditEvent) -> list[str]:
    """Requester, what was asked, what it cost, and why it stopped; never the prompt."""
    out = [f"Requester: {mentions.user(event.requester.user_id)} via {event.entry}"]
    what = [f"**{event.model}**" if event.model else "model ?", event.size or "size auto"]
    if event.outcome is Outcome.DELIVERED:
        what.append(plural(event.images, "image"))
    out.append(" · ".join(what))
    if event.total_tokens is not None or event.cost_usd is not None or event.outcome is Outcome.DELIVERED:
        tokens = f"{event.total_tokens:,}" if event.total_tokens is not None else "not reported"
        out.append(f"Tokens: {tokens} · Est. cost: {cost_text(event.cost_usd)}")
    if event.reason:
        code = f" (`{event.reason_code}`)" if event.reason_code else ""
        reason = event.reason if len(event.reason) <= REASON_CHARS else event.reason[: REASON_CHARS - 1] + "…"
        out.append(f"Reason{code}: {reason}")
    if event.link:
        out.append(f"Result: {event.link}")
    return out


# -- the channel ----------------------------------------------------------------------

# Discord's error codes meaning "the bot can't post there", and how a moderator reads them.
CHANNEL_PROBLEMS = {50001: "missing access", 50013: "missing permissions", 10003: "the channel no longer exists"}
COULD_NOT_POST = "Retouch could not post there; check the bot's permissions in that channel."


def channel_problem_reason(code: int, status: int, detail: str) -> str:
    return CHANNEL_PROBLEMS.get(code, f"{status} {detail[:80]}")


def channel_problem(channel_id: int, reason: str) -> str:
    return (
        f"Retouch can't post in {mentions.channel(channel_id)} ({reason}). Give it View Channel, Send Messages and "
        "Embed Links there, or choose another channel with `/settings log-channel`."
    )


def channel_chosen(moderator_id: int) -> str:
    """The first post in a newly chosen channel: it proves the bot can post there."""
    return f"Retouch will log every edit, refusal and provider rejection here (set by {mentions.user(moderator_id)})."

