"""A delivered image always counts, even when its commit cannot be written: another
program holds the SQLite database's write lock past the busy timeout, for real. The
commit is journaled next to the database, then written by the keeper once the lock is
gone, or at the next start when the bot stopped meanwhile."""

from __future__ import annotations

import asyncio
import logging

from bot.edits.reservations import PendingCommit
from bot.edits.service import Phase
from tests.edits.conftest import edit_world
from tests.support.sqlite_lock import WriteLock
from tests.support.surface import InMemorySurface

BUSY_TIMEOUT = 0.1  # seconds each write waits for the lock before it fails


async def deliver_while_locked(edits, lock: WriteLock, *, n: int = 1) -> InMemorySurface:
    """An edit whose result reaches the member just as another program takes the write lock."""
    surface = InMemorySurface()
    surface.hold_delivery()
    task = edits.submit(edits.order(n=n), surface)
    await surface.wait_posting()  # kept for its buttons; the commit comes after the post
    await lock.take()
    surface.release_delivery()
    # The service returns once the commit gave up inline (three attempts) and was journaled.
    assert await asyncio.wait_for(task, 10) is Phase.DELIVERED
    return surface


async def test_a_commit_that_fails_is_journaled_then_written_once_the_lock_is_gone(service_settings, image_api, caplog):
    caplog.set_level(logging.INFO, "retouch")
    async with edit_world(service_settings(database_busy_timeout=BUSY_TIMEOUT), image_api) as edits:
        lock = WriteLock(edits.settings.database_path)
        try:
            surface = await deliver_while_locked(edits, lock, n=2)
            assert surface.reports[0].delivered == 2 and surface.told == [], "never told 'refunded' for images they got"
            [pending] = [PendingCommit.from_json(line) for line in edits.journal.read_text().splitlines()]
            assert (pending.reservation_id, pending.delivered) == (1, 2)
            bill = pending.bill
            assert (bill.input_tokens, bill.output_tokens, bill.total_tokens) == (226, 8320, 8546) and bill.cost_usd > 0
            assert await edits.ledger("status") == [("reserved",)], "not written yet: the database is locked"
            assert any(
                r.levelname == "ERROR" and "edit #1: could not record 2 delivered image(s)" in r.getMessage() for r in caplog.records
            ), "the owner sees which edit"
        finally:
            await lock.let_go()
        await edits.keeper.sweep()  # the keeper's loop, one turn
        assert await edits.ledger() == [("committed", 2, 2, 8546, None)]
        assert await edits.used() == 2
        assert not edits.journal.exists()


async def test_a_commit_still_locked_when_the_bot_stops_is_written_at_the_next_start(service_settings, image_api):
    settings = service_settings(database_busy_timeout=BUSY_TIMEOUT)
    lock = WriteLock(settings.database_path)
    try:
        async with edit_world(settings, image_api, owner="first-run") as edits:
            await deliver_while_locked(edits, lock, n=2)
        # Stopped with the lock still held: the commit waits in the journal.
        assert edits.journal.exists()
    finally:
        await lock.let_go()
    assert await edits.ledger("status", "owner") == [("reserved", "first-run")]
    async with edit_world(settings, image_api, owner="second-run") as edits:
        # Settled as delivered, not refunded as abandoned by a process that is gone.
        assert await edits.ledger() == [("committed", 2, 2, 8546, None)]
        assert await edits.used() == 2
        assert not edits.journal.exists()
