"""Quota accounting under the conditions that used to break it, each made to happen for real:
a queue that outlives the stale bound, a database locked past its busy timeout (and
through a restart), a settle racing a slow Discord reply, a result Discord only half took."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot.store.connect import journal_path
from tests.conftest import running_bot
from tests.fakes.discord_server import FakeAttachment
from tests.fakes.image_api import Reply
from tests.support.images import png
from tests.support.ledger import ledger
from tests.support.polling import eventually
from tests.support.sqlite_lock import WriteLock


async def settled(bot, columns: str = "status, images_reserved, images_delivered, total_tokens") -> list[tuple] | None:
    """The ledger once no row is reserved any more (else None)."""
    rows = [tuple(r) for r in await bot.db.execute_fetchall(f"SELECT {columns} FROM ledger ORDER BY id")]
    return rows if rows and all(r[0] != "reserved" for r in rows) else None


async def test_a_long_queue_never_frees_quota_that_a_live_edit_holds(fake_discord, settings_for, image_api):
    # Reservations with no sign of life for 0.5 s are released. The first edit stays at the
    # provider until the second one, queued behind it (one member's edits run one after
    # another), has waited well past that bound.
    settings = settings_for(quota_default_limit=2, max_concurrent_edits=1, stale_reservation_seconds=0.5)
    working = image_api.expect(Reply.images(1, gate="first"))
    async with running_bot(settings, fake_discord) as bot:
        member = fake_discord.member("greedy")
        first = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="one")
        await asyncio.wait_for(working.answered.wait(), 10)
        second = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="two")

        async def queued_past_the_bound() -> bool:
            rows = await bot.db.execute_fetchall("SELECT status, alive_at - created_at FROM ledger ORDER BY id")
            # Kept alive by the keeper for twice the bound, and never released.
            return len(rows) == 2 and all(r[0] == "reserved" for r in rows) and rows[1][1] >= 2 * 0.5

        await eventually(queued_past_the_bound, what="the second edit queued past the stale bound, still reserved")
        third = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="three")
        image_api.open_gate("first")
        results = [await r.wait_result(timeout=20) for r in (first, second, third)]
        assert [bool(r.files) for r in results] == [True, True, False]
        assert results[2].ephemeral and "used all 2" in results[2].text
        assert len(image_api.edits) == 2
        rows = await bot.db.execute_fetchall("SELECT status, images_delivered, refund_reason FROM ledger ORDER BY id")
        assert [tuple(r) for r in rows] == [("committed", 1, None), ("committed", 1, None)]
        assert (await bot.store.usage_for(fake_discord.guild.id, member.id, [])).used == 2


async def test_a_dead_edits_reservation_is_still_released(fake_discord, settings_for, image_api):
    # The other side of liveness: a row no edit of this process holds (a crash, a bug) goes.
    async with running_bot(settings_for(stale_reservation_seconds=0.3), fake_discord) as bot:
        member = fake_discord.member("ghost")
        orphan = await bot.store.reserve(fake_discord.guild.id, member.id, [], 3, model="gpt-image-2")
        rows = await eventually(lambda: settled(bot, "status, refund_reason"), what="the orphan released")
        assert rows == [("refunded", "stale")]
        assert orphan.images == 3


async def test_a_delivered_image_counts_even_when_the_database_is_locked_past_its_busy_timeout(
    fake_discord, settings_for, image_api
):
    working = image_api.expect(Reply.images(1, gate="locked"))
    async with running_bot(settings_for(database_busy_timeout=0.5), fake_discord) as bot:
        journal = journal_path(bot.settings)
        member = fake_discord.member("patient")
        rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="x")
        await asyncio.wait_for(working.answered.wait(), 10)
        async with WriteLock(bot.settings.database_path):
            image_api.open_gate("locked")  # the result arrives while the database is locked
            reply = await rec.wait_result()
            # Journaled at the first failed attempt (0.5 s busy timeout): kept on disk while locked.
            await eventually(journal.exists, what="the commit journaled while the database is locked")
        assert reply.files and not reply.ephemeral
        rows = await eventually(lambda: settled(bot), what="the commit written once the lock is gone")
        assert rows == [("committed", 1, 1, 4386)]
        assert all("refunded" not in m.text for m in rec.messages), "never told 'refunded' for an image they got"
        assert not journal.exists()


async def test_a_commit_that_cannot_be_written_before_stopping_is_settled_at_the_next_start(
    fake_discord, settings_for, image_api, caplog
):
    settings = settings_for(database_busy_timeout=0.3, shutdown_grace_seconds=0.5)
    working = image_api.expect(Reply.images(2, gate="locked"))
    member = fake_discord.member("unlucky")
    async with running_bot(settings, fake_discord) as bot:
        rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="x", n=2)
        await asyncio.wait_for(working.answered.wait(), 10)
        lock = await WriteLock(settings.database_path).take()
        try:
            image_api.open_gate("locked")
            reply = await rec.wait_result()
            assert len(reply.files) == 2
            await eventually(journal_path(settings).exists, what="the commit journaled")
            await asyncio.wait_for(bot.close(), 30)
        finally:
            await lock.let_go()
    assert any("edit #1" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records), "the owner sees which edit"
    with sqlite3.connect(settings.database_path) as db:
        assert db.execute("SELECT status FROM ledger").fetchall() == [("reserved",)]
    async with running_bot(settings, fake_discord) as bot:
        assert await ledger(bot) == [("committed", 2, 2, 8546)], "settled as delivered, not refunded as abandoned"
        assert (await bot.store.usage_for(fake_discord.guild.id, member.id, [])).used == 2
        assert not journal_path(settings).exists()


async def test_a_settle_during_a_slow_discord_reply_is_not_missed(fake_discord, settings_for, image_api):
    async with running_bot(settings_for(quota_default_limit=1), fake_discord) as bot:
        member = fake_discord.member("racer")
        # Refused upstream when the test says, in one attempt (a rejection is never retried).
        rejected = image_api.expect(Reply.error(400, "Rejected by the safety system.", code="moderation_blocked", gate="first"))
        first = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="one")
        await asyncio.wait_for(rejected.answered.wait(), 10)
        second = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="two")
        # The second edit's first reply (it waits for the other edit) is slowed by a rate
        # limit; the first edit fails and is refunded during exactly that reply.
        fake_discord.rate_limits[second.token] = [1.2]
        await eventually(lambda: fake_discord.rate_limits[second.token] == [], what="the second edit's reply rate limited")
        image_api.open_gate("first")
        failed = await first.wait_result(timeout=15)
        assert failed.ephemeral and "refunded" in failed.text
        done = await second.wait_result(timeout=20)
        assert not done.ephemeral and done.files, done.text
        assert "Quota: 0 of 1 left today" in done.text
        assert second.violations == []
        assert (await bot.store.usage_for(fake_discord.guild.id, member.id, [])).used == 1


async def test_a_follow_up_that_fails_part_way_counts_only_what_was_posted(fake_discord, settings_for, image_api):
    fake_discord.guild.upload_limit = 300_000
    image_api.queue(Reply.images(2, size=(256, 256), fill="noise"))  # ~200 KB each: one per message
    async with running_bot(settings_for(), fake_discord) as bot:
        member = fake_discord.member("half")
        rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="x", n=2)
        # The only POST on this webhook is the follow-up carrying the second image.
        fake_discord.fail_next("POST", f"/webhooks/{fake_discord.app_id}/{rec.token}", 413, 40005)
        await eventually(lambda: any(m.ephemeral for m in rec.followups), timeout=15)
        posted = [m for m in rec.messages if m.files]
        assert len(posted) == 1 and len(posted[0].files) == 1
        note = next(m for m in rec.followups if m.ephemeral)
        assert "1 of your 2 images couldn't be posted" in note.text and "not counted" in note.text
        rows = await eventually(lambda: settled(bot), what="the edit settled")
        assert rows == [("committed", 2, 1, 8546)]
        assert (await bot.store.usage_for(fake_discord.guild.id, member.id, [])).used == 1


async def test_the_bill_is_kept_when_images_were_made_but_nobody_received_them(fake_discord, settings_for, image_api):
    fake_discord.guild.bot_can_post = False
    async with running_bot(settings_for(), fake_discord) as bot:
        member = fake_discord.member("late")
        edit_cog = bot.get_cog("EditCog")
        real_now = edit_cog.now
        edit_cog.now = lambda: real_now() + __import__("datetime").timedelta(minutes=16)
        await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="x")
        [(status, tokens, cost)] = await eventually(lambda: settled(bot, "status, total_tokens, cost_usd"), what="the edit settled")
        assert status == "refunded" and tokens == 4386 and cost and cost > 0, "the member is refunded; the bill is kept"
        assert (await bot.store.usage_for(fake_discord.guild.id, member.id, [])).used == 0
        report = await bot.store.report(fake_discord.guild.id)
        assert report.images == 0 and report.cost_usd == pytest.approx(cost)
