"""An in-memory `EditSurface`: the member's side of an edit, for tests without Discord.

It implements the interface of bot/edits/surface.py the way a platform would: it keeps
what the member would see (the placeholder's statuses, the posted result, private
messages, questions and how they ended), and lets a test wait for any of it as an event:

    surface = InMemorySurface()
    task = asyncio.create_task(service.submit(order, surface))
    await surface.wait_for_status("In the queue")
    text = await surface.wait_told()

A platform with a deadline for the first answer (Discord's 3 s) is
`InMemorySurface(answer_within=0.3)`: `answers` lists its answers in order
("acknowledged", "acknowledged privately", "question", "told") with the seconds they took,
so a test sees whether the edit answered in time and how.

Slow platforms are gates the test opens: `hold_delivery()` keeps `deliver` from
returning (the result is "being posted") until `release_delivery()`. A confirmation
waits for `answer()` up to the request's own `timeout_seconds`, as a Discord view does.
Every wait is bounded; a failed wait says what the member saw instead.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Callable, TypeVar

from bot.edits.surface import Confirmation, DeliveryReport, EditSurface, ResultPost, Status

T = TypeVar("T")

DEFAULT_UPLOAD_LIMIT = 25 * 1024 * 1024
WAIT_SECONDS = 5.0
_message_ids = itertools.count(1000)


@dataclass
class Question:
    """A confirmation the member was asked, and how it ended ("confirmed", "cancelled",
    "timed out"; None while it waits) with the text the prompt was replaced with."""

    request: Confirmation
    outcome: str | None = None
    shown_after: str | None = None


@dataclass
class Answer:
    confirm: bool
    continue_on: "InMemorySurface | None" = None


@dataclass
class InMemorySurface:
    name: str = "surface"
    upload_limit: int = DEFAULT_UPLOAD_LIMIT
    accepts_images: int | None = None  # the platform takes only this many images of a post (None: all)
    can_tell: bool = True  # False: the member can no longer be reached privately
    answer_within: float | None = None  # the platform's deadline for a first answer (None: none)
    acknowledgements: int = 0
    private_acknowledgements: int = 0
    answers: list[tuple[str, float]] = field(default_factory=list)  # (how, seconds after creation)
    statuses: list[Status] = field(default_factory=list)
    posts: list[ResultPost] = field(default_factory=list)
    reports: list[DeliveryReport] = field(default_factory=list)
    told: list[str] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition, repr=False)
    _delivery_gate: asyncio.Event | None = field(default=None, repr=False)
    _answer: "asyncio.Future[Answer] | None" = field(default=None, repr=False)
    _created: float = field(default_factory=time.monotonic, repr=False)

    # -- EditSurface ------------------------------------------------------------------

    def seconds_to_answer(self) -> float | None:
        if self.answer_within is None or self.answers:
            return None
        return self._created + self.answer_within - time.monotonic()

    def _answered(self, how: str) -> None:
        self.answers.append((how, time.monotonic() - self._created))

    async def acknowledge(self) -> None:
        self.acknowledgements += 1
        self._answered("acknowledged")
        await self._notify()

    async def acknowledge_privately(self) -> None:
        self.private_acknowledgements += 1
        self._answered("acknowledged privately")
        await self._notify()

    async def show_status(self, status: Status) -> None:
        self.statuses.append(status)
        await self._notify()

    async def deliver(self, post: ResultPost) -> DeliveryReport:
        self.posts.append(post)
        await self._notify()
        if self._delivery_gate is not None:
            await self._delivery_gate.wait()
        delivered = post.images if self.accepts_images is None else min(post.images, self.accepts_images)
        report = DeliveryReport(
            delivered=delivered,
            problem=None if delivered == post.images else f"the platform took {delivered} of {post.images} images",
            link=f"memory://{self.name}/{post.edit_id}" if delivered else None,
            message_ids=tuple(next(_message_ids) for _ in post.messages) if delivered else (),
        )
        self.reports.append(report)
        await self._notify()
        return report

    async def tell(self, text: str) -> bool:
        self._answered("told")
        if self.can_tell:
            self.told.append(text)
        await self._notify()
        return self.can_tell

    async def confirm(self, request: Confirmation) -> EditSurface | None:
        question = Question(request)
        self._answered("question")
        self.questions.append(question)
        self._answer = asyncio.get_running_loop().create_future()
        await self._notify()
        try:
            answer = await asyncio.wait_for(asyncio.shield(self._answer), request.timeout_seconds)
        except TimeoutError:
            question.outcome, question.shown_after = "timed out", request.timed_out_text
            await self._notify()
            return None
        finally:
            self._answer = None
        if not answer.confirm:
            question.outcome, question.shown_after = "cancelled", request.cancelled_text
            await self._notify()
            return None
        question.outcome, question.shown_after = "confirmed", request.confirmed_text
        await self._notify()
        return answer.continue_on or self

    # -- what the test does as the member or the platform -----------------------------

    def answer(self, *, confirm: bool, continue_on: "InMemorySurface | None" = None) -> None:
        """The member presses Confirm (the edit goes on `continue_on`, else here) or Cancel."""
        assert self._answer is not None and not self._answer.done(), "no question is waiting for an answer"
        self._answer.set_result(Answer(confirm, continue_on))

    def hold_delivery(self) -> None:
        """From now on `deliver` keeps the result "being posted" until release_delivery()."""
        self._delivery_gate = asyncio.Event()

    def release_delivery(self) -> None:
        assert self._delivery_gate is not None, "hold_delivery() first"
        self._delivery_gate.set()

    # -- waiting for what the member sees ----------------------------------------------

    async def wait_until(self, check: Callable[[], T], *, what: str, timeout: float = WAIT_SECONDS) -> T:
        """Wait until `check()` is truthy after some change on this surface; returns it."""
        result: list[T] = []

        def met() -> bool:
            value = check()
            if value:
                result.append(value)
            return bool(value)

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(met), timeout)
            except TimeoutError:
                raise AssertionError(f"{self.name}: {what} not seen within {timeout:g} s; the member saw:\n{self.transcript()}") from None
        return result[0]

    async def wait_for_status(self, text: str, *, timeout: float = WAIT_SECONDS) -> Status:
        """The first status (from now or earlier) whose text contains `text`."""
        return await self.wait_until(
            lambda: next((s for s in self.statuses if text in s.text), None), what=f"a status showing {text!r}", timeout=timeout
        )

    async def wait_told(self, count: int = 1, *, timeout: float = WAIT_SECONDS) -> str:
        """The `count`-th private message."""
        return await self.wait_until(
            lambda: self.told[count - 1] if len(self.told) >= count else None, what=f"private message #{count}", timeout=timeout
        )

    async def wait_posting(self, *, timeout: float = WAIT_SECONDS) -> ResultPost:
        """The result, as soon as `deliver` was called (it may still be held)."""
        return await self.wait_until(lambda: self.posts[0] if self.posts else None, what="a result being posted", timeout=timeout)

    async def wait_delivered(self, *, timeout: float = WAIT_SECONDS) -> tuple[ResultPost, DeliveryReport]:
        return await self.wait_until(
            lambda: (self.posts[0], self.reports[0]) if self.reports else None, what="a delivered result", timeout=timeout
        )

    async def wait_question(self, *, timeout: float = WAIT_SECONDS) -> Question:
        return await self.wait_until(lambda: self.questions[0] if self.questions else None, what="a question", timeout=timeout)

    async def wait_question_ended(self, *, timeout: float = WAIT_SECONDS) -> Question:
        return await self.wait_until(
            lambda: self.questions[0] if self.questions and self.questions[0].outcome else None,
            what="the question's end",
            timeout=timeout,
        )

    # -- reading -----------------------------------------------------------------------

    @property
    def status_texts(self) -> list[str]:
        return [s.text for s in self.statuses]

    def transcript(self) -> str:
        lines = [f"  {how} after {seconds:.2f} s" for how, seconds in self.answers[:1]]
        lines += [f"  acknowledged x{self.acknowledgements}, privately x{self.private_acknowledgements}"]
        lines += [f"  status: {s.text}" for s in self.statuses]
        lines += [f"  question: {q.request.title} -> {q.outcome}" for q in self.questions]
        lines += [f"  posted #{p.edit_id}: {p.images} image(s)" for p in self.posts]
        lines += [f"  told: {t}" for t in self.told]
        return "\n".join(lines)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()
