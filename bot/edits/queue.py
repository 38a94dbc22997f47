"""A fair queue for edits: a bounded number run at once, members take turns.

When a slot frees, the queue starts the oldest waiting edit of the next member in line,
so one member's several waiting edits never hold back another member's first:

    A1 running; A2, A3, B1 waiting  →  B1 starts next, then A2, then A3.

Turns are counted like this (start-time fair queuing): each waiting edit gets a turn
number, one more than its member's previous edit, but never less than the turn being
served now. The smallest turn starts first (ties: the oldest edit). A member who just
had a turn is therefore behind every member who has not, however many edits they
queued, and a member who comes back after a while does not jump ahead with turns
"saved up". Free slots are never left idle: a member's second edit runs at once when
nobody else is waiting (`MAX_EDITS_PER_MEMBER` bounds how many one member can have).

Each waiting job is told its position whenever it changes, so its message can show
"3rd in the queue".
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Generic, Hashable, TypeVar

T = TypeVar("T")
PositionCallback = Callable[[int], Awaitable[None]]

log = logging.getLogger("retouch.queue")


class QueueClosed(Exception):
    """The bot is shutting down and takes no new edits."""


@dataclass(eq=False)
class _Job(Generic[T]):
    owner: Hashable
    on_position: PositionCallback | None
    turn: int
    arrival: int
    start: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    last_position: int | None = None
    notifier: asyncio.Task | None = None

    def key(self) -> tuple[int, int]:
        return (self.turn, self.arrival)


class EditQueue:
    def __init__(self, max_concurrent: int) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.max_concurrent = max_concurrent
        self._waiting: list[_Job] = []
        self._running: collections.Counter[Hashable] = collections.Counter()
        # The turn the last started job had, and each member's last turn handed out.
        self._serving = 0
        self._last_turn: dict[Hashable, int] = {}
        self._arrivals = itertools.count()
        self._running_tasks: set[asyncio.Task] = set()
        self._closed = False

    @property
    def running(self) -> int:
        return sum(self._running.values())

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def closed(self) -> bool:
        return self._closed

    def _order(self) -> list[_Job]:
        """The order waiting jobs will start in."""
        return sorted(self._waiting, key=_Job.key)

    def _next_turn(self, owner: Hashable) -> int:
        previous = self._last_turn.get(owner)
        turn = self._serving if previous is None else max(previous + 1, self._serving)
        self._last_turn[owner] = turn
        return turn

    def _dispatch(self) -> None:
        while self.running < self.max_concurrent and self._waiting:
            job = min(self._waiting, key=_Job.key)
            self._waiting.remove(job)
            if job.start.cancelled():
                continue  # its caller was cancelled too (a shutdown cancels every edit at once)
            self._serving = job.turn
            self._running[job.owner] += 1
            job.start.set_result(None)
        self._forget_idle_members()
        self._announce_positions()

    def _forget_idle_members(self) -> None:
        # A member whose next turn would be "now" anyway needs no memory (keeps this bounded).
        waiting_owners = {j.owner for j in self._waiting}
        for owner in [o for o, t in self._last_turn.items() if t < self._serving and o not in waiting_owners]:
            del self._last_turn[owner]

    def _announce_positions(self) -> None:
        for index, job in enumerate(self._order(), start=1):
            if job.on_position is not None and job.last_position != index:
                job.last_position = index
                # One message edit at a time per job: moves that happen meanwhile are
                # coalesced into the latest position instead of queueing Discord calls.
                if job.notifier is None or job.notifier.done():
                    job.notifier = asyncio.create_task(self._notify(job))
                    self._running_tasks.add(job.notifier)
                    job.notifier.add_done_callback(self._running_tasks.discard)

    @staticmethod
    async def _notify(job: _Job) -> None:
        shown: int | None = None
        while job.last_position != shown and not job.start.done():
            shown = job.last_position
            assert job.on_position is not None and shown is not None
            try:
                await job.on_position(shown)
            except Exception:  # a failed "queued" message must never break the queue
                log.warning("could not show queue position %d", shown, exc_info=True)

    async def run(self, owner: Hashable, work: Callable[[], Awaitable[T]], *, on_position: PositionCallback | None = None) -> T:
        """Waits for a turn, then runs `work`. Cancelling the caller leaves the queue consistent."""
        if self._closed:
            raise QueueClosed()
        job: _Job = _Job(owner, on_position, self._next_turn(owner), next(self._arrivals))
        self._waiting.append(job)
        self._dispatch()
        try:
            await job.start
        except asyncio.CancelledError:
            if job.start.done() and not job.start.cancelled():
                self._finish(owner)  # it was started just as it got cancelled
            else:
                self._remove_waiting(job)
            raise
        try:
            return await work()
        finally:
            self._finish(owner)

    def _remove_waiting(self, job: _Job) -> None:
        if job in self._waiting:
            self._waiting.remove(job)
        self._dispatch()

    def _finish(self, owner: Hashable) -> None:
        self._running[owner] -= 1
        if self._running[owner] <= 0:
            del self._running[owner]
        self._dispatch()

    def close(self) -> None:
        """Take no new work; what is queued or running carries on until drained or cancelled."""
        self._closed = True
