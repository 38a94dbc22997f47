"""A member's /edit journey through the real bot, the fake Discord and the fake image API."""

from __future__ import annotations

import asyncio
import io
import sqlite3

import pytest
from PIL import Image

from tests.conftest import running_bot
from tests.fakes.discord_server import FakeAttachment
from tests.fakes.image_api import Reply, make_image
from tests.support.images import png
from tests.support.ledger import ledger
from tests.support.polling import eventually
from tests.support.sqlite_lock import WriteLock


@pytest.fixture
async def bot(fake_discord, settings_for):
    async with running_bot(settings_for(), fake_discord) as bot:
        yield bot


def pixels(data: bytes):
    with Image.open(io.BytesIO(data)) as im:
        return im.convert("RGBA").getpixel((0, 0)), im.size, im.format


async def test_happy_path_without_mask(bot, fake_discord, image_api):
    member = fake_discord.member("alice")
    source = png(96, 96)
    rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(source, "cat.png"), prompt="give the cat a red scarf", n=2)
    reply = await rec.wait_result()
    assert rec.violations == []
    assert not reply.ephemeral
    assert [f.filename for f in reply.files] == ["edit-1.png", "edit-2.png"]
    # upstream: exactly what the member asked for
    [sent] = image_api.edits
    assert sent.fields["prompt"] == ["give the cat a red scarf"]
    assert sent.fields["model"] == ["gpt-image-2"]
    assert sent.fields["n"] == ["2"]
    assert "response_format" not in sent.fields and "input_fidelity" not in sent.fields
    assert sent.fields["user"][0] != str(member.id) and str(member.id) not in sent.fields["user"][0]
    [image_part] = sent.files
    assert (image_part.field, image_part.content_type) == ("image", "image/png")
    assert image_part.data == source, "an acceptable PNG is sent as the member uploaded it"
    assert sent.headers["Authorization"] == f"Bearer {image_api.api_key}"
    # what the member sees: the provider's images, pixel for pixel, and a summary
    provider_sent = [make_image(64, 64, color=c, seed=i) for i, c in enumerate([(200, 40, 40), (40, 200, 40)])]
    assert [f.data for f in reply.files] == provider_sent, "delivered exactly as the provider sent them"
    assert pixels(reply.files[1].data)[0] == (40, 200, 40, 255)
    text = reply.text
    assert "gpt-image-2" in text and "2 images" in text
    assert "Tokens: 226 in (194 image, 32 text) · 8,320 out · 8,546 total" in text
    assert "Quota: 8 of 10 left today" in text and "<t:" in text
    assert "give the cat a red scarf" in text
    assert await ledger(bot) == [("committed", 2, 2, 8546)]


async def test_mask_black_and_white_is_converted_to_alpha(bot, fake_discord, image_api):
    member = fake_discord.member("bob")
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (0, 0, 32, 64))  # white left half = edit
    buf = io.BytesIO()
    mask.save(buf, "PNG")
    rec = await fake_discord.invoke(
        "edit", by=member, image=FakeAttachment.image(png()), mask=FakeAttachment.image(buf.getvalue(), "mask.png"), prompt="sky"
    )
    await rec.wait_result()
    [sent] = image_api.edits
    mask_part = next(p for p in sent.files if p.field == "mask")
    assert mask_part.content_type == "image/png"
    with Image.open(io.BytesIO(mask_part.data)) as im:
        rgba = im.convert("RGBA")
        assert rgba.getpixel((5, 5))[3] == 0 and rgba.getpixel((60, 5))[3] == 255


async def test_comet_usage_shape_and_url_output(bot, fake_discord, image_api):
    image_api.queue(Reply.images(1, usage="comet", as_url=True))
    rec = await fake_discord.invoke("edit", by=fake_discord.member("carol"), image=FakeAttachment.image(png()), prompt="x")
    reply = await rec.wait_result()
    assert [f.filename for f in reply.files] == ["edit-1.png"]
    text = reply.text
    assert "Tokens:" in text and " in " in text and "not reported" not in text
    assert "1 image " in text


