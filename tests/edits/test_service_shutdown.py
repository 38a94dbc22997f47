"""Shutdown (`EditService.drain`) with edits in every phase: running edits get the grace
period, then whatever is still queued or running is cancelled, refunded and its member
told; new edits are refused; nothing is left reserved."""

from __future__ import annotations

import asyncio

import pytest

from bot.edits.service import Phase
from bot.errors import ShuttingDown
from bot.text import edit_status
from tests.edits.conftest import GatedInput, edit_world
from tests.fakes.image_api import Reply, make_image
from tests.support.surface import InMemorySurface

OTHER = 2002


async def test_after_the_grace_the_running_and_the_queued_edit_are_refunded_and_told(service_settings, image_api):
    async with edit_world(service_settings(max_concurrent_edits=1, shutdown_grace_seconds=0.3), image_api) as edits:
        working = image_api.expect(Reply.images(gate="never"))
        running, queued = InMemorySurface(name="running"), InMemorySurface(name="queued")
        running_task = edits.submit(edits.order(prompt="running", n=2), running)
        await asyncio.wait_for(working.answered.wait(), 5)
        queued_task = edits.submit(edits.order(member=OTHER, prompt="queued"), queued)
        await queued.wait_for_status("In the queue")

        await asyncio.wait_for(edits.service.drain(), 10)

        for task in (running_task, queued_task):
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(task, 5)
        assert running.told == [edit_status.RESTART_CANCELLED] and running.posts == []
        assert queued.told == [edit_status.RESTART_CANCELLED]
        assert await edits.ledger("status", "images_reserved", "refund_reason") == [("refunded", 2, "shutdown"), ("refunded", 1, "shutdown")]
        assert [r.field("prompt") for r in image_api.edits] == ["running"]
        assert await edits.used() == 0 and await edits.used(OTHER) == 0


async def test_an_edit_that_finishes_within_the_grace_is_delivered_and_new_edits_are_refused(service_settings, image_api):
    async with edit_world(service_settings(shutdown_grace_seconds=10), image_api) as edits:
        working = image_api.expect(Reply.images(gate="finishing"))
        running = InMemorySurface(name="running")
        running_task = edits.submit(edits.order(prompt="running"), running)
        await asyncio.wait_for(working.answered.wait(), 5)

        draining = asyncio.create_task(edits.service.drain())
        late = InMemorySurface(name="late")
        # Created after the drain task, so it starts after the drain stopped taking edits.
        assert await asyncio.wait_for(edits.submit(edits.order(member=OTHER, prompt="late"), late), 5) is Phase.FAILED
        assert late.told == [ShuttingDown().message]
        assert not edits.service.accepting

        image_api.open_gate("finishing")
        assert await asyncio.wait_for(running_task, 5) is Phase.DELIVERED
        await asyncio.wait_for(draining, 5)  # done as soon as the last edit is, not after the grace
        assert running.told == [] and len(running.posts) == 1
        assert await edits.ledger("status", "images_delivered") == [("committed", 1)], "the late edit reserved nothing"
        assert [r.field("prompt") for r in image_api.edits] == ["running"]


async def test_an_edit_still_downloading_its_image_at_shutdown_is_refunded(service_settings, image_api):
    async with edit_world(service_settings(shutdown_grace_seconds=0.2), image_api) as edits:
        slow = GatedInput(make_image(64, 64))
        surface = InMemorySurface()
        task = edits.submit(edits.order(image=slow), surface)
        # Past the preflight: reserved, and the provider call waits for the image.
        await surface.wait_for_status(edit_status.running("gpt-image-2"))
        await asyncio.wait_for(edits.service.drain(), 10)
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
        assert surface.told == [edit_status.RESTART_CANCELLED]
        assert await edits.ledger("status", "refund_reason") == [("refunded", "shutdown")]
        assert image_api.edits == []
