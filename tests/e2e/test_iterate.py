"""Iterating on a result through the fake Discord: result buttons across restarts, Cancel,
Apps › Edit image, several input images."""

from __future__ import annotations

import asyncio
import io
import shutil
import sqlite3

import pytest
from PIL import Image

from tests.conftest import running_bot
from tests.support.images import png
from tests.support.polling import eventually
from tests.fakes.discord_server import (
    MANAGE_GUILD,
    MEMBER_DEFAULT_PERMISSIONS,
    FakeAttachment,
)
from tests.fakes.image_api import Reply, make_image


def ids(message) -> list[str]:
    return [c["custom_id"] for row in message.components for c in row.get("components", []) if "custom_id" in c]


def ledger_rows(path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT id, user_id, status, images_reserved, images_delivered, refund_reason FROM ledger ORDER BY id").fetchall()


def mask_png(size=(64, 64)) -> bytes:
    im = Image.new("RGBA", size, (0, 0, 0, 255))
    im.paste((0, 0, 0, 0), (0, 0, size[0] // 2, size[1]))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


async def first_result(fake_discord, member, **options):
    rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(options.pop("image", png())), prompt=options.pop("prompt", "a red scarf"), **options)
    return rec, await rec.wait_result()


# ----- result buttons -------------------------------------------------------------------


async def test_every_result_carries_the_three_buttons(fake_discord, settings_for, image_api):
    async with running_bot(settings_for(), fake_discord) as bot:
        _, reply = await first_result(fake_discord, fake_discord.member("alice"))
        [row] = ledger_rows(bot.settings.database_path)
        assert ids(reply) == [f"retouch:again:{row[0]}", f"retouch:reroll:{row[0]}", f"retouch:delete:{row[0]}"]
        count, size = await bot.results.usage()
        assert count == 1 and size > 0


async def test_reroll_after_a_restart_by_another_member_is_their_edit(fake_discord, settings_for, image_api):
    alice, bob = fake_discord.member("alice"), fake_discord.member("bob")
    source = make_image(80, 60, fill="noise", seed=3)
    config = settings_for()
    async with running_bot(config, fake_discord):
        _, reply = await first_result(fake_discord, alice, image=source, prompt="make it night", n=2)
    async with running_bot(config, fake_discord) as bot:  # a new process on the same database
        [reroll] = [i for i in ids(reply) if i.startswith("retouch:reroll:")]
        click = await fake_discord.click(reply, reroll, by=bob)
        again = await click.wait_result()
        assert click.violations == [] and not again.ephemeral and len(again.files) == 2
        first, second = image_api.edits
        assert second.fields["prompt"] == ["make it night"] and second.fields["n"] == ["2"]
        assert [p.data for p in second.files] == [p.data for p in first.files], "the same inputs, byte for byte"
        # The commit follows the delivery: wait for it rather than race it.
        expected = [(alice.id, "committed", 2), (bob.id, "committed", 2)]
        await eventually(lambda: [(r[1], r[2], r[4]) for r in ledger_rows(bot.settings.database_path)] == expected)
        assert (await bot.store.usage_for(fake_discord.guild.id, bob.id, [])).used == 2
        assert "Requested by Bob" in again.text


async def test_reroll_respects_the_clickers_quota(fake_discord, settings_for, image_api):
    alice, carol = fake_discord.member("alice"), fake_discord.member("carol")
    async with running_bot(settings_for(quota_default_limit=1), fake_discord) as bot:
        _, reply = await first_result(fake_discord, alice)
        [reroll] = [i for i in ids(reply) if "reroll" in i]
        await (await fake_discord.click(reply, reroll, by=carol)).wait_result()
        refused = await (await fake_discord.click(reply, reroll, by=carol)).wait_result()
        assert refused.ephemeral and "used all 1" in refused.text
        assert len(image_api.edits) == 2
        assert (await bot.store.usage_for(fake_discord.guild.id, carol.id, [])).used == 1


async def test_edit_again_after_a_restart_starts_from_the_chosen_result_with_a_mask(fake_discord, settings_for, image_api):
    alice = fake_discord.member("alice")
    config = settings_for()
    async with running_bot(config, fake_discord):
        _, reply = await first_result(fake_discord, alice, n=2)
    async with running_bot(config, fake_discord):
        [again] = [i for i in ids(reply) if "again" in i]
        click = await fake_discord.click(reply, again, by=alice)
        modal = await click.wait_modal()
        assert modal["title"] == "Edit again"
        submit = await fake_discord.submit_modal(
            click, values={"prompt": "now green", "which": ["1"]}, files={"mask": [FakeAttachment.image(mask_png(), "mask.png")]}, by=alice
        )
        result = await submit.wait_result()
        assert submit.violations == [] and result.files and not result.ephemeral
        sent = image_api.edits[-1]
        assert sent.fields["prompt"] == ["now green"] and sent.fields["n"] == ["1"]
        image_part = next(p for p in sent.files if p.field == "image")
        assert image_part.data == reply.files[1].data, "the second result image, as delivered"
        assert any(p.field == "mask" for p in sent.files)


async def test_edit_again_without_a_mask_on_a_single_result(fake_discord, settings_for, image_api):
    alice = fake_discord.member("alice")
    async with running_bot(settings_for(), fake_discord):
        _, reply = await first_result(fake_discord, alice)
        click = await fake_discord.click(reply, next(i for i in ids(reply) if "again" in i), by=alice)
        modal = await click.wait_modal()
        assert [c["component"]["custom_id"] for c in modal["components"]] == ["prompt", "mask", "where", "region"], "no 'which image' for one result"
        submit = await fake_discord.submit_modal(click, values={"prompt": "brighter"}, by=alice)
        await submit.wait_result()
        sent = image_api.edits[-1]
        assert [p.field for p in sent.files] == ["image"] and sent.files[0].data == reply.files[0].data


async def test_delete_is_for_the_requester_or_a_moderator_and_removes_what_was_kept(fake_discord, settings_for, image_api):
    alice, stranger = fake_discord.member("alice"), fake_discord.member("stranger")
    moderator = fake_discord.member("mod", permissions=MEMBER_DEFAULT_PERMISSIONS | MANAGE_GUILD)
    config = settings_for()
    async with running_bot(config, fake_discord):
        _, mine = await first_result(fake_discord, alice)
        _, other = await first_result(fake_discord, alice)
    async with running_bot(config, fake_discord) as bot:
        delete = next(i for i in ids(mine) if "delete" in i)
        refused = await (await fake_discord.click(mine, delete, by=stranger)).wait_result()
        assert refused.ephemeral and "Only the member who asked" in refused.text
        assert not mine.deleted and (await bot.results.usage())[0] == 2
        await fake_discord.click(mine, delete, by=alice)
        await eventually(lambda: mine.deleted)
        await fake_discord.click(other, next(i for i in ids(other) if "delete" in i), by=moderator)
        await eventually(lambda: other.deleted)
        await eventually(lambda: not any((bot.settings.database_path.parent / "results").iterdir()))
        assert (await bot.results.usage()) == (0, 0)
        assert [r[2] for r in ledger_rows(bot.settings.database_path)] == ["committed", "committed"], "usage stays counted"


async def test_an_expired_or_missing_result_says_so_privately(fake_discord, settings_for, image_api):
    alice = fake_discord.member("alice")
    async with running_bot(settings_for(), fake_discord) as bot:
        _, old = await first_result(fake_discord, alice)
        _, lost = await first_result(fake_discord, alice)
        old_id = int(ids(old)[0].rsplit(":", 1)[1])
        lost_id = int(ids(lost)[0].rsplit(":", 1)[1])
        # A week has passed for one; the other's files were removed from the disk.
        await bot.db.execute("UPDATE edit_results SET expires_at = expires_at - 8 * 86400 WHERE id = ?", (old_id,))
        for path in (bot.settings.database_path.parent / "results" / str(lost_id)).iterdir():
            path.unlink()
        for message in (old, lost):
            for custom_id in ids(message)[:2]:
                reply = await (await fake_discord.click(message, custom_id, by=alice)).wait_result()
                assert reply.ephemeral and "This result has expired, run /edit again." in reply.text
        assert len(image_api.edits) == 2
        assert await bot.results.cleanup() == 1, "the expired one; the other's row stays until it expires"
        assert await bot.results.get(old_id) is None


async def test_a_bound_smaller_than_two_results_keeps_the_newest_as_soon_as_it_is_saved(fake_discord, settings_for, image_api):
    # Two inputs of ~790 KB each against RESULT_STORAGE_MB=1: no sweep runs, the second
    # save makes room by evicting the first.
    sources = [make_image(512, 512, fill="noise", seed=seed) for seed in (1, 2)]
    async with running_bot(settings_for(result_storage_mb=1), fake_discord) as bot:
        alice = fake_discord.member("alice")
        replies = [(await first_result(fake_discord, alice, image=source))[1] for source in sources]
        count, size = await bot.results.usage()
        assert count == 1 and 0 < size <= 1024 * 1024, (count, size)
        gone = await (await fake_discord.click(replies[0], ids(replies[0])[1], by=alice)).wait_result()
        assert gone.ephemeral and "This result has expired" in gone.text, "the oldest went first"
        await (await fake_discord.click(replies[1], ids(replies[1])[1], by=alice)).wait_result()
        assert image_api.edits[-1].files[0].data == sources[1]


async def test_result_images_are_not_kept_edit_again_reads_them_from_the_clicked_message(fake_discord, settings_for, image_api):
    alice = fake_discord.member("alice")
    source = make_image(64, 64, fill="noise", seed=4)
    async with running_bot(settings_for(), fake_discord) as bot:
        _, reply = await first_result(fake_discord, alice, image=source, n=2)
        edit_id = int(ids(reply)[0].rsplit(":", 1)[1])
        kept = bot.settings.database_path.parent / "results" / str(edit_id)
        assert sorted(p.name for p in kept.iterdir()) == ["input-1.png"], "the inputs only: the images are on Discord"
        assert (await bot.results.usage())[1] == len(source)
        click = await fake_discord.click(reply, ids(reply)[0], by=alice)
        await click.wait_modal()
        submit = await fake_discord.submit_modal(click, values={"prompt": "again", "which": ["1"]}, by=alice)
        await submit.wait_result()
        assert image_api.edits[-1].files[0].data == reply.files[1].data, "the second image, read back from Discord"


async def test_a_result_too_large_to_keep_says_why_on_re_roll_and_edit_again_still_works(fake_discord, settings_for, image_api):
    alice = fake_discord.member("alice")
    large = make_image(800, 800, fill="noise", seed=8)  # ~1.9 MB: more than the whole bound
    assert len(large) > 1024 * 1024
    async with running_bot(settings_for(result_storage_mb=1), fake_discord) as bot:
        _, reply = await first_result(fake_discord, alice, image=large)
        assert ids(reply)[:2] == [i for i in ids(reply) if "again" in i or "reroll" in i], "the buttons are there"
        assert await bot.results.usage() == (1, 0)
        told = await (await fake_discord.click(reply, ids(reply)[1], by=alice)).wait_result()
        assert told.ephemeral and told.text.startswith("Re-roll is unavailable: this result's inputs were larger than the bot may keep")
        assert len(image_api.edits) == 1
        click = await fake_discord.click(reply, ids(reply)[0], by=alice)
        await click.wait_modal()
        result = await (await fake_discord.submit_modal(click, values={"prompt": "smaller"}, by=alice)).wait_result()
        assert result.files and image_api.edits[-1].files[0].data == reply.files[0].data


async def test_edit_again_reads_an_image_posted_in_the_results_second_message(fake_discord, settings_for, image_api):
    # Two ~790 KB images over a 1 MB upload limit: one message each, the buttons on the first.
    fake_discord.guild.upload_limit = 1024 * 1024
    image_api.queue(Reply.images(2, size=(512, 512), fill="noise"))  # the first edit's answer
    alice = fake_discord.member("alice")
    async with running_bot(settings_for(), fake_discord) as bot:
        rec, reply = await first_result(fake_discord, alice, n=2)
        await rec.wait_for(lambda r: len(r.messages) == 2, 10)
        second = rec.messages[1]
        # The kept result learns its messages once the whole post is done.
        [row] = ledger_rows(bot.settings.database_path)

        async def both_messages_known() -> bool:
            kept = await bot.results.get(row[0])
            return kept is not None and len(kept.message_ids) == 2

        await eventually(both_messages_known)
        assert len(reply.files) == 1 and len(second.files) == 1 and second.files[0].filename == "edit-2.png"
        click = await fake_discord.click(reply, ids(reply)[0], by=alice)
        await click.wait_modal()
        submit = await fake_discord.submit_modal(click, values={"prompt": "sharper", "which": ["1"]}, by=alice)
        result = await submit.wait_result()
        assert result.files and not result.ephemeral, result.text
        assert image_api.edits[-1].files[0].data == second.files[0].data, "fetched from the other message"


async def test_a_nearly_full_disk_stops_keeping_results_edits_go_on_and_re_roll_says_why(fake_discord, settings_for, image_api):
    alice = fake_discord.member("alice")
    async with running_bot(settings_for(), fake_discord) as bot:
        # The store's threshold, set above what is really free on this disk.
        bot.results.min_free_disk = shutil.disk_usage(bot.settings.database_path.parent).free + 2**40
        _, reply = await first_result(fake_discord, alice)
        assert reply.files and not reply.ephemeral and len(ids(reply)) == 3, "the edit works, with its buttons"
        kept = bot.settings.database_path.parent / "results"
        assert not kept.exists() or not any(kept.iterdir()), "nothing written to the disk"
        told = await (await fake_discord.click(reply, ids(reply)[1], by=alice)).wait_result()
        assert told.ephemeral and told.text.startswith("Re-roll is unavailable: the bot's disk was nearly full"), told.text
        click = await fake_discord.click(reply, ids(reply)[0], by=alice)
        await click.wait_modal()
        again = await (await fake_discord.submit_modal(click, values={"prompt": "again"}, by=alice)).wait_result()
        assert again.files and image_api.edits[-1].files[0].data == reply.files[0].data
        assert len(image_api.edits) == 2


# ----- progress and cancel --------------------------------------------------------------


async def test_cancel_while_queued_refunds_at_once_and_never_calls_the_provider(fake_discord, settings_for, image_api):
    working = image_api.expect(Reply.images(1, gate="busy"))
    async with running_bot(settings_for(max_concurrent_edits=1), fake_discord) as bot:
        busy = await fake_discord.invoke("edit", by=fake_discord.member("first"), image=FakeAttachment.image(png()), prompt="x")
        await asyncio.wait_for(working.answered.wait(), 10)
        member = fake_discord.member("waiter")
        rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="y")
        await rec.wait_for(lambda r: r.original is not None and any("retouch:cancel:" in i for i in ids(r.original)), 10)
        assert "In the queue" in rec.original.content
        cancel = next(i for i in ids(rec.original) if "cancel" in i)
        stranger = await (await fake_discord.click(rec.original, cancel, by=fake_discord.member("stranger"))).wait_result()
        assert stranger.ephemeral and "Only the member who asked" in stranger.text
        await fake_discord.click(rec.original, cancel, by=member)
        told = await rec.wait_result()
        assert told.ephemeral and told.text == "Cancelled: nothing was made for you and your quota was refunded."
        image_api.open_gate("busy")
        await busy.wait_result(timeout=15)
        assert len(image_api.edits) == 1, "the cancelled edit never reached the provider"
        rows = ledger_rows(bot.settings.database_path)
        assert (rows[1][1], rows[1][2], rows[1][5]) == (member.id, "refunded", "cancelled")
        assert (await bot.store.usage_for(fake_discord.guild.id, member.id, [])).used == 0


async def test_cancel_while_running_abandons_the_call_and_the_report_counts_it_apart(fake_discord, settings_for, image_api):
    working = image_api.expect(Reply.hang())
    moderator = fake_discord.member("mod", permissions=MEMBER_DEFAULT_PERMISSIONS | MANAGE_GUILD)
    async with running_bot(settings_for(), fake_discord) as bot:
        member = fake_discord.member("impatient")
        rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="x", n=2)
        await asyncio.wait_for(working.answered.wait(), 10)
        await rec.wait_for(lambda r: r.original is not None and "Editing" in (r.original.content or ""), 10)
        cancel = next(i for i in ids(rec.original) if "cancel" in i)
        note = await (await fake_discord.click(rec.original, cancel, by=moderator)).wait_result()
        assert note.ephemeral and "cancelled that member's edit" in note.text
        told = await rec.wait_result(timeout=10)
        assert told.ephemeral and "moderator cancelled" in told.text.lower() and "refunded" in told.text
        rows = ledger_rows(bot.settings.database_path)
        assert rows[0][2:] == ("refunded", 2, 0, "cancelled while running")
        report = await bot.store.report(fake_discord.guild.id)
        assert report.cancelled_running == 1 and report.images == 0
        shown = await (await fake_discord.invoke("quota report", by=moderator)).wait_result()
        assert "1 edit cancelled while running: images refunded, but the provider may bill them" in shown.text
        # Its estimate still counts as this month's spend (money caps see it too).
        assert report.running_estimate_usd > 0 and report.cost_usd == 0
        spent = (await bot.store.spend_status(fake_discord.guild.id)).server_spent_usd
        assert spent == pytest.approx(report.running_estimate_usd)


