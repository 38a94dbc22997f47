"""The first answer in time, whatever is slow.

A platform may give an edit a deadline for its first answer (Discord: 3 s from the
interaction's creation, or "This interaction failed"). Until the edit's first answer has
gone out, `AnswerInTime` wraps its surface and keeps a timer: if nothing has been answered
when the surface's time is up (the download, the content check, a preview or a database
read is still going), it acknowledges on its own, and what is slow follows:

- an edit that asks the member first (a mask preview, a cost question) is acknowledged
  privately: the question, or a refusal, then follows privately in its place, and after
  Confirm the result is still posted publicly where the button was answered;
- any other edit gets the public placeholder its result replaces, as it would anyway.

Every call the edit makes on the surface first stops the timer (waiting for an
acknowledgement already on its way), so the platform never sees two first answers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from bot.edits.surface import Confirmation, DeliveryReport, EditSurface, ResultPost, Status

log = logging.getLogger("retouch.edit")


def _no_question() -> bool:
    return False


class AnswerInTime:
    """`surface`, acknowledged in time if the edit has not answered by then.

    `asks_first()` says, when the time is up, whether the member will be asked a
    question before anything runs (then the acknowledgement is private)."""

    def __init__(self, surface: EditSurface, *, asks_first: Callable[[], bool]) -> None:
        self.surface = surface
        self._asks_first = asks_first
        self._acknowledging = False
        self._timer: asyncio.Task[None] | None = None
        seconds = surface.seconds_to_answer()
        if seconds is not None:
            self._timer = asyncio.create_task(self._answer_when_due(seconds))

    async def _answer_when_due(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))
        self._acknowledging = True  # from here on the acknowledgement is not cancelled halfway
        try:
            private = self._asks_first()
        except Exception:  # a bug; a public placeholder is safe (a later question removes it)
            log.exception("could not tell whether the member is asked first")
            private = False
        try:
            if private:
                await self.surface.acknowledge_privately()
            else:
                await self.surface.acknowledge()
        except Exception:  # the edit goes on; its next answer finds out whether the platform still listens
            log.warning("could not acknowledge in time", exc_info=True)
        else:
            log.info("acknowledged %s before the first answer was ready", "privately" if private else "publicly")

    async def stop(self) -> None:
        """No acknowledgement of our own from now on (one under way is let finish)."""
        timer, self._timer = self._timer, None
        if timer is not None:
            if not self._acknowledging:
                timer.cancel()
            await asyncio.gather(timer, return_exceptions=True)
        # `asks_first` usually refers to the edit, which refers to this surface: dropping it
        # lets the edit (and the images it holds) be freed as soon as it ends, not at the
        # next garbage collection.
        self._asks_first = _no_question

    # -- EditSurface: each call is the edit's own answer, so the timer stops first ------

    @property
    def upload_limit(self) -> int:
        return self.surface.upload_limit

    def seconds_to_answer(self) -> float | None:
        return self.surface.seconds_to_answer()

    async def acknowledge(self) -> None:
        await self.stop()
        await self.surface.acknowledge()

    async def acknowledge_privately(self) -> None:
        await self.stop()
        await self.surface.acknowledge_privately()

    async def show_status(self, status: Status) -> None:
        await self.stop()
        await self.surface.show_status(status)

    async def deliver(self, post: ResultPost) -> DeliveryReport:
        await self.stop()
        return await self.surface.deliver(post)

    async def tell(self, text: str) -> bool:
        await self.stop()
        return await self.surface.tell(text)

    async def confirm(self, request: Confirmation) -> EditSurface | None:
        await self.stop()
        return await self.surface.confirm(request)
