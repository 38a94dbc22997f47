"""A live process is never taken for a dead one, and a delivered edit always counts.

With PostgreSQL each process holds an advisory lock on a liveness connection of its own
(bot/store/postgres.py). That lock can vanish while the process lives (a server restart,
`idle_session_timeout`, a dropped connection): these tests end the session for real and
check that no other process refunds the live one's reservations, that the next beat takes
the lock back, and that even after a wrong release the delivered images count.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.edits.reservations import Bill, ReservationKeeper
from bot.store.backend import PostgresDatabase
from bot.store.postgres import BEAT_SECONDS, DEAD_AFTER_SECONDS, ProcessLiveness
from bot.store.quota import Reservation
from tests.store.conftest import GUILD, USER, ManualClock, StoreFactory, Target, ledger_rows
from tests.support.polling import eventually
from tests.support.tcp_proxy import TcpProxy

LIVE, OTHER = "boot-live", "boot-other"
NO_LIVENESS = "SQLite has no liveness connection: one process per file, under the instance lock"

@pytest.mark.postgres_only(reason=NO_LIVENESS)
async def test_a_terminated_liveness_session_frees_nothing_and_the_next_beat_takes_the_lock_back(
    target: Target, clock: ManualClock, make_store: StoreFactory, caplog: pytest.LogCaptureFixture
) -> None:
    live_db, other_db = await target.connect(), await target.connect()  # two processes' pools
    liveness = ProcessLiveness(live_db, LIVE)  # type: ignore[arg-type]
    try:
        live, other = make_store(live_db, owner=LIVE), make_store(other_db, owner=OTHER)
        await liveness.start(live.now())
        running = await live.reserve(GUILD, USER, [], 3, model="m")
        assert isinstance(running, Reservation)
        first = target.liveness_holder(LIVE)
        assert first is not None

        # The server ends the liveness session while the process lives on.
        assert target.rows("SELECT pg_terminate_backend(?, 10000) AS done", (first,))[0]["done"]
        assert target.liveness_holder(LIVE) is None
        # The lock is free, but the process beat a moment ago: it is not taken for dead.
        assert await other.release_abandoned() == 0
        assert ledger_rows(target, "id = ?", (running.id,))[0]["status"] == "reserved"

        # Its next beat finds the session gone, reconnects and takes the lock back.
        clock.advance(seconds=BEAT_SECONDS)
        with caplog.at_level(logging.WARNING, logger="retouch.store"):
            await liveness.beat(live.now())
        assert "the liveness connection to PostgreSQL failed" in caplog.text
        again = target.liveness_holder(LIVE)
        assert again is not None and again != first
        names = target.rows("SELECT application_name FROM pg_stat_activity WHERE pid = ?", (again,))
        assert names == [{"application_name": f"retouch liveness {LIVE}"}]
        assert target.rows("SELECT last_seen FROM processes WHERE owner = ?", (LIVE,)) == [{"last_seen": live.now()}]

        # Long after its last beat, the lock it holds again still protects it.
        clock.advance(seconds=DEAD_AFTER_SECONDS + 1)
        assert await other.release_abandoned() == 0
        assert await live.commit(running.id, 3)
        assert (await other.usage_for(GUILD, USER)).used == 3
    finally:
        await liveness.stop()
        await live_db.close()
        await other_db.close()


@pytest.mark.postgres_only(reason=NO_LIVENESS)
async def test_a_process_whose_lock_is_free_and_whose_beats_stopped_is_released(
    target: Target, clock: ManualClock, make_store: StoreFactory
) -> None:
    """The other half of the rule: free lock AND a last beat older than the bound."""
    live_db, other_db = await target.connect(), await target.connect()
    liveness = ProcessLiveness(live_db, LIVE)  # type: ignore[arg-type]
    try:
        live, other = make_store(live_db, owner=LIVE), make_store(other_db, owner=OTHER)
        await liveness.start(live.now())
        held = await live.reserve(GUILD, USER, [], 2, model="m")
        assert isinstance(held, Reservation)
        clock.advance(seconds=DEAD_AFTER_SECONDS + 1)
        assert await other.release_abandoned() == 0, "an old beat alone proves nothing while the lock is held"
        holder = target.liveness_holder(LIVE)
        assert target.rows("SELECT pg_terminate_backend(?, 10000) AS done", (holder,))[0]["done"]
        assert await other.release_abandoned() == 1
        row = ledger_rows(target, "id = ?", (held.id,))[0]
        assert (row["status"], row["refund_reason"]) == ("refunded", "abandoned")
    finally:
        await liveness.stop()
        await live_db.close()
        await other_db.close()


@pytest.mark.postgres_only(reason=NO_LIVENESS)
async def test_a_silently_dropped_liveness_connection_is_noticed_by_its_beat(
    target: Target, clock: ManualClock, make_store: StoreFactory
) -> None:
    """The network drops the liveness connection without a word (no FIN reaches either
    side), and the server ends the session it can no longer reach: the client's socket
    still looks open. The next beat's statement gets no answer, and it reconnects."""
    from urllib.parse import urlsplit

    url = urlsplit(target.url or "")
    async with TcpProxy(url.hostname or "127.0.0.1", url.port or 5432) as proxy:
        live_db, other_db = await target.connect(), await target.connect()
        # The liveness connection goes through the relay (the statements, as usual, not).
        relayed = PostgresDatabase(live_db.pool, proxy.rewrite(target.url or ""))  # type: ignore[attr-defined]
        liveness = ProcessLiveness(relayed, LIVE)
        try:
            live, other = make_store(live_db, owner=LIVE), make_store(other_db, owner=OTHER)
            await liveness.start(live.now())
            running = await live.reserve(GUILD, USER, [], 2, model="m")
            assert isinstance(running, Reservation)
            first = target.liveness_holder(LIVE)
            proxy.freeze()
            assert target.rows("SELECT pg_terminate_backend(?, 10000) AS done", (first,))[0]["done"]

            clock.advance(seconds=BEAT_SECONDS)
            await liveness.beat(live.now())  # waits out BEAT_TIMEOUT_SECONDS, then reconnects
            again = target.liveness_holder(LIVE)
            assert again is not None and again != first
            clock.advance(seconds=DEAD_AFTER_SECONDS + 1)
            assert await other.release_abandoned() == 0
            assert ledger_rows(target, "id = ?", (running.id,))[0]["status"] == "reserved"
        finally:
            await liveness.stop()
            await live_db.close()
            await other_db.close()