async def test_a_finished_edit_cannot_be_cancelled_and_the_cancel_button_goes(fake_discord, settings_for, image_api):
    async with running_bot(settings_for(), fake_discord) as bot:
        member = fake_discord.member("late")
        image_api.queue(Reply.images(1, gate="finish"))
        rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="x")
        await rec.wait_for(lambda r: r.original is not None and any("cancel" in i for i in ids(r.original)), 10)
        placeholder_ids = ids(rec.original)
        image_api.open_gate("finish")
        reply = await rec.wait_result()
        assert not any("cancel" in i for i in ids(reply))
        edit_id = int(placeholder_ids[0].rsplit(":", 1)[1])
        await eventually(lambda: bot.edits.requester_of(edit_id) is None)  # settled and gone
        # a click on the old Cancel (an outdated client) after the edit ended
        reply.components = [{"type": 1, "components": [{"type": 2, "style": 2, "label": "Cancel", "custom_id": placeholder_ids[0]}]}]
        answer = await (await fake_discord.click(reply, placeholder_ids[0], by=member)).wait_result()
        assert answer.ephemeral and "isn't running any more" in answer.text


async def test_progress_shows_elapsed_time_at_most_every_two_seconds(fake_discord, settings_for, image_api):
    image_api.queue(Reply.images(1, gate="finish"))
    async with running_bot(settings_for(), fake_discord):
        rec = await fake_discord.invoke("edit", by=fake_discord.member("watcher"), image=FakeAttachment.image(png()), prompt="x")
        # The provider answers once the elapsed time has been shown twice.
        await rec.wait_for(lambda r: r.original is not None and sum("so far" in (h["content"] or "") for h in r.original.history) >= 2, 15)
        image_api.open_gate("finish")
        await rec.wait_result(timeout=20)
        updates = [h for h in rec.original.history if h["content"] and "Editing" in h["content"]]
        assert any("so far" in h["content"] for h in updates), updates
        times = rec.original.edit_times
        gaps = [b - a for a, b in zip(times, times[1:-1])]  # the result itself is not throttled
        assert gaps and min(gaps) >= 1.9, gaps


