"""MAX_EDITS_PER_MEMBER through the fake Discord: the fourth edit of a member with three in
progress is refused privately at once (the service side: tests/edits/test_service_member_cap.py)."""

from __future__ import annotations

from tests.conftest import running_bot
from tests.fakes.discord_server import FakeAttachment
from tests.fakes.image_api import Reply
from tests.support.images import png
from tests.support.ledger import ledger_now
from tests.support.polling import eventually


async def test_the_fourth_edit_is_refused_privately_through_discord(fake_discord, settings_for, image_api):
    image_api.set_default(Reply.hang())
    async with running_bot(settings_for(shutdown_grace_seconds=0.5), fake_discord) as bot:  # MAX_EDITS_PER_MEMBER: 3 by default
        member = fake_discord.member("eager")
        for prompt in ("one", "two", "three"):
            await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt=prompt)
        await eventually(lambda: len(image_api.edits) == 3)
        rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="four")
        reply = await rec.wait_result(timeout=1.0)
        assert reply.ephemeral and rec.ack_type == 4, "a private first reply, at once"
        assert "You already have 3 edits in progress" in reply.text
        assert rec.violations == []
        assert len(image_api.edits) == 3 and len(await ledger_now(bot)) == 3
        # another member still gets through
        other = await fake_discord.invoke("edit", by=fake_discord.member("patient"), image=FakeAttachment.image(png()), prompt="x")
        await eventually(lambda: len(image_api.edits) == 4)
        assert other.ack_type != 4
