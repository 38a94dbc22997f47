"""The fair queue through the fake Discord: members take turns at the provider."""

from __future__ import annotations

from tests.conftest import running_bot
from tests.support.images import png
from tests.support.polling import eventually
from tests.fakes.discord_server import FakeAttachment
from tests.fakes.image_api import Reply


async def test_another_members_first_edit_goes_before_a_members_second(fake_discord, settings_for, image_api):
    # One slot. A1 runs (slowly) while A2, A3 and then B1 are queued: B1 must reach the
    # provider next, then A2, then A3.
    image_api.queue(Reply.images(1, delay=1.5))
    async with running_bot(settings_for(max_concurrent_edits=1), fake_discord) as bot:
        alice, bob = fake_discord.member("alice"), fake_discord.member("bob")
        records = [await fake_discord.invoke("edit", by=alice, image=FakeAttachment.image(png()), prompt="A1")]
        await eventually(lambda: len(image_api.edits) == 1)
        for waiting, (member, prompt) in enumerate(((alice, "A2"), (alice, "A3"), (bob, "B1")), start=1):
            records.append(await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt=prompt))
            await eventually(lambda: bot.edits.queue.waiting == waiting, timeout=5)  # queued in this order
        for record in records:
            assert (await record.wait_result(timeout=20)).files
        assert [r.field("prompt") for r in image_api.edits] == ["A1", "B1", "A2", "A3"]