async def test_a_deleted_placeholder_stops_updates_and_the_result_still_arrives(fake_discord, settings_for, image_api):
    image_api.queue(Reply.images(1, gate="finish"))
    async with running_bot(settings_for(), fake_discord) as bot:
        member = fake_discord.member("tidy")
        rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="x")
        await rec.wait_for(lambda r: r.original is not None and "Editing" in (r.original.content or ""), 10)
        fake_discord.delete_message(rec.original)  # the member dismissed it, or a moderator removed it
        seen = len(fake_discord.requests)
        # The next progress update finds the placeholder gone; then the provider answers.
        await eventually(
            lambda: any(m == "PATCH" and p.endswith("/messages/@original") for m, p in fake_discord.requests[seen:]),
            what="a progress update after the deletion",
        )
        image_api.open_gate("finish")
        await rec.wait_for(lambda r: any(m.files for m in r.followups), 15)
        result = next(m for m in rec.followups if m.files)
        assert not result.ephemeral and "Requested by" in result.text
        await eventually(lambda: ledger_rows(bot.settings.database_path)[0][2] == "committed")


# ----- several input images -------------------------------------------------------------


async def test_several_input_images_go_upstream_in_order(fake_discord, settings_for, image_api):
    images = [make_image(32, 32, color=c) for c in ((200, 0, 0), (0, 200, 0), (0, 0, 200))]
    async with running_bot(settings_for(), fake_discord):
        rec = await fake_discord.invoke(
            "edit", by=fake_discord.member("collage"), prompt="combine them",
            image=FakeAttachment.image(images[0], "a.png"), image2=FakeAttachment.image(images[1], "b.png"),
            image3=FakeAttachment.image(images[2], "c.png"),
        )
        reply = await rec.wait_result()
        assert reply.files and not reply.ephemeral
        [sent] = image_api.edits
        assert [p.field for p in sent.files] == ["image[]"] * 3
        assert [p.data for p in sent.files] == images


