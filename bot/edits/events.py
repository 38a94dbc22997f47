"""What happened to an edit, for whoever watches (the audit log channel, metrics).

The service emits one event when an edit ends: delivered, refused before anything was
reserved, or failed/cancelled after. Listeners must not block or fail an edit: the
service hands each event over without waiting, and a listener that raises is logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.edits.order import Requester


class Outcome(StrEnum):
    DELIVERED = "delivered"
    REFUSED = "refused"  # before anything was reserved or sent upstream
    REJECTED = "rejected"  # the provider refused the prompt or image
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class EditEvent:
    outcome: Outcome
    requester: Requester
    entry: str  # which entry point: "/edit", "Edit image", "Re-roll", ...
    model: str | None = None
    size: str | None = None
    images: int = 0  # delivered images (0 unless delivered)
    total_tokens: int | None = None
    cost_usd: float | None = None
    reason: str | None = None  # what the member was told (refusals, failures)
    reason_code: str | None = None  # stable code: "quota", "blocked_word", "provider_rejected", ...
    edit_id: int | None = None
    link: str | None = None  # where the result was posted
    seconds: float | None = None  # from the provider call's start to this event (None: never started)


class EditListener(Protocol):
    def edit_ended(self, event: EditEvent) -> None:
        """Called on the event loop; must return at once (queue any slow work)."""
        ...
