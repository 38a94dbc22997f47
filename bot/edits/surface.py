"""The small interface an entry point implements so the edit service can talk to the member.

The service decides WHAT the member is told and when; a surface decides HOW it looks on
the platform (a deferred interaction, a channel message, a test double). A surface never
raises for a failed status update: progress is a nicety, the edit goes on without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence

from bot.images.delivery_plan import Message
from bot.provider.response import PartialImage
from bot.text import edit_status


@dataclass(frozen=True)
class Status:
    """What the placeholder shows while the edit waits or runs."""

    text: str
    preview: PartialImage | None = None
    cancel_id: int | None = None  # offer a Cancel for this edit
    keep_preview: bool = False  # leave a preview already shown in place


@dataclass(frozen=True)
class ResultPost:
    """A finished edit, ready to post: files grouped into messages and the summary."""

    edit_id: int
    prompt: str
    summary_lines: Sequence[str]
    requester_name: str
    messages: Sequence[Message]
    buttons: bool = False  # the result is kept: offer Edit again / Re-roll / Delete

    @property
    def images(self) -> int:
        return sum(len(m.files) for m in self.messages)


# How long a confirmation waits for the member's answer before it counts as "no".
CONFIRM_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class Confirmation:
    """A question the member answers privately before anything is reserved (a cost
    estimate, a mask preview): text, an optional image, Confirm / Cancel.

    The texts the prompt is replaced with afterwards are part of the request, so the
    service decides what the member reads whichever way it ends."""

    title: str
    lines: Sequence[str]
    image: bytes | None = None
    image_filename: str = "preview.png"
    # Read when the question is built, so in the member's language.
    confirm_label: str = field(default_factory=lambda: edit_status.CONFIRM_LABEL)
    cancel_label: str = field(default_factory=lambda: edit_status.CANCEL_LABEL)
    confirmed_text: str = field(default_factory=lambda: edit_status.CONFIRMED)
    cancelled_text: str = field(default_factory=lambda: edit_status.CONFIRM_CANCELLED)
    timed_out_text: str = field(default_factory=lambda: edit_status.CONFIRM_TIMED_OUT)
    timeout_seconds: float = CONFIRM_TIMEOUT_SECONDS


@dataclass(frozen=True)
class DeliveryReport:
    """How much of a result reached the member. `delivered` images always count."""

    delivered: int
    problem: str | None = None  # why the rest did not get through, for the log
    link: str | None = None  # where the result can be seen (a message link)
    message_ids: tuple[int, ...] = ()  # the messages carrying it, for Delete


class EditSurface(Protocol):
    @property
    def upload_limit(self) -> int:
        """Bytes one message may carry where the result is posted."""
        ...

    def seconds_to_answer(self) -> float | None:
        """How long the edit may take to give its first answer (acknowledge, confirm or
        tell) before the platform gives up on it; None: no such limit. An edit not ready
        to answer by then acknowledges first (bot/edits/first_answer.py)."""
        ...

    async def acknowledge(self) -> None:
        """Show a public placeholder ("thinking…") the result will replace. Idempotent."""
        ...

    async def acknowledge_privately(self) -> None:
        """Answer in time, privately, when a private question (or a refusal) will follow
        but is not ready yet; the question then takes the acknowledgement's place. Idempotent."""
        ...

    async def show_status(self, status: Status) -> None:
        """Update the placeholder; best effort, never raises."""
        ...

    async def deliver(self, post: ResultPost) -> DeliveryReport:
        """Post the result; reports how many images reached the member (0 if none).

        Never raises for a platform failure: what got through is in the report."""
        ...

    async def tell(self, text: str) -> bool:
        """Tell the requester privately; False when the platform no longer lets us."""
        ...

    async def confirm(self, request: Confirmation) -> "EditSurface | None":
        """Ask the requester privately, before anything is reserved: as the first answer,
        or in the place of a private acknowledgement.

        Returns the surface the edit continues on after Confirm (it may be a new one:
        on Discord the result is posted where the button was answered), or None when
        the member cancelled or did not answer within `request.timeout_seconds`; the
        prompt then says so. Never raises for a platform failure (that is a None)."""
        ...