async def test_a_model_that_takes_one_image_refuses_image2_before_reserving(fake_discord, settings_for, image_api):
    async with running_bot(settings_for(), fake_discord) as bot:
        square = make_image(64, 64)
        rec = await fake_discord.invoke(
            "edit", by=fake_discord.member("oldschool"), prompt="x", model="dall-e-2",
            image=FakeAttachment.image(square), image2=FakeAttachment.image(square),
        )
        reply = await rec.wait_result()
        assert reply.ephemeral and rec.ack_type == 4
        assert "dall-e-2" in reply.text and "one image" in reply.text and "gpt-image-2" in reply.text
        assert image_api.edits == [] and ledger_rows(bot.settings.database_path) == []


# ----- Apps › Edit image ----------------------------------------------------------------


async def test_apps_menu_edit_image_on_an_attachment(fake_discord, settings_for, image_api):
    alice, bob = fake_discord.member("alice"), fake_discord.member("bob")
    photo_bytes = make_image(48, 48, fill="noise", seed=7)
    async with running_bot(settings_for(), fake_discord) as bot:
        photo = fake_discord.post_message(alice, "my cat", attachments=[FakeAttachment.image(photo_bytes, "cat.png")])
        rec = await fake_discord.invoke_message_command("Edit image", by=bob, message=photo)
        modal = await rec.wait_modal()
        assert modal["title"] == "Edit image" and rec.violations == []
        assert [c["component"]["custom_id"] for c in modal["components"]] == ["prompt", "mask", "where", "model", "size"]
        submit = await fake_discord.submit_modal(rec, values={"prompt": "add a hat", "size": ["1024x1024"]}, by=bob)
        result = await submit.wait_result()
        assert not result.ephemeral and result.files and "Requested by Bob" in result.text
        [sent] = image_api.edits
        assert sent.fields["prompt"] == ["add a hat"] and sent.fields["size"] == ["1024x1024"]
        assert sent.files[0].data == photo_bytes
        assert ledger_rows(bot.settings.database_path)[0][1] == bob.id, "the member who asked pays"
        assert any("retouch:reroll:" in i for i in ids(result)), "same result buttons as /edit"


