"""MAX_EDITS_PER_MEMBER on the service: a member's edits in progress, from acceptance to
settlement (waiting for quota, a question waiting for the member, queued, running), are
bounded; one more is refused privately at once, before any download or reservation."""

from __future__ import annotations

import asyncio

from bot.edits.service import Phase
from tests.edits.conftest import MEMBER, GatedInput, edit_world
from tests.fakes.image_api import Reply, make_image
from tests.support.surface import InMemorySurface

REFUSAL = "You already have 3 edits in progress. Wait for one to finish (or cancel one), then try again. Nothing was charged."


async def test_one_edit_more_than_the_cap_is_refused_before_reading_or_reserving(service_settings, image_api):
    # One image of quota: the first edit reaches the provider and is held there; the second
    # waits for quota; the third is still downloading its image. Three in progress, one reserved.
    image_api.set_default(Reply.images(1, gate="provider"))
    settings = service_settings(quota_default_limit=1, max_edits_per_member=3)
    async with edit_world(settings, image_api) as edits:
        running, waiting, downloading = InMemorySurface("running"), InMemorySurface("waiting"), InMemorySurface("downloading")
        first = edits.submit(edits.order(prompt="one"), running)
        await image_api.wait_for_edits(1)  # the first edit at the provider
        second = edits.submit(edits.order(prompt="two"), waiting)
        await waiting.wait_for_status("Waiting for your other edit")
        slow = GatedInput(make_image(64, 64))
        third = edits.submit(edits.order(prompt="three", image=slow), downloading)
        await asyncio.wait_for(slow.reading.wait(), 5)

        extra = GatedInput(make_image(64, 64))
        refused = InMemorySurface("refused")
        assert await asyncio.wait_for(edits.service.submit(edits.order(prompt="four", image=extra), refused), 1.0) is Phase.FAILED
        assert refused.told == [REFUSAL] and refused.acknowledgements == 0, "a private first reply"
        assert not extra.reading.is_set(), "refused before any download"
        assert len(await edits.ledger()) == 1, "and before any reservation"

        # Another member is not held back by this member's cap.
        other = InMemorySurface("other")
        other_task = edits.submit(edits.order(member=MEMBER + 1, prompt="other"), other)
        await image_api.wait_for_edits(2)  # the other member's edit at the provider
        assert other.told == []

        # The member's edits settle one by one; a new one is accepted again once there is room.
        slow.release()
        image_api.open_gate("provider")
        for task in (first, second, third, other_task):
            assert await asyncio.wait_for(task, 10) in (Phase.DELIVERED, Phase.FAILED)
        again = InMemorySurface("again")
        assert await edits.run(edits.order(prompt="five"), again) is not None
        assert REFUSAL not in again.told