@pytest.mark.postgres_only(reason=NO_LIVENESS)
async def test_idle_session_timeout_never_ends_the_liveness_session(target: Target, clock: ManualClock) -> None:
    import asyncpg

    name = target.rows("SELECT current_database() AS name")[0]["name"]
    target.execute(f'ALTER DATABASE "{name}" SET idle_session_timeout = 300')  # ms, for new sessions
    db = await target.connect()
    liveness = ProcessLiveness(db, LIVE)  # type: ignore[arg-type]
    probe = None
    try:
        await liveness.start(clock().timestamp())
        holder = target.liveness_holder(LIVE)
        assert holder is not None
        # A session opened after the liveness one's last statement, with the same
        # default: once the server has ended it for idling, it would have ended the
        # liveness session too.
        probe = await asyncpg.connect(target.url)
        await eventually(probe.is_closed, 10, what="the server ended an idle session")
        assert target.liveness_holder(LIVE) == holder
        await liveness.beat(clock().timestamp())  # the same session answers
        assert target.liveness_holder(LIVE) == holder
    finally:
        if probe is not None:
            probe.terminate()
        await liveness.stop()
        await db.close()


@pytest.mark.parametrize("released_as", ["stale", "abandoned"])
async def test_images_delivered_after_a_wrong_release_still_count(
    target: Target, clock: ManualClock, make_store: StoreFactory, tmp_path: Path, released_as: str
) -> None:
    """PRODUCT.md: an image that reached Discord always counts. A live edit's row may be
    released wrongly (its signs of life could not be written; another process took this
    one for dead); the ordinary commit of its delivery still settles it."""
    store = make_store()
    journal = tmp_path / "pending-commits"
    keeper = ReservationKeeper(store, stale_after=600, journal=journal)
    other_db = await target.connect()
    try:
        running = await store.reserve(GUILD, USER, [], 3, model="m", cost_usd=0.12)
        assert isinstance(running, Reservation)
        keeper.hold(running)
        if released_as == "stale":
            clock.advance(seconds=601)  # no touch reached the database meanwhile
            assert await store.release_stale(600) == 1
        else:
            # This test's process holds no liveness lock and has no `processes` row: to
            # another process it looks gone (SQLite: a second process would need the
            # instance lock; released here to show the commit side).
            assert await make_store(other_db, owner=OTHER).release_abandoned() == 1
        row = ledger_rows(target, "id = ?", (running.id,))[0]
        assert (row["status"], row["refund_reason"]) == ("refunded", released_as)
        assert (await store.usage_for(GUILD, USER)).used == 0

        await keeper.commit(running, 2, Bill(total_tokens=900, cost_usd=0.08))
        keeper.let_go(running)
    finally:
        await keeper.close()
        await other_db.close()
    row = ledger_rows(target, "id = ?", (running.id,))[0]
    assert (row["status"], row["images_delivered"], row["total_tokens"]) == ("committed", 2, 900)
    assert (await store.usage_for(GUILD, USER)).used == 2
    assert not journal.exists(), "written at once, nothing left to retry"
