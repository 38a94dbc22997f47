"""The fake Discord's message commands, components and modals, proven through real discord.py."""

from __future__ import annotations

import io

import aiohttp
import discord
import pytest
from PIL import Image

from tests.conftest import make_settings, running_bot
from tests.fakes.discord_server import FakeAttachment
from tests.support.polling import eventually

EXTRA = ["tests.fakes.components_cog"]


def png(size: int = 32, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), color).save(out, "PNG")
    return out.getvalue()


async def test_message_command_modal_with_and_without_a_file(fake_discord, tmp_path):
    alice = fake_discord.member("alice")
    async with running_bot(make_settings(tmp_path), fake_discord, extra_extensions=EXTRA) as bot:
        cog = bot.get_cog("Components")
        photo = fake_discord.post_message(alice, "my cat", attachments=[FakeAttachment.image(png(), "cat.png")])

        rec = await fake_discord.invoke_message_command("Test edit", by=alice, message=photo)
        modal = await rec.wait_modal()
        assert rec.violations == [] and rec.ack_type == 9
        assert modal["title"] == "Edit image"
        assert [(c["type"], c["component"]["type"], c["component"]["custom_id"]) for c in modal["components"]] == [
            (18, 4, "prompt"),
            (18, 19, "mask"),
            (18, 3, "model"),
        ]
        # the target reached the command as a discord.Message, attachments and all
        [target] = cog.targets
        assert target.id == photo.id and target.author.id == alice.id
        assert [a.filename for a in target.attachments] == ["cat.png"]

        # with a mask: the cog reads it from the fake CDN (an ephemeral attachment)
        mask = png(16, (255, 255, 255))
        sub = await fake_discord.submit_modal(rec, values={"prompt": "a red hat"}, files={"mask": [FakeAttachment.image(mask, "mask.png")]})
        reply = await sub.wait_reply()
        assert sub.violations == [] and reply.ephemeral
        assert reply.content == f"prompt=a red hat; model=gpt-image-2; mask={len(mask)} bytes; target={photo.id}"
        assert cog.events[-1] == ("submitted", "a red hat", ["gpt-image-2"], ["mask.png"])
        # the answer's metadata says which modal submit, opened by which message command, on what
        meta = reply.interaction_metadata
        assert meta["type"] == 5 and meta["user"]["id"] == str(alice.id)
        assert meta["triggering_interaction_metadata"]["target_message_id"] == str(photo.id)
        with pytest.raises(AssertionError, match="already submitted"):
            await fake_discord.submit_modal(rec, values={"prompt": "again"})

        # without a mask, another model
        rec = await fake_discord.invoke_message_command("Test edit", by=alice, message=photo)
        await rec.wait_modal()
        sub = await fake_discord.submit_modal(rec, values={"prompt": "a blue hat", "model": ["gpt-image-1"]})
        reply = await sub.wait_reply()
        assert reply.content == f"prompt=a blue hat; model=gpt-image-1; mask=none; target={photo.id}"
        assert cog.errors == []


