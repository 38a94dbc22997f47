"""A running edit that is cancelled, or that times out after its upload, may be billed by
the provider: the member's images come back, but its estimate keeps counting toward the
money caps (the server's /quota budget and GLOBAL_SPEND_LIMIT_USD) and shows in
`/quota report` apart from real bills. Otherwise a member could cancel `n=10
quality=high` after the upload again and again, spending the owner's money without limit.

Through the real EditService, the fake image API over HTTP held at a gate (so the edit
is provably at the provider) or never answering (IMAGE_API_TIMEOUT)."""

from __future__ import annotations

import asyncio

import pytest

from bot.edits import checks
from bot.edits.order import EditOptions
from bot.edits.service import CancelResult, Phase
from bot.provider.pricing import load_prices
from bot.store.models import CANCELLED_RUNNING_REASON, TIMED_OUT_RUNNING_REASON, to_micros
from bot.text import edit_status, quota_messages
from bot.text.edit_summary import cost_text
from tests.edits.conftest import GUILD, MEMBER, edit_world
from tests.fakes.image_api import Reply
from tests.support.surface import InMemorySurface

EXPENSIVE = {"n": 4, "quality": "high"}
PROMPT = "give the cat a red scarf"  # the world's default prompt


async def _estimate(edits) -> float:
    rows = await edits.ledger("cost_reserved_usd")
    assert len(rows) == 1 and rows[0][0] and rows[0][0] > 0, "the edit's model has a price: an estimate was held"
    return rows[0][0]


async def _cancel_while_running(edits) -> None:
    working = edits.api.expect(Reply.images(gate="provider"))
    surface = InMemorySurface()
    task = edits.submit(edits.order(**EXPENSIVE), surface)
    await asyncio.wait_for(working.answered.wait(), 5)  # the whole request is at the provider
    running = await surface.wait_for_status(edit_status.running("gpt-image-2"))
    assert edits.service.cancel(running.cancel_id, user_id=MEMBER, is_moderator=False) is CancelResult.CANCELLED
    assert await asyncio.wait_for(task, 5) is Phase.CANCELLED
    assert surface.told == [edit_status.cancelled(by_moderator=False)]
    edits.api.open_gate("provider")


async def _second_edit_is_refused(edits, reason_code: str) -> None:
    """Another edit like the first: it would fit only if the first's estimate were free."""
    surface = InMemorySurface(name="second")
    phase = await edits.run(edits.order(**EXPENSIVE), surface)
    assert phase is not Phase.DELIVERED and surface.posts == []
    assert len(surface.told) == 1
    told = surface.told[0]
    assert "budget" in told or "spend" in told, told
    rows = await edits.ledger("status")
    assert rows == [("refunded",)], f"nothing more was reserved ({reason_code})"
    assert len(edits.api.edits) == 1, "the second edit never reached the provider"


async def test_a_cancelled_running_edit_refunds_the_images_but_its_estimate_counts_toward_the_servers_budget(edits):
    await _cancel_while_running(edits)
    estimate = await _estimate(edits)
    assert await edits.ledger("status", "images_reserved", "images_delivered", "refund_reason") == [
        ("refunded", 4, 0, CANCELLED_RUNNING_REASON)
    ]
    assert await edits.used() == 0, "the member's images are refunded"

    # A budget that one such edit fits, but not two.
    await edits.store.set_budget(GUILD, round(estimate * 1.5, 6), "month")
    status = await edits.store.spend_status(GUILD)
    assert status.server is not None and status.server.spent_micros == to_micros(estimate)
    assert status.server_spent_micros == to_micros(estimate)
    await _second_edit_is_refused(edits, "server_budget")

    report = await edits.store.report(GUILD)
    assert (report.cancelled_running, report.timed_out_running) == (1, 0)
    assert report.running_estimate_usd == pytest.approx(estimate)
    assert report.cost_usd == 0, "no real bill: the estimate is reported apart"
    lines = quota_messages.report_lines(report, user_name=lambda user_id: f"member {user_id}")
    assert any("1 edit cancelled while running" in line and cost_text(estimate) in line for line in lines), lines


async def test_a_cancelled_running_edit_counts_toward_the_bot_wide_spend_cap(service_settings, image_api):
    settings = service_settings()
    options = EditOptions(prompt=PROMPT, model="gpt-image-2", **EXPENSIVE)
    expected = checks.estimate(options, prices=load_prices(settings.image_prices_json), settings=settings)
    assert expected is not None
    # A bot-wide cap that one such edit fits, but not two.
    async with edit_world(service_settings(global_spend_limit_usd=round(expected * 1.5, 6)), image_api) as edits:
        await _cancel_while_running(edits)
        assert await _estimate(edits) == pytest.approx(expected)
        status = await edits.store.spend_status(GUILD)
        assert status.global_ is not None and status.global_.spent_micros == to_micros(expected)
        assert status.server_spent_micros == to_micros(expected), "no budget: the server's spend still shows it"
        assert await edits.used() == 0
        await _second_edit_is_refused(edits, "global_spend")


async def test_a_timeout_after_the_upload_refunds_the_images_but_its_estimate_counts(service_settings, image_api):
    async with edit_world(service_settings(image_api_timeout=0.5), image_api) as edits:
        working = image_api.expect(Reply.hang())  # the provider has the request and never answers
        surface = InMemorySurface()
        phase = await edits.run(edits.order(**EXPENSIVE), surface)
        assert working.answered.is_set() and phase is Phase.FAILED
        assert surface.told == [
            "The image provider took too long to answer. Try again, perhaps with a smaller size or lower quality."
            "\nYour quota was refunded."
        ]
        estimate = await _estimate(edits)
        assert await edits.ledger("status", "images_delivered", "refund_reason") == [("refunded", 0, TIMED_OUT_RUNNING_REASON)]
        assert await edits.used() == 0

        await edits.store.set_budget(GUILD, round(estimate * 1.5, 6), "month")
        status = await edits.store.spend_status(GUILD)
        assert status.server is not None and status.server.spent_micros == to_micros(estimate)
        await _second_edit_is_refused(edits, "server_budget")

        report = await edits.store.report(GUILD)
        assert (report.cancelled_running, report.timed_out_running) == (0, 1)
        assert report.running_estimate_usd == pytest.approx(estimate) and report.cost_usd == 0
        lines = quota_messages.report_lines(report, user_name=lambda user_id: f"member {user_id}")
        assert any("1 edit timed out while running" in line for line in lines), lines


async def test_a_refund_before_the_provider_had_the_request_still_costs_nothing(service_settings, image_api):
    """The other refunds are unchanged: a provider error answered at once is not billed."""
    async with edit_world(service_settings(), image_api) as edits:
        image_api.expect(Reply.error(503, "The server is overloaded", type="server_error"))
        surface = InMemorySurface()
        assert await edits.run(edits.order(**EXPENSIVE), surface) is Phase.FAILED
        assert await edits.ledger("refund_reason") == [("ProviderUnavailable",)]
        status = await edits.store.spend_status(GUILD)
        assert status.server_spent_micros == 0
        assert (await edits.store.report(GUILD)).running_estimate_usd == 0
