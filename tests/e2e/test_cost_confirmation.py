"""CONFIRM_COST_ABOVE_USD: the estimate is shown privately first; nothing is reserved before Confirm."""

from __future__ import annotations

import sqlite3

import pytest

from tests.conftest import make_settings, running_bot
from tests.fakes.discord_server import FakeAttachment
from tests.fakes.image_api import Reply
from tests.support.images import png
from tests.support.polling import eventually


@pytest.fixture
async def bot(fake_discord, tmp_path, image_api):
    settings = make_settings(
        tmp_path, image_api_base_url=image_api.base_url, image_api_key=image_api.api_key, confirm_cost_above_usd=0.25
    )
    async with running_bot(settings, fake_discord) as bot:
        yield bot


def ledger(bot) -> list[tuple]:
    with sqlite3.connect(bot.settings.database_path) as db:
        return db.execute("SELECT status, images_reserved, cost_reserved_usd FROM ledger").fetchall()


def button(message, prefix: str) -> str:
    [custom_id] = [c for c in message.custom_ids if c.startswith(prefix)]
    return custom_id


async def ask(fake, member, n: int = 2):
    rec = await fake.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt="a red scarf", n=n, size="1024x1024", quality="high")
    prompt = await rec.wait_reply()
    assert rec.violations == [] and rec.ack_type == 4, "the question is the first answer, inside 3 s"
    return rec, prompt


async def test_confirm_then_the_result_is_public(bot, fake_discord, image_api):
    alice = fake_discord.member("alice")
    rec, prompt = await ask(fake_discord, alice)
    assert prompt.ephemeral and "estimated at $0.26" in prompt.text and "above $0.25" in prompt.text
    assert "**gpt-image-2** · 1024x1024 · quality high · 2 images" in prompt.text
    assert [c.split(":")[1] for c in prompt.custom_ids] == ["confirm", "decline"]
    assert ledger(bot) == [] and image_api.edits == [], "nothing reserved or sent before Confirm"

    click = await fake_discord.click(prompt, button(prompt, "retouch:confirm:"), by=alice)
    result = await click.wait_result(timeout=30)
    assert click.ack_type == 5 and click.violations == []
    assert not result.ephemeral and [f.filename for f in result.files] == ["edit-1.png", "edit-2.png"]
    assert result is not prompt, "the result is a new public message"
    assert "Est. cost: $0.25" in result.text
    # The private question now says it was confirmed and has no buttons.
    assert prompt.content.startswith("Confirmed") and prompt.custom_ids == []
    await eventually(lambda: ledger(bot) and ledger(bot)[0][0] == "committed")
    assert ledger(bot)[0][1:] == (2, pytest.approx(0.25762))
    assert len(image_api.edits) == 1


async def test_cancel_reserves_nothing(bot, fake_discord, image_api):
    bob = fake_discord.member("bob")
    rec, prompt = await ask(fake_discord, bob)
    click = await fake_discord.click(prompt, button(prompt, "retouch:decline:"), by=bob)
    updated = await click.wait_update()
    assert click.ack_type == 7 and updated.ephemeral
    assert updated.content == "Cancelled — nothing was reserved." and updated.custom_ids == []
    assert ledger(bot) == [] and image_api.edits == []
    assert (await bot.store.usage_for(fake_discord.guild.id, bob.id, [])).used == 0


async def test_no_answer_in_time_cancels(bot, fake_discord, image_api, monkeypatch):
    monkeypatch.setattr("bot.edits.confirmation.CONFIRM_TIMEOUT_SECONDS", 0.3)
    carol = fake_discord.member("carol")
    rec, prompt = await ask(fake_discord, carol)
    await eventually(lambda: prompt.custom_ids == [], timeout=5)
    assert "No answer" in prompt.content and "nothing was reserved" in prompt.content
    assert ledger(bot) == [] and image_api.edits == []


async def test_cheap_edits_do_not_ask(bot, fake_discord, image_api):
    rec = await fake_discord.invoke("edit", by=fake_discord.member("dan"), image=FakeAttachment.image(png()), prompt="x", size="1024x1024", quality="low")
    result = await rec.wait_result()
    assert rec.ack_type == 5 and not result.ephemeral and result.files


async def test_an_edit_the_quota_refuses_anyway_is_not_asked_about(bot, fake_discord, image_api):
    erin = fake_discord.member("erin")
    await bot.store.set_user_limit(fake_discord.guild.id, erin.id, 1)
    rec = await fake_discord.invoke("edit", by=erin, image=FakeAttachment.image(png()), prompt="x", n=2, size="1024x1024", quality="high")
    reply = await rec.wait_result()
    assert rec.ack_type == 4 and reply.ephemeral and "limit is 1" in reply.text and reply.custom_ids == []
    assert ledger(bot) == [] and image_api.edits == []


async def test_a_refusal_after_confirm_is_still_private(bot, fake_discord, image_api):
    # The quota is decided when the edit is reserved, after Confirm: if it changed while the
    # member was deciding, the refusal goes to them alone and the public "thinking…" goes.
    erin = fake_discord.member("erin")
    rec, prompt = await ask(fake_discord, erin)
    await bot.store.set_user_limit(fake_discord.guild.id, erin.id, 1)
    click = await fake_discord.click(prompt, button(prompt, "retouch:confirm:"), by=erin)
    reply = await click.wait_result()
    assert reply.ephemeral and "limit is 1" in reply.text
    assert click.original is None, "the public placeholder was removed"
    assert ledger(bot) == [] and image_api.edits == []


async def test_a_provider_failure_after_confirm_is_refunded(bot, fake_discord, image_api):
    image_api.queue(Reply.error(400, "Rejected by the safety system.", code="moderation_blocked"))
    fay = fake_discord.member("fay")
    rec, prompt = await ask(fake_discord, fay)
    click = await fake_discord.click(prompt, button(prompt, "retouch:confirm:"), by=fay)
    reply = await click.wait_result()
    assert reply.ephemeral and "safety system" in reply.text and "refunded" in reply.text
    await eventually(lambda: ledger(bot) and ledger(bot)[0][0] == "refunded")
