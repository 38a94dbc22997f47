"""What the audit log channel says about an edit (no Discord types)."""

from __future__ import annotations

from bot.edits.events import EditEvent, Outcome
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
    out = [f"Requester: <@{event.requester.user_id}> via {event.entry}"]
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
