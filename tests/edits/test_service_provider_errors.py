"""Each way the provider can fail, made to happen by the fake image API over real HTTP:
what the member is told (privately), that the quota was refunded, and what the ledger
keeps."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.edits.service import Phase
from tests.edits.conftest import edit_world
from tests.fakes.image_api import Reply
from tests.support.surface import InMemorySurface

REFUNDED = "\nYour quota was refunded."


@pytest.mark.parametrize(
    ("reply", "told", "reason"),
    [
        pytest.param(
            Reply.error(400, "Your request was rejected by the safety system.", code="moderation_blocked", type="image_generation_user_error"),
            "The image provider's safety system blocked this request. Try a different prompt or image. "
            "Provider said: Your request was rejected by the safety system.",
            "ProviderRejected",
            id="400-rejected",
        ),
        pytest.param(
            Reply.error(429, "Rate limit reached for images", code="rate_limit_exceeded", retry_after=30),
            "The image provider is busy right now. Try again in about 30 seconds.",
            "RateLimited",
            id="429-retry-after",
        ),
        pytest.param(
            Reply.error(503, "The server is overloaded", type="server_error"),
            "The image provider is unavailable right now. Try again in a few minutes.",
            "ProviderUnavailable",
            id="503",
        ),
        pytest.param(
            Reply.error(429, "You exceeded your current quota, please check your plan and billing details.", code="insufficient_quota"),
            "The image service is unavailable right now. The bot owner needs to check the provider account.",
            "BillingError",
            id="429-insufficient-quota",
        ),
        pytest.param(
            Reply.drop(),
            "The image provider is unavailable right now. Try again in a few minutes.",
            "ProviderUnavailable",
            id="dropped-connection",
        ),
    ],
)
async def test_a_provider_failure_tells_the_member_and_refunds(edits, reply, told, reason):
    edits.api.queue(reply)
    surface = InMemorySurface()
    assert await edits.run(edits.order(n=2), surface) is Phase.FAILED
    assert surface.told == [told + REFUNDED]
    assert surface.posts == []
    assert edits.api.api_key not in surface.told[0]
    assert len(edits.api.edits) == 1
    assert await edits.ledger() == [("refunded", 2, 0, None, reason)]
    assert await edits.used() == 0


async def test_billing_trouble_is_for_the_owner_to_read_not_the_member(edits, caplog):
    caplog.set_level(logging.INFO, "retouch")
    edits.api.queue(Reply.error(429, "You exceeded your current quota.", code="insufficient_quota"))
    surface = InMemorySurface()
    assert await edits.run(edits.order(), surface) is Phase.FAILED
    assert "quota" not in surface.told[0].split("\n")[0], "the owner's billing is not the member's business"
    assert any(
        r.levelname == "ERROR" and "the bot owner must fix" in r.getMessage() and "insufficient_quota" in r.getMessage()
        for r in caplog.records
    )


async def test_a_429_with_retry_after_is_retried_after_the_wait_and_delivered(service_settings, image_api):
    async with edit_world(service_settings(image_api_max_attempts=2), image_api) as edits:
        image_api.queue(Reply.error(429, "slow down", code="rate_limit_exceeded", retry_after=0.2))
        surface = InMemorySurface()
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await edits.run(edits.order(), surface) is Phase.DELIVERED
        assert loop.time() - started >= 0.2, "Retry-After was honoured"
        assert len(image_api.edits) == 2 and surface.told == []
        assert await edits.ledger() == [("committed", 1, 1, 4386, None)]


async def test_a_connection_dropped_before_any_answer_is_retried_as_nothing_was_processed(service_settings, image_api):
    async with edit_world(service_settings(image_api_max_attempts=2), image_api) as edits:
        image_api.queue(Reply.drop())
        surface = InMemorySurface()
        assert await edits.run(edits.order(), surface) is Phase.DELIVERED
        assert len(image_api.edits) == 2 and surface.told == []
        assert await edits.ledger("status", "images_delivered") == [("committed", 1)]


async def test_a_rejection_is_never_retried(service_settings, image_api):
    async with edit_world(service_settings(image_api_max_attempts=3), image_api) as edits:
        image_api.queue(Reply.error(400, "Rejected.", code="moderation_blocked"))
        surface = InMemorySurface()
        assert await edits.run(edits.order(), surface) is Phase.FAILED
        assert len(image_api.edits) == 1
        assert await edits.ledger("status", "refund_reason") == [("refunded", "ProviderRejected")]
