"""The whole life of an edit that goes well, through the real EditService: what was sent
upstream, what the member saw, and what the database holds afterwards."""

from __future__ import annotations

import asyncio

from bot.edits.order import BytesInput
from bot.edits.service import Phase
from bot.edits.surface import Status
from bot.text import edit_status
from tests.edits.conftest import GUILD, MEMBER, edit_world
from tests.fakes.image_api import Reply, make_image
from tests.support.surface import InMemorySurface


async def test_a_delivered_edit_is_committed_with_its_bill_and_kept_for_its_buttons(edits):
    surface = InMemorySurface()
    source = make_image(96, 96, color=(10, 120, 200))
    order = edits.order(image=BytesInput(source), n=2)

    assert await edits.run(order, surface) is Phase.DELIVERED

    [sent] = edits.api.edits
    assert sent.fields["prompt"] == ["give the cat a red scarf"] and sent.fields["n"] == ["2"]
    assert sent.fields["model"] == ["gpt-image-2"]
    assert str(MEMBER) not in sent.fields["user"][0], "the provider gets an opaque id"
    assert [f.data for f in sent.files] == [source]
    # What the member saw: a placeholder, "editing", then the provider's images and a summary.
    assert surface.acknowledgements == 1
    assert edit_status.running("gpt-image-2") in surface.status_texts
    [post] = surface.posts
    assert [f.filename for m in post.messages for f in m.files] == ["edit-1.png", "edit-2.png"]
    assert [f.content for m in post.messages for f in m.files] == [make_image(64, 64, color=c, seed=i) for i, c in enumerate([(200, 40, 40), (40, 200, 40)])]
    assert post.buttons, "kept: Edit again / Re-roll / Delete are offered"
    summary = "\n".join(post.summary_lines)
    assert "Tokens: 226 in (194 image, 32 text) · 8,320 out · 8,546 total" in summary
    assert "Quota: 8 of 10 left today" in summary
    assert surface.told == []
    # What the database holds: both images committed, with the provider's bill.
    assert await edits.ledger() == [("committed", 2, 2, 8546, None)]
    [(input_tokens, output_tokens, cost)] = await edits.ledger("input_tokens", "output_tokens", "cost_usd")
    assert (input_tokens, output_tokens) == (226, 8320) and cost > 0
    assert await edits.used() == 2
    kept = await edits.results.get(post.edit_id)
    assert kept is not None and kept.requester_id == MEMBER and kept.guild_id == GUILD
    assert not edits.journal.exists(), "the happy path writes no journal"


async def test_fewer_images_than_asked_count_only_what_was_delivered(edits):
    edits.api.queue(Reply.images(2))
    surface = InMemorySurface()
    assert await edits.run(edits.order(n=4), surface) is Phase.DELIVERED
    [post] = surface.posts
    assert post.images == 2
    assert "the provider returned 2 of 4 images; only those count against your quota" in "\n".join(post.summary_lines)
    assert await edits.ledger() == [("committed", 4, 2, 8546, None)]
    assert await edits.used() == 2


async def test_a_result_the_platform_only_half_took_counts_what_was_posted(edits):
    surface = InMemorySurface(accepts_images=1)
    assert await edits.run(edits.order(n=2), surface) is Phase.DELIVERED
    assert surface.told == [edit_status.partly_delivered(1, 2)]
    assert await edits.ledger() == [("committed", 2, 1, 8546, None)]
    assert await edits.used() == 1


async def test_a_result_nobody_received_is_refunded_and_the_bill_kept(edits):
    surface = InMemorySurface(accepts_images=0)
    assert await edits.run(edits.order(), surface) is Phase.FAILED
    assert surface.told == [edit_status.NOT_DELIVERED]
    assert await edits.ledger() == [("refunded", 1, 0, 4386, "not delivered")]
    assert await edits.used() == 0
    assert await edits.results.get(surface.posts[0].edit_id) is None, "nothing kept for a result nobody has"


async def test_a_second_edit_waits_for_the_members_running_edit_then_runs(service_settings, image_api):
    async with edit_world(service_settings(quota_default_limit=2), image_api) as edits:
        provider_working = image_api.expect(Reply.images(gate="first"))
        first, second = InMemorySurface(name="first"), InMemorySurface(name="second")
        first_task = edits.submit(edits.order(n=2, prompt="one"), first)
        await asyncio.wait_for(provider_working.answered.wait(), 5)
        # The first edit holds the whole quota: the second waits for it instead of failing.
        second_task = edits.submit(edits.order(n=1, prompt="two"), second)
        await second.wait_for_status(edit_status.WAITING_FOR_OWN)
        assert await edits.ledger("status") == [("reserved",)]
        image_api.open_gate("first")
        assert await asyncio.wait_for(first_task, 5) is Phase.DELIVERED
        # Delivered: the quota is used up, so the second edit is refused (told privately).
        assert await asyncio.wait_for(second_task, 5) is Phase.FAILED
        [refusal] = second.told
        assert "used all 2" in refusal
        assert await edits.ledger("status", "images_delivered") == [("committed", 2)]
        assert len(image_api.edits) == 1


async def test_a_waiting_edit_runs_once_the_members_running_edit_is_refunded(service_settings, image_api):
    async with edit_world(service_settings(quota_default_limit=2), image_api) as edits:
        failing = image_api.expect(Reply.error(503, "down", gate="first"))
        first, second = InMemorySurface(name="first"), InMemorySurface(name="second")
        first_task = edits.submit(edits.order(n=2, prompt="one"), first)
        await asyncio.wait_for(failing.answered.wait(), 5)
        second_task = edits.submit(edits.order(n=1, prompt="two"), second)
        waiting = await second.wait_for_status(edit_status.WAITING_FOR_OWN)
        assert waiting == Status(edit_status.WAITING_FOR_OWN)
        image_api.open_gate("first")
        assert await asyncio.wait_for(first_task, 5) is Phase.FAILED
        assert await asyncio.wait_for(second_task, 5) is Phase.DELIVERED
        assert "Quota: 1 of 2 left today" in "\n".join(second.posts[0].summary_lines)
        assert await edits.ledger("status", "images_reserved", "images_delivered") == [("refunded", 2, 0), ("committed", 1, 1)]
