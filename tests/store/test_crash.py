"""A process killed between reserve and commit leaves nothing stuck (both backends)."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from bot.store.postgres import DEAD_AFTER_SECONDS
from bot.store.quota import QuotaStore, Reservation
from tests.store.conftest import GUILD, USER, ManualClock, Target, ledger_rows
from tests.support.polling import eventually

HELPER = Path(__file__).with_name("crash_helper.py")
IMAGE_API_TIMEOUT = 600


async def crash_mid_request(target: Target, clock: ManualClock, while_alive=None) -> int:  # type: ignore[no-untyped-def]
    """Run the helper until it holds an open reservation (then await `while_alive()`, if
    given, while it still runs), then SIGKILL it."""
    target.path.parent.mkdir(parents=True, exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(HELPER), target.url or str(target.path), "boot-crashed", str(clock().timestamp()),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=30)  # type: ignore[union-attr]
        assert line.startswith(b"READY"), (line, await process.stderr.read())  # type: ignore[union-attr]
        if while_alive is not None:
            await while_alive()
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert process.returncode == -signal.SIGKILL
    if target.postgres:
        # The server ends the dead client's session (and frees its liveness lock) on its
        # own schedule, a moment after the kill: until then the helper still looks alive.
        await eventually(
            lambda: target.liveness_holder("boot-crashed") is None,
            what="PostgreSQL to end the killed helper's session and free its liveness lock",
        )
    return int(line.split()[1])


async def open_store(target: Target, clock: ManualClock) -> tuple[QuotaStore, object]:
    conn = await target.connect()
    if not target.postgres:
        from bot.store.sqlite import migrate

        await migrate(conn.conn)  # type: ignore[attr-defined]
    return QuotaStore(conn, owner="boot-restarted", default_limit=10, default_period="day", clock=clock), conn


async def test_restart_refunds_the_dead_process_reservation(target: Target, clock: ManualClock) -> None:
    open_id = await crash_mid_request(target, clock)
    store, conn = await open_store(target, clock)
    try:
        before = await store.usage_for(GUILD, USER)
        assert (before.used, before.reserved_in_flight) == (5, 3)  # the crash left 3 images held
        mine = await store.reserve(GUILD, USER, [], 1, model="m")  # the new process's own request
        assert isinstance(mine, Reservation)

        # SQLite: holding the instance lock, the new process refunds the old owner's rows
        # only. PostgreSQL: the old owner's liveness lock died with it, but it beat a
        # moment ago (a live process whose connection dropped looks the same): its rows go
        # once its last beat is older than the bound.
        if target.postgres:
            assert await store.release_abandoned() == 0
            clock.advance(seconds=DEAD_AFTER_SECONDS + 1)
        assert await store.release_abandoned() == 1
        assert await store.release_abandoned() == 0
        after = await store.usage_for(GUILD, USER)
        # The committed work from before the crash survives; the held images are back.
        assert (after.used, after.reserved_in_flight, after.images, after.total_tokens) == (3, 1, 2, 1234)
        assert await store.commit(mine.id, 1)
    finally:
        await conn.close()  # type: ignore[attr-defined]
    row = ledger_rows(target, "id = ?", (open_id,))[0]
    assert (row["status"], row["refund_reason"], row["owner"]) == ("refunded", "abandoned", "boot-crashed")


async def test_stale_reservations_are_released_after_the_timeout(target: Target, clock: ManualClock) -> None:
    open_id = await crash_mid_request(target, clock)
    store, conn = await open_store(target, clock)
    try:
        ttl = IMAGE_API_TIMEOUT + 60
        clock.advance(seconds=ttl - 1)
        assert await store.release_stale(ttl) == 0  # could still be a slow edit
        clock.advance(seconds=2)
        assert await store.release_stale(ttl) == 1
        assert await store.release_stale(ttl) == 0
        usage = await store.usage_for(GUILD, USER)
        assert (usage.used, usage.remaining, usage.reserved_in_flight) == (2, 8, 0)
        assert (await store.global_usage()).used == 2
        assert isinstance(await store.reserve(GUILD, USER, [], 8, model="m"), Reservation)
    finally:
        await conn.close()  # type: ignore[attr-defined]
    row = ledger_rows(target, "id = ?", (open_id,))[0]
    assert (row["status"], row["refund_reason"]) == ("refunded", "stale")


@pytest.mark.parametrize("days_ago", [0, 3])
async def test_release_finds_open_rows_of_any_age(store: QuotaStore, clock: ManualClock, days_ago: int) -> None:
    # An old crash: the open row sits among days of settled history.
    real_now = clock.now
    clock.advance(days=-days_ago)
    leftover = await store.reserve(GUILD, USER, [], 1, model="m")
    for _ in range(5):
        clock.advance(hours=7)
        done = await store.reserve(GUILD, USER + 1, [], 1, model="m")
        assert isinstance(done, Reservation) and await store.commit(done.id, 1)
    clock.set(real_now)
    assert isinstance(leftover, Reservation)
    assert await store.release_stale(IMAGE_API_TIMEOUT + 60) == (1 if days_ago else 0)


@pytest.mark.postgres_only(reason="SQLite has no second live process: the instance lock refuses it (tests/e2e/test_process.py)")
async def test_a_running_process_reservations_are_never_released_as_abandoned(
    target: Target, clock: ManualClock
) -> None:
    """PostgreSQL is shared by several processes: a new one releases only the rows of
    processes that are gone."""
    store, conn = await open_store(target, clock)
    try:
        async def meanwhile() -> None:
            clock.advance(seconds=DEAD_AFTER_SECONDS + 1)
            assert await store.release_abandoned() == 0  # the helper is alive: its lock is held, however old its beat
            clock.advance(seconds=-(DEAD_AFTER_SECONDS + 1))
            processes = target.rows("SELECT owner, pid FROM processes")
            assert [p["owner"] for p in processes] == ["boot-crashed"]

        open_id = await crash_mid_request(target, clock, while_alive=meanwhile)
        clock.advance(seconds=DEAD_AFTER_SECONDS + 1)
        assert await store.release_abandoned() == 1  # killed: PostgreSQL dropped its lock, and it beats no more
        assert ledger_rows(target, "id = ?", (open_id,))[0]["refund_reason"] == "abandoned"
        assert target.rows("SELECT owner FROM processes") == []  # gone from the list doctor shows
    finally:
        await conn.close()  # type: ignore[attr-defined]
