"""Discord's 3 seconds, every time: every interaction that starts an edit is answered
within Discord's deadline however slow the member's download; what is slow follows.

The fake Discord refuses a first answer later than 3 s after the interaction was created
(404 Unknown Interaction, as Discord does) and records it as a violation; its CDN serves
an attachment only after that attachment's `delay`, and `interaction_delivery_delay` hands
an interaction to the bot late. A question (mask preview, cost) that is ready in time is
still the first answer; one that is not follows a private "thinking…" in its place.
"""

from __future__ import annotations

import io
import sqlite3

from PIL import Image

from tests.conftest import running_bot
from tests.fakes.discord_server import ACK_DEADLINE, FakeAttachment, InteractionRecord, SentMessage
from tests.fakes.image_api import Reply, make_image
from tests.support.images import png
from tests.support.polling import eventually

SLOW_DOWNLOAD = 4.5  # seconds the CDN takes: well past Discord's 3 s
WAIT = 30.0  # the most any one answer of these tests may take


def slow(data: bytes, filename: str = "photo.png") -> FakeAttachment:
    attachment = FakeAttachment.image(data, filename)
    attachment.delay = SLOW_DOWNLOAD
    return attachment


def ledger(bot) -> list[tuple]:
    with sqlite3.connect(bot.settings.database_path) as db:
        return db.execute("SELECT status, images_reserved FROM ledger ORDER BY id").fetchall()


def answered_in_time(rec: InteractionRecord) -> None:
    assert rec.violations == [], rec.violations
    assert rec.ack_at is not None and rec.ack_at - rec.created < ACK_DEADLINE, "the first answer reached Discord within 3 s"


def button(message: SentMessage, prefix: str) -> str:
    [custom_id] = [c for c in message.custom_ids if c.startswith(prefix)]
    return custom_id


