"""A process killed between reserve and commit leaves nothing stuck."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from bot.store.database import migrate, open_database
from bot.store.quota import QuotaStore, Reservation
from tests.store.conftest import GUILD, USER, ManualClock, ledger_rows

HELPER = Path(__file__).with_name("crash_helper.py")
IMAGE_API_TIMEOUT = 600


async def crash_mid_request(db_path: Path, clock: ManualClock) -> int:
    """Run the helper until it holds an open reservation, then SIGKILL it."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(HELPER), str(db_path), "boot-crashed", str(clock().timestamp()),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=30)  # type: ignore[union-attr]
        assert line.startswith(b"READY"), (line, await process.stderr.read())  # type: ignore[union-attr]
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert process.returncode == -signal.SIGKILL
    return int(line.split()[1])


async def open_store(db_path: Path, clock: ManualClock) -> tuple[QuotaStore, object]:
    conn = await open_database(db_path)
    await migrate(conn)
    return QuotaStore(conn, owner="boot-restarted", default_limit=10, default_period="day", clock=clock), conn


async def test_restart_refunds_the_dead_process_reservation(db_path: Path, clock: ManualClock) -> None:
    open_id = await crash_mid_request(db_path, clock)
    store, conn = await open_store(db_path, clock)
    try:
        before = await store.usage_for(GUILD, USER)
        assert (before.used, before.reserved_in_flight) == (5, 3)  # the crash left 3 images held
        mine = await store.reserve(GUILD, USER, [], 1, model="m")  # the new process's own request
        assert isinstance(mine, Reservation)

        # Holding the instance lock, the new process refunds the old owner's rows only.
        assert await store.release_abandoned() == 1
        assert await store.release_abandoned() == 0
        after = await store.usage_for(GUILD, USER)
        # The committed work from before the crash survives; the held images are back.
        assert (after.used, after.reserved_in_flight, after.images, after.total_tokens) == (3, 1, 2, 1234)
        assert await store.commit(mine, 1)
    finally:
        await conn.close()  # type: ignore[attr-defined]
    row = ledger_rows(db_path, "id = ?", (open_id,))[0]
    assert (row["status"], row["refund_reason"], row["owner"]) == ("refunded", "abandoned", "boot-crashed")


async def test_stale_reservations_are_released_after_the_timeout(db_path: Path, clock: ManualClock) -> None:
    open_id = await crash_mid_request(db_path, clock)
    store, conn = await open_store(db_path, clock)
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
    row = ledger_rows(db_path, "id = ?", (open_id,))[0]
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
        assert isinstance(done, Reservation) and await store.commit(done, 1)
    clock.set(real_now)
    assert isinstance(leftover, Reservation)
    assert await store.release_stale(IMAGE_API_TIMEOUT + 60) == (1 if days_ago else 0)
