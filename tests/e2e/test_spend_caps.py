"""Money caps end to end: /quota budget, GLOBAL_SPEND_LIMIT_USD, /quota report, and /edit refusals."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot.provider.pricing import estimate_request_cost, load_prices
from tests.conftest import make_settings, running_bot
from tests.fakes.discord_server import FakeAttachment
from tests.fakes.image_api import Reply
from tests.support.images import png
from tests.support.polling import eventually

PROMPT = "give the cat a red scarf"
OPTIONS = dict(size="1024x1024", quality="high")
ESTIMATE = estimate_request_cost("gpt-image-2", load_prices(), n=1, prompt=PROMPT, **OPTIONS)
# What the fake provider bills for one gpt-image-2 image (226 in: 194 image, 32 text; 4160 out).
BILLED = (194 * 8 + 32 * 5 + 4160 * 30) / 1e6


@pytest.fixture
def settings_for(tmp_path, image_api):
    def build(**overrides):
        values = dict(image_api_base_url=image_api.base_url, image_api_key=image_api.api_key, quota_default_limit=-1)
        values.update(overrides)
        return make_settings(tmp_path, **values)

    return build


def ledger(bot) -> list[sqlite3.Row]:
    with sqlite3.connect(bot.settings.database_path) as db:
        db.row_factory = sqlite3.Row
        return db.execute("SELECT * FROM ledger ORDER BY id").fetchall()


async def edit(fake, member, **options):
    values = dict(prompt=PROMPT, **OPTIONS)
    values.update(options)
    rec = await fake.invoke("edit", by=member, image=FakeAttachment.image(png()), **values)
    return rec, await rec.wait_result(timeout=60)


async def quota(fake, name: str, **options):
    rec = await fake.invoke(f"quota {name}", by=fake.moderator(), **options)
    reply = await rec.wait_result()
    assert reply.ephemeral == (not options.get("public", False)) and rec.violations == []
    return reply


async def test_fifty_concurrent_edits_against_a_budget_for_ten(fake_discord, settings_for, image_api):
    assert ESTIMATE is not None and BILLED < ESTIMATE
    cap = 10 * ESTIMATE
    async with running_bot(settings_for(), fake_discord) as bot:
        image_api.set_default(Reply.images(delay=0.1))
        reply = await quota(fake_discord, "budget", amount=cap)
        assert f"${cap:.2f} per month" in reply.text
        members = [fake_discord.member(f"m{i}") for i in range(50)]
        results = await asyncio.gather(*(edit(fake_discord, m) for m in members))
        delivered = [r for _, r in results if not r.ephemeral]
        refused = [r for _, r in results if r.ephemeral]
        assert len(delivered) == 10 and len(refused) == 40
        await eventually(lambda: all(r["status"] != "reserved" for r in ledger(bot)))
        assert all("spending budget would be exceeded" in r.text and "<t:" in r.text for r in refused)
        assert len(image_api.edits) == 10, "nothing else was sent upstream"
        rows = ledger(bot)
        assert len(rows) == 10 and {r["status"] for r in rows} == {"committed"}
        assert sum(r["cost_reserved_usd"] for r in rows) <= cap + 1e-9
        assert sum(r["cost_usd"] for r in rows) == pytest.approx(10 * BILLED)
        status = await bot.store.spend_status(fake_discord.guild.id)
        assert status.server.spent_usd == pytest.approx(10 * BILLED, abs=1e-6)
        report = await quota(fake_discord, "report")
        assert f"${10 * BILLED:.2f} of ${cap:.2f} used this month" in report.text


async def test_server_budget_refusal_says_which_cap_what_is_left_and_when(fake_discord, settings_for, image_api):
    async with running_bot(settings_for(), fake_discord) as bot:
        await quota(fake_discord, "budget", amount=0.2, period="day")
        member = fake_discord.member("alice")
        _, first = await edit(fake_discord, member)
        assert not first.ephemeral
        await eventually(lambda: ledger(bot)[0]["status"] == "committed")
        rec, reply = await edit(fake_discord, member)
        assert rec.ack_type == 4 and reply.ephemeral
        left = 0.2 - BILLED
        assert "This server's spending budget would be exceeded" in reply.text
        assert f"${ESTIMATE:.2f}" in reply.text and f"${left:.2f} of $0.20 is left today" in reply.text
        assert "resets <t:" in reply.text and "/quota budget" in reply.text
        assert len(image_api.edits) == 1 and len(ledger(bot)) == 1
        # Removing the budget lifts the cap at once.
        reply = await quota(fake_discord, "budget")
        assert "Server budget removed" in reply.text
        _, reply = await edit(fake_discord, member)
        assert not reply.ephemeral


async def test_global_spend_cap(fake_discord, settings_for, image_api):
    async with running_bot(settings_for(global_spend_limit_usd=0.15, global_spend_period="week"), fake_discord) as bot:
        _, reply = await edit(fake_discord, fake_discord.member("a"))
        assert not reply.ephemeral
        await eventually(lambda: ledger(bot)[0]["status"] == "committed")
        rec, reply = await edit(fake_discord, fake_discord.member("b"))
        assert reply.ephemeral and "Retouch's bot-wide spending cap would be exceeded" in reply.text
        assert "left this week" in reply.text and "<t:" in reply.text and "bot owner" in reply.text
        assert len(image_api.edits) == 1
        report = await quota(fake_discord, "report")
        assert "No server budget" in report.text and "Retouch's bot-wide spending cap: $0.13 of $0.15 used this week" in report.text
        show = await (await fake_discord.invoke("settings show", by=fake_discord.moderator())).wait_result()
        assert "$0.15 per week (GLOBAL_SPEND_LIMIT_USD)" in show.text
        assert len(ledger(bot)) == 1


async def test_models_without_a_price_under_a_cap(fake_discord, settings_for, image_api):
    async with running_bot(settings_for(), fake_discord) as bot:
        await quota(fake_discord, "budget", amount=5)
        rec, reply = await edit(fake_discord, fake_discord.member("a"), model="dall-e-2", size="256x256", quality="standard")
        assert reply.ephemeral and "has no price" in reply.text and "UNPRICED_IMAGE_USD" in reply.text
        assert image_api.edits == [] and ledger(bot) == []
    async with running_bot(settings_for(unpriced_image_usd=0.02), fake_discord) as bot:
        image_api.queue(Reply.images(1, usage=None, as_url=True))
        rec, reply = await edit(fake_discord, fake_discord.member("a"), model="dall-e-2", size="256x256", quality="standard")
        assert not reply.ephemeral and reply.files
        await eventually(lambda: ledger(bot)[0]["status"] != "reserved")
        [row] = ledger(bot)
        assert (row["status"], row["cost_reserved_usd"], row["cost_usd"]) == ("committed", 0.02, None)
        # A delivered edit whose bill is unknown keeps counting its estimate.
        assert (await bot.store.spend_status(fake_discord.guild.id)).server.spent_usd == pytest.approx(0.02)


async def test_budget_needs_an_amount_with_a_period(fake_discord, settings_for):
    async with running_bot(settings_for(), fake_discord) as bot:
        reply = await quota(fake_discord, "budget", period="week")
        assert "Give an `amount`" in reply.text
        assert await bot.store.budget(fake_discord.guild.id) is None
        reply = await quota(fake_discord, "budget", amount=12.5, period="week")
        assert "$12.50 per week" in reply.text
        mallory = fake_discord.member("mallory")
        rec = await fake_discord.invoke("quota budget", by=mallory, amount=1000.0)
        assert "Only moderators" in (await rec.wait_result()).text
        assert (await bot.store.budget(fake_discord.guild.id)).limit_usd == 12.5
