"""Cancel at each phase of an edit's life, through the real EditService: what the member
is told, whether the provider was called, and what the ledger says was refunded.

Before a reservation exists (checked, waiting for the member's own edit) the member is
offered no Cancel: only the edit's task can be stopped (the bot stopping), and nothing
was reserved. Queued and running edits are refunded at once; a result being posted is
too late to cancel."""

from __future__ import annotations

import asyncio

import pytest

from bot.edits.service import CancelResult, Phase
from bot.text import edit_status
from tests.edits.conftest import MEMBER, GatedInput, edit_world
from tests.fakes.image_api import Reply, make_image
from tests.support.surface import InMemorySurface

OTHER = 2002
MODERATOR = 3003


async def test_stopped_while_the_image_is_still_downloading_nothing_was_reserved(edits):
    slow = GatedInput(make_image(64, 64))
    surface = InMemorySurface()
    task = edits.submit(edits.order(image=slow), surface)
    await asyncio.wait_for(slow.reading.wait(), 5)  # checked, the download under way
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert surface.told == [edit_status.RESTART_BEFORE_START]
    assert all(s.cancel_id is None for s in surface.statuses), "no Cancel is offered before anything is reserved"
    assert await edits.ledger() == [] and edits.api.edits == []


async def test_cancel_while_a_slow_download_outlives_the_preflight_refunds_and_calls_no_provider(edits):
    slow = GatedInput(make_image(64, 64))
    surface = InMemorySurface()
    task = edits.submit(edits.order(image=slow, n=2), surface)
    # The preflight gives up waiting for the download: the edit is reserved and "running",
    # the provider call waiting for the image.
    running = await surface.wait_for_status(edit_status.running("gpt-image-2"))
    assert running.cancel_id is not None
    assert edits.service.cancel(running.cancel_id, user_id=MEMBER, is_moderator=False) is CancelResult.CANCELLED
    assert await asyncio.wait_for(task, 5) is Phase.CANCELLED
    assert surface.told == [edit_status.cancelled(by_moderator=False)]
    assert edits.api.edits == [], "the provider was never called"
    # Nothing was sent upstream, so nothing can be billed: not "cancelled while running".
    assert await edits.ledger() == [("refunded", 2, 0, None, "cancelled")]
    assert await edits.used() == 0


async def test_stopped_while_waiting_for_the_members_own_edit_nothing_was_reserved(service_settings, image_api):
    async with edit_world(service_settings(quota_default_limit=1), image_api) as edits:
        working = image_api.expect(Reply.images(gate="first"))
        first, second = InMemorySurface(name="first"), InMemorySurface(name="second")
        first_task = edits.submit(edits.order(prompt="one"), first)
        await asyncio.wait_for(working.answered.wait(), 5)
        second_task = edits.submit(edits.order(prompt="two"), second)
        waiting = await second.wait_for_status(edit_status.WAITING_FOR_OWN)
        assert waiting.cancel_id is None, "nothing reserved yet: no Cancel to offer"
        second_task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(second_task, 5)
        assert second.told == [edit_status.RESTART_BEFORE_START]
        image_api.open_gate("first")
        assert await asyncio.wait_for(first_task, 5) is Phase.DELIVERED
        assert await edits.ledger("status", "images_delivered") == [("committed", 1)], "only the first edit was ever reserved"
        assert len(image_api.edits) == 1


async def test_cancel_while_queued_refunds_at_once_and_never_calls_the_provider(service_settings, image_api):
    async with edit_world(service_settings(max_concurrent_edits=1), image_api) as edits:
        working = image_api.expect(Reply.images(gate="ahead"))
        ahead, queued = InMemorySurface(name="ahead"), InMemorySurface(name="queued")
        ahead_task = edits.submit(edits.order(member=OTHER, prompt="ahead"), ahead)
        await asyncio.wait_for(working.answered.wait(), 5)
        task = edits.submit(edits.order(prompt="mine", n=3), queued)
        position = await queued.wait_for_status("In the queue")
        assert position.text == edit_status.queued(1, 1) and position.cancel_id is not None
        # Only the requester (or a moderator) may cancel it.
        assert edits.service.cancel(position.cancel_id, user_id=OTHER, is_moderator=False) is CancelResult.NOT_ALLOWED
        assert edits.service.cancel(position.cancel_id, user_id=MEMBER, is_moderator=False) is CancelResult.CANCELLED
        assert await asyncio.wait_for(task, 5) is Phase.CANCELLED
        assert queued.told == [edit_status.cancelled(by_moderator=False)]
        assert await edits.ledger("status", "images_reserved", "refund_reason") == [("reserved", 1, None), ("refunded", 3, "cancelled")]
        assert edits.service.cancel(position.cancel_id, user_id=MEMBER, is_moderator=False) is CancelResult.NOT_RUNNING
        image_api.open_gate("ahead")
        assert await asyncio.wait_for(ahead_task, 5) is Phase.DELIVERED
        assert [r.field("prompt") for r in image_api.edits] == ["ahead"], "the cancelled edit never reached the provider"
        assert await edits.used() == 0 and await edits.used(OTHER) == 1


async def test_cancel_while_the_provider_works_refunds_and_records_that_it_may_be_billed(edits):
    working = edits.api.expect(Reply.images(gate="provider"))
    surface = InMemorySurface()
    task = edits.submit(edits.order(n=2), surface)
    await asyncio.wait_for(working.answered.wait(), 5)  # the request is at the provider
    running = await surface.wait_for_status(edit_status.running("gpt-image-2"))
    assert edits.service.cancel(running.cancel_id, user_id=MODERATOR, is_moderator=True) is CancelResult.CANCELLED
    assert await asyncio.wait_for(task, 5) is Phase.CANCELLED
    assert surface.told == [edit_status.cancelled(by_moderator=True)]
    assert surface.posts == []
    assert await edits.ledger() == [("refunded", 2, 0, None, "cancelled while running")]
    assert await edits.used() == 0


async def test_cancel_while_the_result_is_being_posted_is_too_late_and_it_counts(edits):
    surface = InMemorySurface()
    surface.hold_delivery()
    task = edits.submit(edits.order(), surface)
    post = await surface.wait_posting()
    assert edits.service.cancel(post.edit_id, user_id=MEMBER, is_moderator=False) is CancelResult.TOO_LATE
    surface.release_delivery()
    assert await asyncio.wait_for(task, 5) is Phase.DELIVERED
    assert surface.told == []
    assert await edits.ledger() == [("committed", 1, 1, 4386, None)]
    assert edits.service.cancel(post.edit_id, user_id=MEMBER, is_moderator=False) is CancelResult.NOT_RUNNING