async def test_apps_menu_with_a_mask_and_a_choice_of_images(fake_discord, settings_for, image_api):
    alice = fake_discord.member("alice")
    first, second = make_image(64, 64, color=(250, 0, 0)), make_image(64, 64, color=(0, 0, 250))
    async with running_bot(settings_for(), fake_discord):
        post = fake_discord.post_message(alice, attachments=[FakeAttachment.image(first, "1.png"), FakeAttachment.image(second, "2.png")])
        rec = await fake_discord.invoke_message_command("Edit image", by=alice, message=post)
        modal = await rec.wait_modal()
        assert [c["component"]["custom_id"] for c in modal["components"]] == ["prompt", "mask", "images", "where", "model"], "five fields at most: the size goes"
        submit = await fake_discord.submit_modal(
            rec, values={"prompt": "sky", "images": ["1"]}, files={"mask": [FakeAttachment.image(mask_png(), "m.png")]}, by=alice
        )
        await submit.wait_result()
        [sent] = image_api.edits
        assert next(p for p in sent.files if p.field == "image").data == second
        assert any(p.field == "mask" for p in sent.files)


async def test_apps_menu_on_a_forwarded_message(fake_discord, settings_for, image_api):
    alice, bob = fake_discord.member("alice"), fake_discord.member("bob")
    original = make_image(40, 40, fill="noise", seed=11)
    async with running_bot(settings_for(), fake_discord):
        forward = fake_discord.post_message(bob, forwarded_from=[FakeAttachment.image(original, "elsewhere.png")])
        rec = await fake_discord.invoke_message_command("Edit image", by=alice, message=forward)
        await rec.wait_modal()
        await (await fake_discord.submit_modal(rec, values={"prompt": "sepia"}, by=alice)).wait_result()
        assert image_api.edits[0].files[0].data == original