def mask_png(size: tuple[int, int] = (64, 64)) -> bytes:
    im = Image.new("RGBA", size, (0, 0, 0, 255))
    im.paste((0, 0, 0, 0), (0, 0, size[0] // 2, size[1]))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


async def private_question_in_time(rec: InteractionRecord) -> SentMessage:
    """The slow path of a question: a private "thinking…" within 3 s, then the question
    itself as a private follow-up in its place, Confirm / Cancel on it."""
    await rec.wait_ack(timeout=WAIT)
    answered_in_time(rec)
    assert rec.ack_type == 5 and rec.deferred_ephemeral, "acknowledged privately: the question is not ready yet"
    question = await rec.wait_reply(timeout=WAIT)
    assert question.ephemeral and [c.split(":")[1] for c in question.custom_ids] == ["confirm", "decline"]
    assert len(rec.messages) == 1, "the question replaced the private 'thinking…'; nothing else was shown"
    return question


async def confirmed_result(fake_discord, question: SentMessage, member) -> SentMessage:
    click = await fake_discord.click(question, button(question, "retouch:confirm:"), by=member)
    result = await click.wait_result(timeout=WAIT)
    answered_in_time(click)
    assert not result.ephemeral and result.files, "the result is posted publicly, as after a quick question"
    assert question.content.startswith("Confirmed") and question.custom_ids == []
    return result


async def test_edit_with_a_slow_download_is_acknowledged_in_time(fake_discord, settings_for, image_api):
    async with running_bot(settings_for(), fake_discord) as bot:
        rec = await fake_discord.invoke("edit", by=fake_discord.member("patient"), image=slow(png()), prompt="a red scarf")
        result = await rec.wait_result(timeout=WAIT)
        answered_in_time(rec)
        assert rec.ack_type == 5 and not rec.deferred_ephemeral
        assert not result.ephemeral and [f.filename for f in result.files] == ["edit-1.png"]
        await eventually(lambda: ledger(bot) == [("committed", 1)])


async def test_a_mask_preview_of_a_slow_download_follows_a_private_acknowledgement(fake_discord, settings_for, image_api):
    member = fake_discord.member("careful")
    async with running_bot(settings_for(), fake_discord) as bot:
        rec = await fake_discord.invoke(
            "edit", by=member, image=slow(make_image(96, 64)), prompt="a moon", region="rect:50,0,50,50", mask_preview=True
        )
        question = await private_question_in_time(rec)
        assert "tinted area" in question.text and "region rect 50,0,50,50" in question.text
        assert any("mask-preview.jpg" in (e.get("image") or {}).get("url", "") for e in question.embeds)
        assert [f.filename for f in question.files] == ["mask-preview.jpg"]
        assert image_api.edits == [] and ledger(bot) == [], "nothing reserved before Confirm"
        result = await confirmed_result(fake_discord, question, member)
        assert "region" in result.text
        assert len(image_api.edits) == 1
        await eventually(lambda: ledger(bot) == [("committed", 1)])


async def test_a_cost_question_after_a_slow_image_check_follows_a_private_acknowledgement(fake_discord, settings_for, image_api):
    """The content check reads the image, so the question waits for the download."""
    member = fake_discord.member("thrifty")
    async with running_bot(settings_for(confirm_cost_above_usd=0.25, safety_check="images"), fake_discord) as bot:
        rec = await fake_discord.invoke(
            "edit", by=member, image=slow(png()), prompt="a red scarf", n=2, size="1024x1024", quality="high"
        )
        question = await private_question_in_time(rec)
        assert "estimated at $0.26" in question.text and len(image_api.moderations) == 1
        assert image_api.edits == [] and ledger(bot) == [], "nothing reserved before Confirm"
        result = await confirmed_result(fake_discord, question, member)
        assert [f.filename for f in result.files] == ["edit-1.png", "edit-2.png"]
        await eventually(lambda: ledger(bot) == [("committed", 2)])


async def test_a_cost_question_of_a_slow_download_is_declined_without_reserving(fake_discord, settings_for, image_api):
    member = fake_discord.member("unsure")
    async with running_bot(settings_for(confirm_cost_above_usd=0.25, safety_check="images"), fake_discord) as bot:
        rec = await fake_discord.invoke(
            "edit", by=member, image=slow(png()), prompt="a red scarf", n=2, size="1024x1024", quality="high"
        )
        question = await private_question_in_time(rec)
        declined = await (await fake_discord.click(question, button(question, "retouch:decline:"), by=member)).wait_update()
        assert "nothing was reserved" in declined.content and declined.custom_ids == []
        assert image_api.edits == [] and ledger(bot) == []


async def test_edit_image_with_a_slow_message_image_is_acknowledged_in_time(fake_discord, settings_for, image_api):
    alice, bob = fake_discord.member("alice"), fake_discord.member("bob")
    async with running_bot(settings_for(), fake_discord) as bot:
        photo = fake_discord.post_message(alice, "my cat", attachments=[slow(png(40, 30), "cat.png")])
        rec = await fake_discord.invoke_message_command("Edit image", by=bob, message=photo)
        await rec.wait_modal()
        answered_in_time(rec)
        submit = await fake_discord.submit_modal(rec, values={"prompt": "add a hat"}, by=bob)
        result = await submit.wait_result(timeout=WAIT)
        answered_in_time(submit)
        assert not result.ephemeral and result.files
        # The same form asking for the mask first: the preview follows privately.
        rec = await fake_discord.invoke_message_command("Edit image", by=bob, message=photo)
        await rec.wait_modal()
        submit = await fake_discord.submit_modal(rec, values={"prompt": "a hat on top", "where": ["top", "preview"]}, by=bob)
        question = await private_question_in_time(submit)
        assert "tinted area" in question.text and ledger(bot) == [("committed", 1)]
        await confirmed_result(fake_discord, question, bob)
        await eventually(lambda: ledger(bot) == [("committed", 1), ("committed", 1)])
        assert len(image_api.edits) == 2


async def test_edit_again_with_a_slow_mask_upload_is_acknowledged_in_time(fake_discord, settings_for, image_api):
    alice = fake_discord.member("alice")
    async with running_bot(settings_for(), fake_discord) as bot:
        rec = await fake_discord.invoke("edit", by=alice, image=FakeAttachment.image(png()), prompt="a red scarf")
        first = await rec.wait_result(timeout=WAIT)
        again = button(first, "retouch:again:")
        click = await fake_discord.click(first, again, by=alice)
        await click.wait_modal()
        submit = await fake_discord.submit_modal(click, values={"prompt": "now green"}, files={"mask": [slow(mask_png(), "mask.png")]}, by=alice)
        result = await submit.wait_result(timeout=WAIT)
        answered_in_time(submit)
        assert not result.ephemeral and result.files
        assert any(p.field == "mask" for p in image_api.edits[-1].files)
        # With the mask preview, the question follows a private acknowledgement.
        click = await fake_discord.click(first, again, by=alice)
        await click.wait_modal()
        submit = await fake_discord.submit_modal(
            click, values={"prompt": "now blue", "where": ["preview"]}, files={"mask": [slow(mask_png(), "mask.png")]}, by=alice
        )
        question = await private_question_in_time(submit)
        assert "tinted area" in question.text and len(image_api.edits) == 2
        await confirmed_result(fake_discord, question, alice)
        await eventually(lambda: ledger(bot) == [("committed", 1)] * 3)
        assert len(image_api.edits) == 3


async def test_a_mask_preview_waiting_behind_other_members_downloads_is_acknowledged_in_time(fake_discord, settings_for, image_api):
    """A busy bot: two slow downloads hold the file checks' slots, so a quick picture's preview waits."""
    member = fake_discord.member("third")
    async with running_bot(settings_for(), fake_discord) as bot:
        busy = []
        for name in ("first", "second"):
            busy.append(await fake_discord.invoke("edit", by=fake_discord.member(name), image=slow(png()), prompt="x"))
            await busy[-1].wait_ack(timeout=WAIT)
        rec = await fake_discord.invoke(
            "edit", by=member, image=FakeAttachment.image(make_image(96, 64)), prompt="a moon", region="top", mask_preview=True
        )
        question = await private_question_in_time(rec)
        assert "tinted area" in question.text
        await confirmed_result(fake_discord, question, member)
        for other in busy:
            assert not (await other.wait_result(timeout=WAIT)).ephemeral
            answered_in_time(other)
        await eventually(lambda: ledger(bot) == [("committed", 1)] * 3)


async def test_a_bad_slow_file_for_a_mask_preview_is_refused_in_place_of_the_private_acknowledgement(fake_discord, settings_for, image_api):
    async with running_bot(settings_for(), fake_discord) as bot:
        rec = await fake_discord.invoke(
            "edit", by=fake_discord.member("oops"), image=slow(b"not a picture at all", "cat.png"), prompt="x", region="top", mask_preview=True
        )
        await rec.wait_ack(timeout=WAIT)
        answered_in_time(rec)
        assert rec.deferred_ephemeral
        reply = await rec.wait_reply(timeout=WAIT)
        assert reply.ephemeral and "isn't an image" in reply.text and reply.custom_ids == []
        assert len(rec.messages) == 1 and image_api.edits == [] and ledger(bot) == []


async def test_a_cost_question_that_needs_no_download_stays_the_first_answer(fake_discord, settings_for, image_api):
    """Without a content check nothing in the estimate waits for the picture: the fast path."""
    member = fake_discord.member("quick")
    async with running_bot(settings_for(confirm_cost_above_usd=0.25), fake_discord) as bot:
        rec = await fake_discord.invoke(
            "edit", by=member, image=slow(png()), prompt="a red scarf", n=2, size="1024x1024", quality="high"
        )
        question = await rec.wait_reply(timeout=WAIT)
        answered_in_time(rec)
        assert rec.ack_type == 4 and question.ephemeral and "estimated at $0.26" in question.text
        assert ledger(bot) == []
        result = await confirmed_result(fake_discord, question, member)
        assert len(result.files) == 2
        await eventually(lambda: ledger(bot) == [("committed", 2)])


async def test_a_question_after_a_public_placeholder_is_still_private(fake_discord, settings_for, image_api):
    """An edit acknowledged publicly before its cost was known, that then asks: the public
    "thinking…" is removed, so the question (a follow-up) stays private."""
    member = fake_discord.member("rare")
    async with running_bot(settings_for(), fake_discord, extra_extensions=["tests.fakes.surface_cog"]) as bot:
        cog = bot.get_cog("SurfaceDriver")
        for private in (False, True):
            rec = await fake_discord.invoke("asklate", by=member, private=private)
            await rec.wait_for(lambda r: any(m.custom_ids for m in r.messages), timeout=WAIT)
            [question] = rec.messages
            assert question.ephemeral and "Go ahead?" in question.text
            assert (question is rec.original) is private, "after a private acknowledgement the question takes its place"
            click = await fake_discord.click(question, button(question, "retouch:confirm:"), by=member)
            await click.wait_for(lambda r: any(m.ephemeral and m.content == "done" for m in r.messages), timeout=WAIT)
            assert rec.violations == [] and click.violations == []
        assert cog.outcomes == ["confirmed", "confirmed"]


async def test_the_3_seconds_count_from_the_interactions_creation_not_its_arrival(fake_discord, settings_for, image_api):
    """An interaction that reaches the bot 1.5 s late leaves it 1.5 s: the private
    acknowledgement comes in time however long the preview then takes."""
    member = fake_discord.member("far")
    async with running_bot(settings_for(), fake_discord) as bot:
        fake_discord.interaction_delivery_delay = 1.5
        rec = await fake_discord.invoke(
            "edit", by=member, image=slow(make_image(96, 64)), prompt="a moon", region="top", mask_preview=True
        )
        question = await private_question_in_time(rec)
        fake_discord.interaction_delivery_delay = 0.0
        await confirmed_result(fake_discord, question, member)
        await eventually(lambda: ledger(bot) == [("committed", 1)])


async def test_a_reroll_whose_check_is_slow_asks_its_cost_question_after_a_private_acknowledgement(fake_discord, settings_for, image_api):
    alice = fake_discord.member("alice")
    async with running_bot(settings_for(confirm_cost_above_usd=0.25, safety_check="images"), fake_discord) as bot:
        rec = await fake_discord.invoke("edit", by=alice, image=FakeAttachment.image(png()), prompt="a red scarf", n=2, size="1024x1024", quality="high")
        question = await rec.wait_reply(timeout=WAIT)
        assert rec.ack_type == 4, "a question ready in time is the first answer"
        first = await confirmed_result(fake_discord, question, alice)
        image_api.queue(Reply.moderation(delay=3.5), route="moderations")  # the check outlasts Discord's 3 s
        click = await fake_discord.click(first, button(first, "retouch:reroll:"), by=alice)
        question = await private_question_in_time(click)
        assert "estimated at $0.26" in question.text and ledger(bot) == [("committed", 2)]
        again = await confirmed_result(fake_discord, question, alice)
        assert len(again.files) == 2 and len(image_api.moderations) == 2
        await eventually(lambda: ledger(bot) == [("committed", 2), ("committed", 2)])


async def test_a_re_roll_whose_kept_result_is_slow_to_read_is_answered_in_time(fake_discord, settings_for, image_api, postgres_url):
    # A busy or locked database (here a real ACCESS EXCLUSIVE lock on the kept results, as a
    # maintenance job or migration would take) must not cost the click its 3 s.
    import asyncpg

    alice = fake_discord.member("alice")
    async with running_bot(settings_for(database_url=postgres_url), fake_discord):
        reply = await (await fake_discord.invoke("edit", by=alice, image=FakeAttachment.image(png()), prompt="a red scarf")).wait_result()
        locker = await asyncpg.connect(postgres_url)
        try:
            lock = locker.transaction()
            await lock.start()
            await locker.execute("LOCK TABLE edit_results IN ACCESS EXCLUSIVE MODE")
            click = await fake_discord.click(reply, button(reply, "retouch:reroll:"), by=alice)
            await click.wait_ack(timeout=WAIT)
            answered_in_time(click)
            assert len(image_api.edits) == 1, "nothing runs while the result cannot be read"
            await lock.rollback()
        finally:
            await locker.close()
        result = await click.wait_result(timeout=WAIT)
        assert result.files and not result.ephemeral, result.text
        assert len(image_api.edits) == 2