async def test_modal_rules(fake_discord, tmp_path):
    alice, bob = fake_discord.member("alice"), fake_discord.member("bob")
    async with running_bot(make_settings(tmp_path), fake_discord, extra_extensions=EXTRA) as bot:
        cog = bot.get_cog("Components")
        photo = fake_discord.post_message(alice, attachments=[FakeAttachment.image(png(), "cat.png")])

        # only message commands synced as type 3 can be picked from the Apps menu
        with pytest.raises(AssertionError, match="no message command 'panel'"):
            await fake_discord.invoke_message_command("panel", by=alice, message=photo)

        rec = await fake_discord.invoke_message_command("Test edit", by=alice, message=photo)
        await rec.wait_modal()
        # what the client would not let a member submit
        with pytest.raises(AssertionError, match="required"):
            await fake_discord.submit_modal(rec, values={"prompt": ""})
        with pytest.raises(AssertionError, match="0-1 file"):
            await fake_discord.submit_modal(
                rec, values={"prompt": "x"}, files={"mask": [FakeAttachment.image(png(), "a.png"), FakeAttachment.image(png(), "b.png")]}
            )
        with pytest.raises(AssertionError, match="no option"):
            await fake_discord.submit_modal(rec, values={"prompt": "x", "model": ["dall-e-2"]})
        with pytest.raises(AssertionError, match="no field"):
            await fake_discord.submit_modal(rec, values={"prompt": "x", "size": "1024"})
        with pytest.raises(AssertionError, match="only alice sees this modal"):
            await fake_discord.submit_modal(rec, values={"prompt": "x"}, by=bob)
        assert rec.submits == []

        # Discord refuses a title over 45 characters, and min_values 0 on a required upload
        for kind, reason in (("title", "title must be 1-45"), ("required_zero", "min_values 0 needs required=false")):
            rec = await fake_discord.invoke("badmodal", by=alice, kind=kind)
            await rec.wait_for(lambda r: r.ack_type is not None)  # the refusal leaves it unacknowledged
            assert rec.original.content == "refused"
            error = cog.errors.pop()
            assert isinstance(error, discord.HTTPException) and error.status == 400 and error.code == 50035
            assert reason in error.text and any(reason in v for v in rec.violations)

        # a slash command cannot be answered with "update message" (7) or "deferred update" (6)
        rec = await fake_discord.invoke("rawcallback", by=alice, kind=7)
        await rec.wait_for(lambda r: r.ack_type is not None)
        error = cog.errors.pop()
        assert error.code == 50035 and "callback type 7 is not valid" in error.text and rec.ack_type == 4

        # a modal only as the first response: after a defer Discord answers 40060
        rec = await fake_discord.invoke("panel", by=alice)
        panel = await rec.wait_reply()
        click = await fake_discord.click(panel, "panel:late_modal", by=alice)
        await click.wait_for(lambda r: bool(r.violations))
        await eventually(lambda: bool(cog.errors))
        assert cog.errors[0].code == 40060 and click.modal is None
        assert "a modal must be the first response" in click.violations[0]


async def test_buttons_and_select(fake_discord, tmp_path):
    alice, bob = fake_discord.member("alice"), fake_discord.member("bob")
    async with running_bot(make_settings(tmp_path), fake_discord, extra_extensions=EXTRA) as bot:
        cog = bot.get_cog("Components")
        rec = await fake_discord.invoke("panel", by=alice)
        panel = await rec.wait_reply()
        assert "panel:update" in panel.custom_ids and panel.component("panel:off")["disabled"] is True

        # what a member cannot click
        with pytest.raises(AssertionError, match="disabled"):
            await fake_discord.click(panel, "panel:off", by=alice)
        with pytest.raises(AssertionError, match="no component 'panel:nope'"):
            await fake_discord.click(panel, "panel:nope", by=alice)

        # type 7: the clicked message is updated in place; @original is that message
        click = await fake_discord.click(panel, "panel:update", by=bob)
        updated = await click.wait_update()
        assert updated is panel and panel.content == "updated in place" and click.ack_type == 7
        assert click.original is panel and click.followups == []

        # type 6 then PATCH @original edits the clicked message; a follow-up is a new message
        click = await fake_discord.click(panel, "panel:defer_edit", by=bob)
        await click.wait_update()
        assert click.ack_type == 6 and panel.content == "edited after defer"
        [follow] = (await click.wait_messages(2))[1:]
        assert follow is not panel and follow.content == "a follow-up" and not follow.ephemeral
        assert follow.type == 19 and follow.reference["message_id"] == str(panel.id)
        assert follow.interaction_metadata["interacted_message_id"] == str(panel.id)

        # type 5: "thinking" is a NEW message; PATCH @original edits it, not the panel
        click = await fake_discord.click(panel, "panel:think", by=bob)
        reply = await click.wait_reply()
        assert click.ack_type == 5 and reply is not panel and reply.content == "thought about it"
        assert panel.content == "edited after defer" and click.updates == 0

        # the bot token's channel route edits a public message
        click = await fake_discord.click(panel, "panel:rest", by=bob)
        await eventually(lambda: panel.content == "edited by REST")
        assert click.ack_type == 6 and click.updates == 0  # not through the interaction

        # a string select
        pick = await fake_discord.select(panel, "panel:pick", ["a", "c"], by=bob)
        assert (await pick.wait_reply()).content == "picked a,c"
        with pytest.raises(AssertionError, match="takes 1-2 value"):
            await fake_discord.select(panel, "panel:pick", ["a", "b", "c"], by=bob)

        # an ephemeral message's buttons: only the member who saw it can click them
        click = await fake_discord.click(panel, "panel:private", by=bob)
        secret = await click.wait_reply()
        assert secret.ephemeral and secret.custom_ids == ["secret:confirm", "secret:rest"]
        with pytest.raises(AssertionError, match="cannot see ephemeral"):
            await fake_discord.click(secret, "secret:confirm", by=alice)
        rest = await fake_discord.click(secret, "secret:rest", by=bob)
        await rest.wait_ack()
        await eventually(lambda: bool(cog.errors))
        assert isinstance(cog.errors.pop(), discord.NotFound) and secret.content == "only you"
        confirm = await fake_discord.click(secret, "secret:confirm", by=bob)
        assert (await confirm.wait_update()).content == "confirmed" and secret.components == [] and secret.ephemeral

        # a modal opened from a button; its submit may update the button's message (type 7)
        click = await fake_discord.click(panel, "panel:ask", by=bob)
        modal = await click.wait_modal()
        assert modal["components"][0]["type"] == 1  # legacy action row with a labelled text input
        sub = await fake_discord.submit_modal(click, values={"answer": "42"})
        assert (await sub.wait_update()) is panel
        assert panel.content == "answered 42" and panel.components == []
        with pytest.raises(AssertionError, match="no component 'panel:update'"):
            await fake_discord.click(panel, "panel:update", by=bob)
        assert cog.errors == []
        assert all(r.violations == [] for r in fake_discord.interactions.values())


