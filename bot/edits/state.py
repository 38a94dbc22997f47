"""An edit in flight: its phase, what it holds, and what it produced (the service's own
bookkeeping, never shared with a surface)."""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass, field
from enum import StrEnum

from bot.edits.order import EditOptions, EditOrder
from bot.edits.reservations import Bill
from bot.edits.surface import EditSurface
from bot.errors import UserFacingError
from bot.images.delivery_plan import Message
from bot.images.errors import ImageRejected, MaskRejected
from bot.images.inputs import PreparedInput
from bot.provider.client import EditResult
from bot.provider.errors import InvalidRequest, ProviderError
from bot.store.quota import Reservation


class Phase(StrEnum):
    """Every state an edit can be in; each has one owner (the service) and one way out."""

    CHECKED = "checked"
    RESERVED = "reserved"
    QUEUED = "queued"
    RUNNING = "running"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    FAILED = "failed"


class CancelResult(StrEnum):
    CANCELLED = "cancelled"
    NOT_RUNNING = "not_running"  # finished, failed, or from before a restart
    NOT_ALLOWED = "not_allowed"  # only the requester or a moderator
    TOO_LATE = "too_late"  # already being delivered


@dataclass(frozen=True)
class EditOutcome:
    """What the provider made and how it will be posted."""

    result: EditResult
    messages: list[Message]
    seconds: float
    cost_usd: float | None
    notes: list[str] = field(default_factory=list)

    @property
    def images(self) -> int:
        return sum(len(m.files) for m in self.messages)

    @property
    def bill(self) -> Bill:
        return Bill.of(self.result.usage, self.cost_usd)


@dataclass(eq=False)
class Edit:
    order: EditOrder
    surface: EditSurface
    phase: Phase = Phase.CHECKED
    options: EditOptions | None = None
    reservation: Reservation | None = None
    inputs: PreparedInput | None = None
    outcome: EditOutcome | None = None
    settled: bool = False
    task: asyncio.Task | None = None
    cancelled_by: int | None = None  # a member pressed Cancel (else a cancel is a shutdown)
    started: float = 0.0  # monotonic time the provider call began

    @property
    def where(self) -> str:
        r = self.order.requester
        ident = f"edit #{self.reservation.id}" if self.reservation else "edit"
        model = self.options.model if self.options else "?"
        return f"{ident} ({self.order.entry}, server {r.guild_id}, member {r.user_id}, {model})"


class Waiters:
    """Wake-ups for members waiting on their own running edits.

    A waiter reads the member's generation BEFORE it tries to reserve; any edit of theirs
    that settles afterwards bumps it, so a settle landing between the failed reservation
    and the wait can never be missed."""

    def __init__(self) -> None:
        self._generation: collections.Counter[int] = collections.Counter()
        self._events: dict[int, asyncio.Event] = {}

    def generation(self, user_id: int) -> int:
        return self._generation[user_id]

    def settled(self, user_id: int) -> None:
        self._generation[user_id] += 1
        event = self._events.pop(user_id, None)
        if event is not None:
            event.set()

    async def wait(self, user_id: int, seen: int) -> None:
        while self._generation[user_id] == seen:
            event = self._events.setdefault(user_id, asyncio.Event())
            await event.wait()


def reason_code(exc: BaseException) -> str:
    """A stable name for why an edit stopped, for logs and the audit channel."""
    if isinstance(exc, UserFacingError):
        return exc.reason_code
    if isinstance(exc, ImageRejected):
        return "bad_mask" if isinstance(exc, MaskRejected) else "bad_image"
    if isinstance(exc, InvalidRequest):
        return "invalid_request"
    if isinstance(exc, ProviderError):
        return "provider_" + type(exc).__name__.lower()
    return type(exc).__name__
