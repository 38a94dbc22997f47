"""A fair queue for edits: a bounded number run at once, members take turns.

Each member's requests run one after another (so one member cannot fill every slot),
and waiting members are served round-robin. Each waiting job is told its position
whenever it changes, so its message can show "3rd in the queue".
"""

from __future__ import annotations

import asyncio
import collections
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
    start: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    last_position: int | None = None
    notifier: asyncio.Task | None = None


class EditQueue:
    def __init__(self, max_concurrent: int) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.max_concurrent = max_concurrent
        self._waiting: collections.OrderedDict[Hashable, collections.deque[_Job]] = collections.OrderedDict()
        self._running: dict[Hashable, int] = collections.Counter()
        self._running_tasks: set[asyncio.Task] = set()
        self._closed = False

    @property
    def running(self) -> int:
        return sum(self._running.values())

    @property
    def waiting(self) -> int:
        return sum(len(q) for q in self._waiting.values())

    @property
    def closed(self) -> bool:
        return self._closed

    def _order(self) -> list[_Job]:
        """The order waiting jobs will start in: round-robin over members, busy members last."""
        queues = [list(q) for owner, q in self._waiting.items() if not self._running.get(owner)]
        busy = [list(q) for owner, q in self._waiting.items() if self._running.get(owner)]
        order: list[_Job] = []
        for group in (queues, busy):
            depth = 0
            while any(depth < len(q) for q in group):
                order += [q[depth] for q in group if depth < len(q)]
                depth += 1
        return order

    def _dispatch(self) -> None:
        while self.running < self.max_concurrent:
            job = next((j for j in self._order() if not self._running.get(j.owner)), None)
            if job is None:
                break
            queue = self._waiting[job.owner]
            queue.popleft()
            if not queue:
                del self._waiting[job.owner]
            else:
                self._waiting.move_to_end(job.owner)  # their next turn is after everyone else's
            if job.start.cancelled():
                continue  # its caller was cancelled too (a shutdown cancels every edit at once)
            self._running[job.owner] += 1
            job.start.set_result(None)
        self._announce_positions()

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
        job: _Job = _Job(owner, on_position)
        self._waiting.setdefault(owner, collections.deque()).append(job)
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
        queue = self._waiting.get(job.owner)
        if queue is not None and job in queue:
            queue.remove(job)
            if not queue:
                del self._waiting[job.owner]
        self._dispatch()

    def _finish(self, owner: Hashable) -> None:
        self._running[owner] -= 1
        if self._running[owner] <= 0:
            del self._running[owner]
        self._dispatch()

    def close(self) -> None:
        """Take no new work; what is queued or running carries on until drained or cancelled."""
        self._closed = True
