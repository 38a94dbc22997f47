"""The fake Discord enforces Discord's rules, so tests built on it cannot lie."""

from __future__ import annotations

import discord

from tests.conftest import make_settings, running_bot
from tests.support.polling import eventually


async def _bot_with_rules(fake, tmp_path):
    return running_bot(make_settings(tmp_path), fake, extra_extensions=["tests.fakes.rules_cog"])


async def test_rules(fake_discord, tmp_path):
    member = fake_discord.member("bob")
    async with await _bot_with_rules(fake_discord, tmp_path) as bot:
        cog = bot.get_cog("Rules")

        # first follow-up after a defer takes the defer's visibility
        rec = await fake_discord.invoke("deferfollow", by=member, ephemeral_defer=False)
        messages = await rec.wait_messages(2)
        assert messages[0].content == "first" and not messages[0].ephemeral
        assert messages[1].content == "second" and messages[1].ephemeral
        rec = await fake_discord.invoke("deferfollow", by=member, ephemeral_defer=True)
        messages = await rec.wait_messages(2)
        assert messages[0].content == "first" and messages[0].ephemeral

        # a second acknowledgement fails with 40060
        rec = await fake_discord.invoke("twice", by=member)
        await rec.wait_for(lambda r: bool(r.violations))
        await eventually(lambda: any(isinstance(e, discord.HTTPException) and e.code == 40060 for e in cog.errors))
        cog.errors.clear()

        # uploads over the limit fail with 413 / 40005
        rec = await fake_discord.invoke("upload", by=member, size=fake_discord.guild.upload_limit + 1)
        await rec.wait_for(lambda r: bool(r.violations))
        await eventually(lambda: any(getattr(e, "code", None) == 40005 and e.status == 413 for e in cog.errors))
        cog.errors.clear()

        # tokens older than 15 minutes are rejected
        rec = await fake_discord.invoke("later", by=member)
        await rec.wait_ack()
        fake_discord.advance(15 * 60 + 1)
        await eventually(lambda: cog.errors)
        assert any(getattr(e, "code", None) == 50027 for e in cog.errors)
        fake_discord.advance(-(15 * 60 + 1))
        cog.errors.clear()

        # a rate-limited route answers 429 and discord.py retries after retry_after
        fake_discord.rate_limit("/callback", times=1, retry_after=0.2)
        rec = await fake_discord.invoke("upload", by=member, size=10)
        await rec.wait_reply()
        assert rec.violations == [] and cog.errors == []

        # not acknowledged within 3 s: the interaction fails
        rec = await fake_discord.invoke("slow", by=member, seconds=3.2)
        await rec.wait_for(lambda r: bool(r.violations), timeout=6)
        await eventually(lambda: cog.errors)
        assert any(getattr(e, "code", None) == 10062 for e in cog.errors)
