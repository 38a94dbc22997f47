"""Result images reach Discord byte for byte, also when an upload has to be sent again."""

from __future__ import annotations

import pytest

from tests.conftest import make_settings, running_bot
from tests.fakes.discord_server import FakeAttachment
from tests.fakes.image_api import Reply, make_image

MiB = 1024 * 1024
COLORS = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (200, 200, 40)]


@pytest.fixture
async def bot(fake_discord, tmp_path, image_api):
    settings = make_settings(
        tmp_path, image_api_base_url=image_api.base_url, image_api_key=image_api.api_key, quota_default_limit=10
    )
    async with running_bot(settings, fake_discord) as bot:
        yield bot


def provider_images(n: int, size: int) -> list[bytes]:
    """What the fake image API answers for Reply.images(n, size=(size, size), fill="noise")."""
    return [make_image(size, size, fill="noise", color=COLORS[i % 4], seed=i) for i in range(n)]


async def editing_shown(rec) -> None:
    """The placeholder says "Editing with…": the next PATCH of @original is the result."""
    await rec.wait_for(lambda r: r.original is not None and "Editing with" in (r.original.content or ""))


async def test_a_rate_limited_upload_is_sent_again_and_arrives_byte_identical(bot, fake_discord, image_api):
    # Two ~3 MB noise PNGs in one message: the body is written in many steps, and the
    # 429 comes back before the fake has read it; discord.py seeks the files back and
    # builds a new form for each attempt.
    image_api.queue(Reply.images(2, size=(1024, 1024), fill="noise", gate="result"))
    rec = await fake_discord.invoke("edit", by=fake_discord.member("lena"), image=FakeAttachment.image(make_image()), prompt="x", n=2)
    await editing_shown(rec)
    seen = len(fake_discord.requests)
    fake_discord.rate_limit("/messages/@original", times=2, retry_after=0.1)
    image_api.open_gate("result")
    reply = await rec.wait_result(timeout=30)
    assert rec.violations == []
    assert [f.filename for f in reply.files] == ["edit-1.png", "edit-2.png"]
    assert [f.data for f in reply.files] == provider_images(2, 1024)
    uploads = [r for r in fake_discord.requests[seen:] if r[0] == "PATCH" and r[1].endswith("/messages/@original")]
    assert len(uploads) == 3, "two answered 429, the third went through"


async def test_uploads_split_over_messages_after_a_rate_limit_arrive_byte_identical(bot, fake_discord, image_api):
    fake_discord.guild.upload_limit = 4 * MiB  # one ~3 MB image per message: the rest are follow-ups
    image_api.queue(Reply.images(3, size=(1024, 1024), fill="noise", gate="result"))
    rec = await fake_discord.invoke("edit", by=fake_discord.member("mira"), image=FakeAttachment.image(make_image()), prompt="x", n=3)
    await editing_shown(rec)
    fake_discord.rate_limit("/messages/@original", times=1, retry_after=0.1)
    image_api.open_gate("result")
    messages = await rec.wait_messages(3, timeout=30)
    assert rec.violations == []
    files = [f for m in messages for f in m.files]
    assert [f.filename for f in files] == ["edit-1.png", "edit-2.png", "edit-3.png"]
    assert [f.data for f in files] == provider_images(3, 1024)
