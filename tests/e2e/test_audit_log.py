"""The audit log channel through the real bot: what it says, and that it never gets in an edit's way."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest

from tests.conftest import make_settings, running_bot
from tests.fakes.discord_server import FakeAttachment
from tests.fakes.image_api import Reply
from tests.support.images import png
from tests.support.polling import eventually


@pytest.fixture
async def bot(fake_discord, tmp_path, image_api):
    settings = make_settings(tmp_path, image_api_base_url=image_api.base_url, image_api_key=image_api.api_key, quota_default_limit=2)
    async with running_bot(settings, fake_discord) as bot:
        yield bot


def posts(fake, channel) -> list:
    return [m for m in fake.channel_messages if m.channel_id == channel.id]


def entries(fake, channel) -> list[dict]:
    """Every embed posted in the log channel, the announcement left out."""
    return [e for m in posts(fake, channel) for e in m.embeds if e.get("title")]


async def set_log(fake, channel) -> str:
    rec = await fake.invoke("settings log-channel", by=fake.moderator(), channel=channel)
    return (await rec.wait_result()).text


async def edit(fake, member, prompt: str = "give the cat a red scarf", **options):
    rec = await fake.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt=prompt, **options)
    return await rec.wait_result()


async def test_a_delivered_edit_is_logged_with_its_link_tokens_and_cost(bot, fake_discord, image_api):
    log = fake_discord.text_channel("mod-log")
    await set_log(fake_discord, log)
    alice = fake_discord.member("alice")
    result = await edit(fake_discord, alice, n=1, size="1024x1024")
    await eventually(lambda: len(entries(fake_discord, log)) == 1)
    [entry] = entries(fake_discord, log)
    text = entry["description"]
    assert entry["title"].startswith("Edit delivered · #")
    assert f"Requester: <@{alice.id}> via /edit" in text
    assert "**gpt-image-2** · 1024x1024 · 1 image" in text
    assert "Tokens: 4,386 · Est. cost: $0.13" in text
    link = re.search(r"Result: (\S+)", text).group(1)
    assert link.endswith(f"/{fake_discord.guild.id}/{fake_discord.guild.channel_id}/{result.id}")
    assert "red scarf" not in text, "prompts are not logged"
    [post] = [m for m in posts(fake_discord, log) if entries(fake_discord, log)[0] in m.embeds]
    assert not post.content, "the mention is in the embed, which never pings"


async def test_refusals_and_rejections_are_logged_with_the_reason(bot, fake_discord, image_api):
    log = fake_discord.text_channel("mod-log")
    await set_log(fake_discord, log)
    await (await fake_discord.invoke("settings blocked-words add", by=fake_discord.moderator(), words="dragon")).wait_result()
    bob = fake_discord.member("bob")
    refused = await edit(fake_discord, bob, prompt="paint a huge DRAGON breathing fire on the castle")
    assert refused.ephemeral
    await edit(fake_discord, bob, n=3)  # over the quota of 2
    image_api.queue(Reply.error(400, "Your request was rejected by the safety system.", code="moderation_blocked"))
    await edit(fake_discord, bob)
    await eventually(lambda: len(entries(fake_discord, log)) == 3)
    blocked, quota, rejected = entries(fake_discord, log)
    assert blocked["title"] == "Edit refused" and "`blocked_word`" in blocked["description"] and "“dragon”" in blocked["description"]
    assert "breathing fire" not in blocked["description"], "which word matched, never the prompt"
    assert "`quota`" in quota["description"] and f"<@{bob.id}>" in quota["description"]
    assert rejected["title"].startswith("Rejected by the provider")
    assert "`provider_rejected`" in rejected["description"] and "safety system" in rejected["description"]


async def test_a_channel_the_bot_cannot_post_in_is_reported_once_and_edits_go_on(bot, fake_discord, image_api, caplog):
    caplog.set_level(logging.INFO, logger="retouch.audit")
    log = fake_discord.text_channel("locked")
    fake_discord.refuse_posts(log, 403, 50013)
    reply = await set_log(fake_discord, log)
    assert "⚠️ Retouch can't post in" in reply and "missing permissions" in reply
    for name in ("a", "b"):
        result = await edit(fake_discord, fake_discord.member(name))
        assert not result.ephemeral and result.files, "the log never blocks or fails an edit"
    await edit(fake_discord, fake_discord.member("c"), prompt="   ")  # a refusal: not posted either
    await eventually(lambda: bot.audit_log.unposted >= 3)
    warnings = [r for r in caplog.records if r.name == "retouch.audit" and r.levelno == logging.WARNING]
    assert len(warnings) == 1, "reported once (when it was set), not per edit"
    show = await (await fake_discord.invoke("settings show", by=fake_discord.moderator())).wait_result()
    assert "⚠️ Retouch can't post in" in show.text and f"<#{log.id}>" in show.text
    assert posts(fake_discord, log) == []

    # Choosing a channel that works clears the problem.
    working = fake_discord.text_channel("mod-log")
    reply = await set_log(fake_discord, working)
    assert "⚠️" not in reply
    await edit(fake_discord, fake_discord.member("d"))
    await eventually(lambda: len(entries(fake_discord, working)) == 1)
    show = await (await fake_discord.invoke("settings show", by=fake_discord.moderator())).wait_result()
    assert "⚠️" not in show.text


async def test_a_deleted_channel_is_reported_in_settings_show(bot, fake_discord, image_api, caplog):
    log = fake_discord.text_channel("gone")
    await set_log(fake_discord, log)
    fake_discord.refuse_posts(log, 404, 10003)
    caplog.set_level(logging.WARNING, logger="retouch.audit")
    for name in ("a", "b", "c"):
        await edit(fake_discord, fake_discord.member(name))
    await eventually(lambda: bot.audit_log.problem_for(fake_discord.guild.id) is not None and bot.audit_log.unposted >= 3)
    assert len([r for r in caplog.records if "cannot post in channel" in r.getMessage()]) == 1
    show = await (await fake_discord.invoke("settings show", by=fake_discord.moderator())).wait_result()
    assert "the channel no longer exists" in show.text


async def test_nothing_is_posted_without_a_log_channel(bot, fake_discord, image_api):
    result = await edit(fake_discord, fake_discord.member("a"))
    assert result.files
    # Stopping waits for the edit to end (its event handed to the log) and for the poster
    # to work through everything it was handed: only then is "nothing posted" proven.
    await asyncio.wait_for(bot.close(), 20)
    assert bot.audit_log.unposted == 0 and bot.audit_log.dropped == 0
    assert fake_discord.channel_messages == []


async def test_edits_cancelled_by_a_shutdown_are_logged_before_the_bot_disconnects(fake_discord, tmp_path, image_api):
    working = image_api.expect(Reply.hang())
    settings = make_settings(
        tmp_path, image_api_base_url=image_api.base_url, image_api_key=image_api.api_key, shutdown_grace_seconds=0.3
    )
    log = fake_discord.text_channel("mod-log")
    async with running_bot(settings, fake_discord) as bot:
        await set_log(fake_discord, log)
        await fake_discord.invoke("edit", by=fake_discord.member("kate"), image=FakeAttachment.image(png()), prompt="x")
        await asyncio.wait_for(working.answered.wait(), 10)
        await asyncio.wait_for(bot.close(), 20)
    [entry] = entries(fake_discord, log)
    assert entry["title"].startswith("Edit cancelled") and "`shutdown`" in entry["description"]
