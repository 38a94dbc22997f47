from __future__ import annotations

import asyncio

import pytest

from bot.edits.queue import EditQueue, QueueClosed


async def test_bounded_concurrency_and_fair_turns():
    queue = EditQueue(max_concurrent=2)
    started: list[str] = []
    release = asyncio.Event()
    in_flight = 0
    peak = 0

    async def job(name: str) -> str:
        nonlocal in_flight, peak
        started.append(name)
        in_flight += 1
        peak = max(peak, in_flight)
        await release.wait()
        in_flight -= 1
        return name

    # alice submits 4, then bob and carol one each: bob and carol must not wait behind all of alice's
    tasks = [asyncio.create_task(queue.run("alice", lambda i=i: job(f"a{i}"))) for i in range(4)]
    await asyncio.sleep(0)
    tasks += [asyncio.create_task(queue.run("bob", lambda: job("b0"))), asyncio.create_task(queue.run("carol", lambda: job("c0")))]
    for _ in range(5):
        await asyncio.sleep(0)
    assert started == ["a0", "b0"], "one running job per member; the second slot goes to the next member"
    release.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert sorted(results) == ["a0", "a1", "a2", "a3", "b0", "c0"]
    assert peak <= 2
    assert started.index("c0") < started.index("a2")


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
