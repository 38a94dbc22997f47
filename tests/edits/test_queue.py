from __future__ import annotations

import asyncio

import pytest

from bot.edits.queue import EditQueue, QueueClosed


class Jobs:
    """Work items that record when they start and finish only when released, one by one."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}
        self.in_flight = 0
        self.peak = 0

    def work(self, name: str):
        self.gates[name] = asyncio.Event()

        async def run() -> str:
            self.started.append(name)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            await self.gates[name].wait()
            self.in_flight -= 1
            return name

        return run

    async def until_started(self, count: int) -> None:
        for _ in range(1000):  # bounded: the queue starts work within a few loop turns
            if len(self.started) >= count:
                return
            await asyncio.sleep(0)
        raise AssertionError(f"only {self.started} started")


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_the_next_member_in_line_goes_before_a_members_second_edit():
    # The contract's example: A1 running, A2 A3 B1 waiting -> B1, then A2, then A3.
    queue = EditQueue(max_concurrent=1)
    jobs = Jobs()
    tasks = [asyncio.create_task(queue.run("A", jobs.work("A1")))]
    await jobs.until_started(1)
    for owner, name in (("A", "A2"), ("A", "A3"), ("B", "B1")):
        tasks.append(asyncio.create_task(queue.run(owner, jobs.work(name))))
        await settle()
    assert queue.waiting == 3
    for count, name in enumerate(["A1", "B1", "A2"], start=2):
        jobs.gates[name].set()
        await jobs.until_started(count)
    jobs.gates["A3"].set()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert jobs.started == ["A1", "B1", "A2", "A3"]


async def test_members_take_turns_and_free_slots_are_used():
    queue = EditQueue(max_concurrent=2)
    jobs = Jobs()
    # alice queues 4 while the queue is empty: two slots, both hers (nobody else waits)
    tasks = [asyncio.create_task(queue.run("alice", jobs.work(f"a{i}"))) for i in range(4)]
    await jobs.until_started(2)
    await settle()
    assert jobs.started == ["a0", "a1"] and queue.waiting == 2
    # bob and carol arrive: each one's first edit goes before alice's third and fourth
    tasks += [asyncio.create_task(queue.run("bob", jobs.work("b0")))]
    await settle()
    tasks += [asyncio.create_task(queue.run("carol", jobs.work("c0")))]
    await settle()
    jobs.gates["a0"].set()
    await jobs.until_started(3)
    jobs.gates["a1"].set()
    await jobs.until_started(4)
    assert jobs.started == ["a0", "a1", "b0", "c0"]
    jobs.gates["b0"].set()
    await jobs.until_started(5)
    for gate in jobs.gates.values():
        gate.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert jobs.started == ["a0", "a1", "b0", "c0", "a2", "a3"]
    assert sorted(results) == ["a0", "a1", "a2", "a3", "b0", "c0"]
    assert jobs.peak <= 2 and queue.running == 0 and queue.waiting == 0


async def test_three_members_alternate_and_no_turns_are_saved_up():
    queue = EditQueue(max_concurrent=1)
    jobs = Jobs()
    first = asyncio.create_task(queue.run("x", jobs.work("x0")))
    await jobs.until_started(1)
    tasks = [first]
    for name in ("a1", "a2", "a3", "b1", "b2", "c1"):
        tasks.append(asyncio.create_task(queue.run(name[0], jobs.work(name))))
        await settle()
    expected = ["x0", "a1", "b1", "c1", "a2", "b2", "a3"]
    for count, name in enumerate(expected[:-1], start=2):
        jobs.gates[name].set()
        await jobs.until_started(count)
    jobs.gates["a3"].set()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert jobs.started == expected
    # x had a turn long ago: coming back, x waits behind nobody who has had more turns,
    # and does not jump ahead of a member already waiting for the turn being served.
    blocker = asyncio.create_task(queue.run("a", jobs.work("a4")))
    await jobs.until_started(8)
    later = [asyncio.create_task(queue.run("b", jobs.work("b3")))]
    await settle()
    later.append(asyncio.create_task(queue.run("x", jobs.work("x1"))))
    await settle()
    jobs.gates["a4"].set()
    await jobs.until_started(9)
    jobs.gates["b3"].set()
    jobs.gates["x1"].set()
    await asyncio.wait_for(asyncio.gather(blocker, *later), 5)
    assert jobs.started[-2:] == ["b3", "x1"]


async def test_positions_are_announced_and_updated():
    queue = EditQueue(max_concurrent=1)
    gate = asyncio.Event()
    seen: dict[str, list[int]] = {"b": [], "c": []}

    async def blocker() -> None:
        await gate.wait()

    first = asyncio.create_task(queue.run("a", blocker))
    await asyncio.sleep(0)

    def tracker(name: str):
        async def on_position(p: int) -> None:
            seen[name].append(p)
        return on_position

    b = asyncio.create_task(queue.run("b", lambda: asyncio.sleep(0), on_position=tracker("b")))
    await asyncio.sleep(0)
    c = asyncio.create_task(queue.run("c", lambda: asyncio.sleep(0), on_position=tracker("c")))
    for _ in range(5):
        await asyncio.sleep(0)
    assert seen["b"] == [1] and seen["c"] == [2]
    gate.set()
    await asyncio.wait_for(asyncio.gather(first, b, c), 5)
    assert seen["c"] == [2, 1]


async def test_cancelled_waiter_leaves_queue_consistent_and_close_refuses_new_work():
    queue = EditQueue(max_concurrent=1)
    gate = asyncio.Event()
    first = asyncio.create_task(queue.run("a", gate.wait))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(queue.run("b", lambda: asyncio.sleep(0)))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert queue.waiting == 0
    queue.close()
    with pytest.raises(QueueClosed):
        await queue.run("c", lambda: asyncio.sleep(0))
    gate.set()
    await first
    assert queue.running == 0 and queue.waiting == 0


async def test_a_running_and_a_waiting_job_cancelled_together_leave_the_queue_consistent():
    # A shutdown cancels every edit at once: the running job's end must not start the
    # waiting one, whose caller is gone too.
    queue = EditQueue(max_concurrent=1)
    started = asyncio.Event()
    running = asyncio.create_task(queue.run("alice", lambda: started.set() or asyncio.Event().wait()))
    await asyncio.wait_for(started.wait(), 5)
    queued = asyncio.Event()

    async def shown(position: int) -> None:
        queued.set()

    waiting = asyncio.create_task(queue.run("bob", lambda: asyncio.sleep(0), on_position=shown))
    await asyncio.wait_for(queued.wait(), 5)
    for task in (running, waiting):
        task.cancel()
    results = await asyncio.wait_for(asyncio.gather(running, waiting, return_exceptions=True), 5)
    assert [type(r) for r in results] == [asyncio.CancelledError, asyncio.CancelledError]
    assert (queue.running, queue.waiting) == (0, 0)
    assert await asyncio.wait_for(queue.run("carol", lambda: asyncio.sleep(0, "next")), 5) == "next"