@pytest.mark.parametrize(
    "attachment, expected",
    [
        (FakeAttachment("notes.png", b"this is not an image at all", "image/png"), "isn't an image"),
        (FakeAttachment("broken.png", png()[:60], "image/png"), "damaged"),
    ],
)
async def test_bad_image_is_refused_privately_before_any_upstream_call(bot, fake_discord, image_api, attachment, expected):
    member = fake_discord.member("dave")
    rec = await fake_discord.invoke("edit", by=member, image=attachment, prompt="hat")
    reply = await rec.wait_result()
    assert reply.ephemeral, "errors go only to the caller"
    assert rec.ack_type == 4, "caught before the defer: a private first reply"
    assert expected in reply.text.lower() or expected in reply.text
    assert image_api.edits == []
    usage = await bot.store.usage_for(fake_discord.guild.id, member.id, [])
    assert usage.used == 0
    assert await ledger(bot) == [], "bad input changes nothing"


async def test_mask_with_other_aspect_ratio_names_both_sizes(bot, fake_discord, image_api):
    rec = await fake_discord.invoke(
        "edit", by=fake_discord.member("erin"), image=FakeAttachment.image(png(128, 64)), mask=FakeAttachment.image(png(50, 50, mode="RGBA")), prompt="x"
    )
    reply = await rec.wait_result()
    assert reply.ephemeral and "50×50" in reply.text and "128×64" in reply.text
    assert image_api.edits == [] and await ledger(bot) == []


async def test_quota_exhausted_is_an_ephemeral_first_reply(fake_discord, settings_for, image_api):
    async with running_bot(settings_for(quota_default_limit=1), fake_discord) as bot:
        member = fake_discord.member("frank")
        rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="x", n=2)
        reply = await rec.wait_result()
        assert rec.ack_type == 4 and reply.ephemeral
        assert reply.text == "You asked for 2 images but your limit is 1 per day (bot default). Ask for fewer with `n`."
        assert image_api.edits == []
        rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="x")
        await rec.wait_result()
        rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="x")
        reply = await rec.wait_result()
        assert reply.ephemeral and "used all 1" in reply.text and "<t:" in reply.text
        assert len(image_api.edits) == 1


async def test_invalid_options_are_refused_before_reserving(bot, fake_discord, image_api):
    member = fake_discord.member("gina")
    rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="x", model="gpt-image-1", background="transparent", output_format="jpeg")
    reply = await rec.wait_result()
    assert reply.ephemeral and rec.ack_type == 4 and "jpeg" in reply.text.lower()
    rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="x", model="dall-e-9")
    reply = await rec.wait_result()
    assert reply.ephemeral and "Unknown model" in reply.text
    rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="x", size="1000x1000")
    reply = await rec.wait_result()
    assert reply.ephemeral and "size" in reply.text.lower()
    assert image_api.edits == [] and await ledger(bot) == []


async def test_provider_rejection_is_shown_verbatim_and_refunded(bot, fake_discord, image_api):
    member = fake_discord.member("hank")
    image_api.queue(Reply.error(400, "Your request was rejected by the safety system.", code="moderation_blocked", type="image_generation_user_error"))
    rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="x", n=3)
    reply = await rec.wait_result()
    assert reply.ephemeral
    assert "Your request was rejected by the safety system." in reply.text and "refunded" in reply.text
    assert image_api.api_key not in reply.text
    assert (await bot.store.usage_for(fake_discord.guild.id, member.id, [])).used == 0
    assert await ledger(bot) == [("refunded", 3, 0, None)]


async def test_provider_unavailable_is_refunded(fake_discord, settings_for, image_api):
    async with running_bot(settings_for(image_api_max_attempts=2), fake_discord) as bot:
        member = fake_discord.member("ivy")
        image_api.queue(Reply.error(503, "overloaded"), Reply.error(503, "overloaded"))
        rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="x")
        reply = await rec.wait_result()
        assert reply.ephemeral and "unavailable" in reply.text.lower()
        assert len(image_api.edits) == 2
        assert (await bot.store.usage_for(fake_discord.guild.id, member.id, [])).used == 0