async def test_dynamic_button_survives_a_restart(fake_discord, tmp_path):
    alice = fake_discord.member("alice")
    settings = make_settings(tmp_path)
    async with running_bot(settings, fake_discord, extra_extensions=EXTRA) as bot:
        rec = await fake_discord.invoke("counter", by=alice)
        message = await rec.wait_reply()
        first_boot = bot.boot_id
        click = await fake_discord.click(message, "test:count:0", by=alice)
        await click.wait_update()
        assert message.content == "count 1" and message.custom_ids == ["test:count:1"]

    # a new process on the same Discord: the old message's button still works
    async with running_bot(settings, fake_discord, extra_extensions=EXTRA) as bot:
        cog = bot.get_cog("Components")
        click = await fake_discord.click(message, "test:count:1", by=alice)
        await click.wait_update()
        assert click.violations == []
        assert cog.events == [("count", 1, bot.boot_id)] and bot.boot_id != first_boot
        assert message.content == "count 2" and message.custom_ids == ["test:count:2"]


async def test_forwards_and_embeds_reach_the_message_command(fake_discord, tmp_path):
    alice, bob = fake_discord.member("alice"), fake_discord.member("bob")
    async with running_bot(make_settings(tmp_path), fake_discord, extra_extensions=EXTRA) as bot:
        cog = bot.get_cog("Components")
        original_bytes, elsewhere_bytes, embed_bytes = png(20), png(24, (0, 0, 255)), png(28, (0, 255, 0))
        original = fake_discord.post_message(alice, "look", attachments=[FakeAttachment.image(original_bytes, "cat.png")])
        forward = fake_discord.post_message(bob, forwarded_from=original)
        from_elsewhere = fake_discord.post_message(bob, forwarded_from=[FakeAttachment.image(elsewhere_bytes, "dog.png")])
        with pytest.raises(AssertionError, match="a forward carries only the snapshot"):
            fake_discord.post_message(bob, "comment", forwarded_from=original)
        linked = fake_discord.post_message(alice, embeds=[{"image": FakeAttachment.image(embed_bytes, "linked.png"), "title": "a link"}])

        for message in (forward, from_elsewhere, linked):
            rec = await fake_discord.invoke_message_command("Test edit", by=bob, message=message)
            await rec.wait_modal()
        got_forward, got_elsewhere, got_linked = cog.targets

        # forwards: no attachments of their own; the snapshot has them, readable from the CDN
        assert got_forward.attachments == [] and got_forward.flags.forwarded
        assert got_forward.reference.type is discord.MessageReferenceType.forward
        assert got_forward.reference.message_id == original.id
        [snapshot] = got_forward.message_snapshots
        assert snapshot.content == "look" and [a.filename for a in snapshot.attachments] == ["cat.png"]
        assert await snapshot.attachments[0].read() == original_bytes
        assert await got_elsewhere.message_snapshots[0].attachments[0].read() == elsewhere_bytes

        # an embed's image URL is served by the fake CDN
        [embed] = got_linked.embeds
        assert embed.title == "a link" and (embed.image.width, embed.image.height) == (28, 28)
        async with aiohttp.ClientSession() as session, session.get(embed.image.url, timeout=aiohttp.ClientTimeout(total=5)) as response:
            assert response.status == 200 and await response.read() == embed_bytes
        assert cog.errors == []