async def test_apps_menu_on_an_embed_image(fake_discord, settings_for, image_api):
    alice = fake_discord.member("alice")
    linked = make_image(40, 30, fill="noise", seed=5)
    async with running_bot(settings_for(), fake_discord):
        post = fake_discord.post_message(alice, embeds=[{"image": FakeAttachment.image(linked, "preview.png")}])
        rec = await fake_discord.invoke_message_command("Edit image", by=alice, message=post)
        await rec.wait_modal()
        await (await fake_discord.submit_modal(rec, values={"prompt": "x"}, by=alice)).wait_result()
        assert image_api.edits[0].files[0].data == linked


async def test_apps_menu_on_a_message_without_an_image_answers_privately(fake_discord, settings_for, image_api):
    alice = fake_discord.member("alice")
    async with running_bot(settings_for(), fake_discord) as bot:
        text_only = fake_discord.post_message(alice, "just words", attachments=[FakeAttachment("notes.txt", b"hello", "text/plain")])
        rec = await fake_discord.invoke_message_command("Edit image", by=alice, message=text_only)
        reply = await rec.wait_result()
        assert rec.modal is None and reply.ephemeral and "no image" in reply.text
        assert image_api.edits == [] and ledger_rows(bot.settings.database_path) == []


async def test_apps_menu_refusals_are_private_first_replies(fake_discord, settings_for, image_api):
    alice = fake_discord.member("alice")
    async with running_bot(settings_for(quota_default_limit=0), fake_discord):
        post = fake_discord.post_message(alice, attachments=[FakeAttachment.image(png(), "a.png")])
        rec = await fake_discord.invoke_message_command("Edit image", by=alice, message=post)
        await rec.wait_modal()
        submit = await fake_discord.submit_modal(rec, values={"prompt": "x"}, by=alice)
        reply = await submit.wait_result()
        assert reply.ephemeral and submit.ack_type == 4 and "can't make edits" in reply.text
        assert image_api.edits == []
