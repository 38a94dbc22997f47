"""The commit journal and the reservation keeper cannot be broken by what they read: a
provider returning more images than asked, absurd token counts, a journal line that is
not an entry or that the database refuses for good, an unreadable journal file. Each is
made to happen for real, against the real bot (or the real keeper) and its database."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading

import pytest

from bot.edits.reservations import Bill, PendingCommit, ReservationKeeper, quarantine_path_for
from bot.store.connect import journal_path
from bot.provider.usage import MAX_TOKENS
from tests.conftest import running_bot
from tests.support.images import png
from tests.support.ledger import ledger
from tests.support.polling import eventually
from tests.fakes.discord_server import FakeAttachment
from tests.fakes.image_api import Reply


def rows(path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return [tuple(r) for r in db.execute("SELECT id, status, images_delivered, total_tokens, refund_reason FROM ledger ORDER BY id")]


def quarantined(journal) -> list[dict]:
    where = quarantine_path_for(journal)
    return [json.loads(line) for line in where.read_text().splitlines()] if where.exists() else []


async def test_a_provider_returning_more_images_than_asked_delivers_and_counts_only_n(fake_discord, settings_for, image_api):
    bill = {"input_tokens": 300, "output_tokens": 12480, "total_tokens": 12780}
    image_api.queue(Reply.images(3, usage=bill), Reply.images(1))  # n=1 asked, 3 returned (n+2)
    async with running_bot(settings_for(), fake_discord) as bot:
        member = fake_discord.member("lucky")
        first = await (await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="one", n=1)).wait_result()
        assert len(first.files) == 1 and not first.ephemeral
        second = await (await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="two")).wait_result()
        assert len(second.files) == 1
        # Counted as asked, billed as the provider reported; nothing stuck in the journal.
        assert await ledger(bot) == [("committed", 1, 1, 12780), ("committed", 1, 1, 4386)]
        assert (await bot.store.usage_for(fake_discord.guild.id, member.id, [])).used == 2
        assert not journal_path(bot.settings).exists()


async def open_rows(settings, fake_discord, count: int) -> list[int]:
    """Reservations left open by a bot that stops (as after a crash, for the next start)."""
    async with running_bot(settings, fake_discord) as bot:
        member = fake_discord.member("someone")
        ids = []
        for _ in range(count):
            reservation = await bot.store.reserve(fake_discord.guild.id, member.id, [], 1, model="gpt-image-2")
            ids.append(reservation.id)  # type: ignore[union-attr]
    return ids


async def test_an_entry_the_database_refuses_is_moved_aside_and_never_blocks_the_others(fake_discord, settings_for, caplog):
    settings = settings_for()
    refused, good = await open_rows(settings, fake_discord, 2)
    journal = journal_path(settings)
    # The first entry breaks the ledger's check (more delivered than reserved), the second is fine.
    journal.write_text(
        PendingCommit(refused, 3, Bill(total_tokens=5)).to_json() + "\n" + PendingCommit(good, 1, Bill(total_tokens=7)).to_json() + "\n"
    )
    with caplog.at_level(logging.ERROR):
        async with running_bot(settings, fake_discord):
            pass
    assert rows(settings.database_path) == [(refused, "refunded", 0, None, "abandoned"), (good, "committed", 1, 7, None)]
    assert [(q["edit"], json.loads(q["entry"])["delivered"]) for q in quarantined(journal)] == [(refused, 3)]
    assert not journal.exists()
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR" and f"edit #{refused}" in r.getMessage()]
    assert len(errors) == 1 and "moved aside" in errors[0], errors


BAD_LINES = {
    "an array": b"[]",
    "not an object": b"42",
    "a string": b'"hello"',
    "negative delivered": b'{"id": 1, "delivered": -1}',
    "negative tokens": b'{"id": 1, "delivered": 1, "total_tokens": -5}',
    "non-numeric cost": b'{"id": 1, "delivered": 1, "cost_usd": "lots"}',
    "non-numeric id": b'{"id": "one", "delivered": 1}',
    "not JSON": b"{oops",
    "not UTF-8": b'{"id": 1, "delivered": 1, "note": "\xff\xfe"}',
}


@pytest.mark.parametrize("shape", list(BAD_LINES))
async def test_a_bad_journal_line_is_moved_aside_and_the_bot_starts(fake_discord, settings_for, caplog, shape):
    settings = settings_for()
    (good,) = await open_rows(settings, fake_discord, 1)
    journal = journal_path(settings)
    journal.write_bytes(BAD_LINES[shape] + b"\n" + PendingCommit(good, 1, Bill(total_tokens=9)).to_json().encode() + b"\n")
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        async with running_bot(settings, fake_discord) as bot:
            assert bot.is_ready()
    assert rows(settings.database_path) == [(good, "committed", 1, 9, None)], "the good entry behind it is applied"
    assert len(quarantined(journal)) == 1
    assert not journal.exists()
    errors = [r for r in caplog.records if r.levelname == "ERROR" and "moved aside" in r.getMessage()]
    assert len(errors) == 1, [r.getMessage() for r in caplog.records]


async def test_an_unreadable_journal_is_renamed_aside_and_the_bot_starts(fake_discord, settings_for, caplog):
    settings = settings_for()
    journal = journal_path(settings)
    journal.mkdir(parents=True)  # a directory where the file should be: reading it fails
    (journal / "junk").write_text("x")
    with caplog.at_level(logging.ERROR):
        async with running_bot(settings, fake_discord) as bot:
            assert bot.is_ready()
    assert not journal.exists()
    assert [p.name for p in settings.database_path.parent.glob(journal.name + ".unreadable-*")]
    assert any("cannot read the pending-commit journal" in r.getMessage() for r in caplog.records)


async def test_absurd_token_counts_are_clamped_and_the_keeper_keeps_working(fake_discord, settings_for, image_api):
    image_api.queue(Reply.images(1, usage={"input_tokens": 1e20, "output_tokens": 1e20, "total_tokens": 1e20}))
    async with running_bot(settings_for(stale_reservation_seconds=0.3), fake_discord) as bot:
        member = fake_discord.member("greedy")
        reply = await (await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="x")).wait_result()
        assert len(reply.files) == 1
        await eventually(lambda: not journal_path(bot.settings).exists())
        assert await ledger(bot) == [("committed", 1, 1, MAX_TOKENS)]
        # The keeper's loop is alive: it still releases a reservation nobody holds.
        orphan = await bot.store.reserve(fake_discord.guild.id, member.id, [], 1, model="gpt-image-2")
        for _ in range(200):
            status = await bot.db.execute_fetchall("SELECT status, refund_reason FROM ledger WHERE id = ?", (orphan.id,))  # type: ignore[union-attr]
            if status[0][0] != "reserved":
                break
            await asyncio.sleep(0.05)
        assert tuple(status[0]) == ("refunded", "stale")
        assert not bot.reservations._task.done()  # type: ignore[union-attr]


async def test_two_writers_sharing_a_journal_path_never_share_a_temporary_file(tmp_path, caplog):
    # Two processes with one data folder (PostgreSQL without SHARD_IDS, or a copy started
    # by mistake) rewrite the same journal; each rewrite is written aside and renamed in.
    journal = tmp_path / "retouch.db.pending-commits"
    keepers = [ReservationKeeper(None, stale_after=60, journal=journal) for _ in range(2)]  # type: ignore[arg-type]
    for number, keeper in enumerate(keepers):
        keeper._pending = {i: PendingCommit(i, 1, Bill(total_tokens=number)) for i in range(1, 50)}
    start = threading.Barrier(2)

    def rewrite_many(keeper: ReservationKeeper) -> None:
        start.wait(timeout=10)
        for _ in range(150):
            keeper._rewrite_journal()

    with caplog.at_level(logging.ERROR):
        await asyncio.gather(*(asyncio.to_thread(rewrite_many, k) for k in keepers))
    assert not [r.getMessage() for r in caplog.records if "could not write" in r.getMessage()]
    lines = journal.read_text().splitlines()
    assert len(lines) == 49 and len({json.loads(line)["total_tokens"] for line in lines}) == 1, "one writer's whole file"
    assert [p.name for p in tmp_path.iterdir()] == [journal.name], "no temporary file left behind"