async def test_output_over_the_upload_limit_is_reencoded_not_failed(bot, fake_discord, image_api):
    fake_discord.guild.upload_limit = 400_000
    image_api.queue(Reply.images(2, size=(512, 512), fill="noise"))  # ~790 KB PNGs each
    rec = await fake_discord.invoke("edit", by=fake_discord.member("jack"), image=FakeAttachment.image(png()), prompt="x", n=2)
    messages = await rec.wait_messages(2, timeout=30)
    assert rec.violations == []
    files = [f for m in messages for f in m.files]
    assert len(files) == 2
    assert all(len(f.data) <= 400_000 for f in files)
    assert all(pixels(f.data)[1] == (512, 512) for f in files)
    assert "re-encoded" in messages[0].text
    assert [row[2] for row in await ledger(bot)] == [2]


async def test_burst_of_twenty_edits_all_complete_and_heartbeats_stay_on_time(bot, fake_discord, image_api):
    image_api.set_default(Reply.images(size=(256, 256), fill="noise", delay=0.3))
    members = [fake_discord.member(f"m{i}") for i in range(20)]
    records = await asyncio.gather(
        *(fake_discord.invoke("edit", by=m, image=FakeAttachment.image(png()), prompt=f"edit {i}") for i, m in enumerate(members))
    )
    await asyncio.gather(*(r.wait_result(timeout=60) for r in records))
    assert all(r.violations == [] for r in records), [r.violations for r in records if r.violations]
    assert all(len(r.messages[0].files) == 1 for r in records)
    assert len(image_api.edits) == 20
    assert fake_discord.heartbeat_lateness() < 0.25
    rows = await ledger(bot)
    assert len(rows) == 20 and {r[0] for r in rows} == {"committed"}


async def test_shutdown_refunds_and_tells_the_member(fake_discord, settings_for, image_api):
    working = image_api.expect(Reply.hang())
    async with running_bot(settings_for(shutdown_grace_seconds=0.5), fake_discord) as bot:
        member = fake_discord.member("kate")
        rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="x")
        await asyncio.wait_for(working.answered.wait(), 10)
        closing = asyncio.create_task(bot.close())
        # Draining: the running edit has its grace period, new edits are turned away.
        await eventually(lambda: not bot.edits.accepting, what="the service draining")
        late = await fake_discord.invoke("edit", by=fake_discord.member("late"), image=FakeAttachment.image(png()), prompt="x")
        late_reply = await late.wait_result()
        assert late_reply.ephemeral and "restarting" in late_reply.text
        await asyncio.wait_for(closing, 20)
    reply = rec.messages[-1]
    assert reply.ephemeral and "refunded" in reply.text
    with sqlite3.connect(bot.settings.database_path) as db:
        assert db.execute("SELECT status FROM ledger").fetchall() == [("refunded",)]


async def test_result_after_the_token_expired_is_posted_in_the_channel(bot, fake_discord, image_api):
    working = image_api.expect(Reply.images(1, gate="token expired"))
    member = fake_discord.member("liam")
    await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="x")
    await asyncio.wait_for(working.answered.wait(), 10)
    fake_discord.advance(15 * 60 + 5)  # Discord now refuses the interaction's webhook
    image_api.open_gate("token expired")
    await eventually(lambda: len(fake_discord.channel_messages) == 1)
    [posted] = fake_discord.channel_messages
    assert [f.filename for f in posted.files] == ["edit-1.png"]
    assert f"<@{member.id}>" in (posted.content or "")
    rows = await eventually(lambda: settled(bot), what="the edit settled")
    assert rows[0][:3] == ("committed", 1, 1)


async def settled(bot) -> list[tuple] | None:
    """The ledger once its first row is no longer reserved (else None)."""
    rows = await ledger(bot)
    return rows if rows and rows[0][0] != "reserved" else None


async def test_expired_token_and_no_channel_permission_refunds(bot, fake_discord, image_api):
    fake_discord.guild.bot_can_post = False
    working = image_api.expect(Reply.images(1, gate="token expired"))
    member = fake_discord.member("mia")
    edit_cog = bot.get_cog("EditCog")
    real_now = edit_cog.now
    edit_cog.now = lambda: real_now() + __import__("datetime").timedelta(minutes=16)
    try:
        await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="x")
        await asyncio.wait_for(working.answered.wait(), 10)
        fake_discord.advance(15 * 60 + 5)
        image_api.open_gate("token expired")
        await eventually(lambda: settled(bot), what="the edit settled")
    finally:
        edit_cog.now = real_now
    assert (await ledger(bot))[0][0] == "refunded", "nothing reached the member, so nothing counts"
    assert (await bot.store.usage_for(fake_discord.guild.id, member.id, [])).used == 0
    assert fake_discord.channel_messages == []


async def test_oversized_attachment_is_refused_from_the_payload(bot, fake_discord, image_api):
    huge = FakeAttachment("huge.png", png(), "image/png", size=200 * 1024 * 1024)
    rec = await fake_discord.invoke("edit", by=fake_discord.member("noah"), image=huge, prompt="x")
    reply = await rec.wait_result()
    assert rec.ack_type == 4 and reply.ephemeral and "MB" in reply.text
    assert image_api.edits == [] and await ledger(bot) == []


async def test_bot_wide_daily_budget_is_explained(fake_discord, settings_for, image_api):
    async with running_bot(settings_for(global_daily_image_limit=1), fake_discord):
        await (await fake_discord.invoke("edit", by=fake_discord.member("a"), image=FakeAttachment.image(png()), prompt="x")).wait_result()
        rec = await fake_discord.invoke("edit", by=fake_discord.member("b"), image=FakeAttachment.image(png()), prompt="x")
        reply = await rec.wait_result()
        assert reply.ephemeral and "daily image budget" in reply.text and "<t:" in reply.text
        assert len(image_api.edits) == 1


async def test_edit_in_dms_is_refused_unless_allowed(bot, fake_discord, image_api):
    rec = await fake_discord.invoke("edit", by=fake_discord.member("olga"), image=FakeAttachment.image(png()), prompt="x", dm=True)
    reply = await rec.wait_result()
    assert reply.ephemeral and "server" in reply.text
    assert image_api.edits == []


async def test_unexpected_error_shows_an_id_and_charges_nothing(fake_discord, settings_for, image_api, caplog):
    # Another program holds the database's write lock past the busy timeout, for real:
    # the reservation cannot be written, which the edit has no member-facing answer for.
    async with running_bot(settings_for(database_busy_timeout=0.2), fake_discord) as bot:
        member = fake_discord.member("pete")
        async with WriteLock(bot.settings.database_path):
            rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="x")
            reply = await rec.wait_result()
        assert reply.ephemeral
        error_id = reply.text.split("`")[1]
        assert reply.text == (
            f"Something went wrong on Retouch's side (error id `{error_id}`). Nothing was charged. "
            "Try again; if it keeps happening, give the server owner this id."
        )
        assert any(error_id in r.getMessage() and r.exc_info for r in caplog.records), "the owner finds it in the log"
        assert image_api.edits == [] and await ledger(bot) == []
        assert (await bot.store.usage_for(fake_discord.guild.id, member.id, [])).used == 0


async def test_owner_configured_model_outside_the_table_is_allowed(fake_discord, settings_for, image_api):
    async with running_bot(settings_for(image_model="flux-kontext-pro"), fake_discord):
        rec = await fake_discord.invoke("edit", by=fake_discord.member("quinn"), image=FakeAttachment.image(png()), prompt="x")
        reply = await rec.wait_result()
        assert not reply.ephemeral and reply.files
        assert image_api.edits[0].fields["model"] == ["flux-kontext-pro"]
        choices = await fake_discord.autocomplete("edit", by=fake_discord.member("r"), focused="model", model="")
        assert choices[0]["value"] == "flux-kontext-pro"


async def test_bad_file_found_after_the_defer_is_still_private_and_refunded(bot, fake_discord, image_api):
    member = fake_discord.member("sam")
    slow = FakeAttachment("slow.png", b"not an image, and slow to download", "image/png", delay=2.0)
    rec = await fake_discord.invoke("edit", by=member, image=slow, prompt="x")
    reply = await rec.wait_result()
    assert rec.ack_type == 5, "the download outlived the preflight, so the bot deferred"
    assert reply.ephemeral and "isn't an image" in reply.text and "refunded" in reply.text
    assert rec.original is None, "the public 'thinking…' placeholder was removed"
    assert image_api.edits == []
    assert (await bot.store.usage_for(fake_discord.guild.id, member.id, [])).used == 0


async def test_second_request_waits_for_the_members_running_edit_instead_of_failing(fake_discord, settings_for, image_api):
    async with running_bot(settings_for(quota_default_limit=2, image_api_max_attempts=1), fake_discord) as bot:
        member = fake_discord.member("tess")
        failing = image_api.expect(Reply.error(503, "down", gate="first"))
        first = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="one", n=2)
        await asyncio.wait_for(failing.answered.wait(), 10)
        # the quota is fully held by the running edit: the second one waits instead of failing
        second = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="two", n=1)
        await second.wait_for(lambda r: r.original is not None and "Waiting for your other edit" in (r.original.content or ""))
        image_api.open_gate("first")
        failed = await first.wait_result(timeout=30)
        assert failed.ephemeral and "refunded" in failed.text
        done = await second.wait_result(timeout=30)
        assert not done.ephemeral and [f.filename for f in done.files] == ["edit-1.png"]
        assert "Quota: 1 of 2 left today" in done.text
        assert (await bot.store.usage_for(fake_discord.guild.id, member.id, [])).used == 1


async def test_stream_previews_are_shown_then_replaced_by_the_result(fake_discord, settings_for, image_api):
    async with running_bot(settings_for(stream_previews=2), fake_discord):
        # Previews arrive further apart than the placeholder may be edited (every 2 s).
        image_api.queue(Reply.stream(2, delay=0.1, interval=2.2))
        rec = await fake_discord.invoke("edit", by=fake_discord.member("uma"), image=FakeAttachment.image(png()), prompt="x")
        reply = await rec.wait_result()
        sent = image_api.edits[0]
        assert sent.fields["stream"] == ["true"] and sent.fields["partial_images"] == ["2"]
        shown = [h for h in rec.original.history if any(name.startswith("preview.") for name in h["files"])]
        assert len(shown) == 2
        assert [f.filename for f in reply.files] == ["edit-1.png"]
        # n > 1 cannot stream: no stream field is sent
        rec = await fake_discord.invoke("edit", by=fake_discord.member("vic"), image=FakeAttachment.image(png()), prompt="x", n=2)
        await rec.wait_result()
        assert "stream" not in image_api.edits[1].fields


async def test_fewer_images_than_asked_count_only_what_was_delivered(bot, fake_discord, image_api):
    member = fake_discord.member("will")
    image_api.queue(Reply.images(2))
    rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="x", n=4)
    reply = await rec.wait_result()
    assert len(reply.files) == 2 and "2 of 4 images" in reply.text
    assert "Quota: 8 of 10 left today" in reply.text
    assert await ledger(bot) == [("committed", 4, 2, 8546)]
    assert (await bot.store.usage_for(fake_discord.guild.id, member.id, [])).used == 2


async def test_queued_edits_show_their_position_as_the_queue_moves(fake_discord, settings_for, image_api):
    async with running_bot(settings_for(max_concurrent_edits=1), fake_discord):
        # Each edit outlasts the 2 s between two updates of one placeholder.
        image_api.set_default(Reply.images(delay=2.2))
        records = []
        for name in ("x1", "x2", "x3"):
            records.append(await fake_discord.invoke("edit", by=fake_discord.member(name), image=FakeAttachment.image(png()), prompt=name))
            await records[-1].wait_ack()  # each is in line before the next one asks
        await asyncio.gather(*(r.wait_result() for r in records))
        third = [h["content"] for h in records[2].original.history if h["content"]]
        assert any("In the queue: #2" in c for c in third) and any("In the queue: #1" in c for c in third)
        assert third.index(next(c for c in third if "#2" in c)) < third.index(next(c for c in third if "#1" in c))
        assert all(r.messages[0].files for r in records)


async def test_edit_and_usage_in_dms_when_allowed(fake_discord, settings_for, image_api):
    async with running_bot(settings_for(allow_dms=True), fake_discord) as bot:
        member = fake_discord.member("yara")
        edit = next(c for c in fake_discord.global_commands if c["name"] == "edit")
        assert set(edit["contexts"]) == {0, 1, 2}
        rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="x", dm=True)
        reply = await rec.wait_result()
        assert reply.files and "Quota: 9 of 10 left today" in reply.text
        usage = await (await fake_discord.invoke("usage", by=member, dm=True)).wait_result()
        assert "Used today: 1" in usage.text
