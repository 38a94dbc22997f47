"""Asking the member first (an estimate above CONFIRM_COST_ABOVE_USD, a mask preview):
nothing is reserved or sent until Confirm; Cancel or no answer in time changes nothing."""

from __future__ import annotations

import asyncio

import pytest

from bot.edits.service import Phase
from bot.images.mask_preview import PREVIEW_FILENAME
from bot.text import edit_status, spend_messages
from tests.edits.conftest import edit_world
from tests.support.surface import InMemorySurface

ASK_ABOVE_USD = 0.001  # every priced edit is above it


@pytest.fixture
async def asking(service_settings, image_api):
    async with edit_world(service_settings(confirm_cost_above_usd=ASK_ABOVE_USD), image_api) as edits:
        yield edits


async def test_a_question_nobody_answers_times_out_and_reserves_nothing(asking, monkeypatch):
    # The Discord view waits CONFIRM_TIMEOUT_SECONDS (5 minutes); the question carries it.
    monkeypatch.setattr("bot.edits.confirmation.CONFIRM_TIMEOUT_SECONDS", 0.2)
    surface = InMemorySurface()
    task = asking.submit(asking.order(n=2), surface)
    question = await surface.wait_question()
    assert question.request.timeout_seconds == 0.2
    assert question.request.title == "This edit is estimated at $0.38"
    assert await asking.ledger() == [], "nothing is held while the member decides"
    ended = await surface.wait_question_ended(timeout=5)
    assert (ended.outcome, ended.shown_after) == ("timed out", spend_messages.not_confirmed(0))
    assert await asyncio.wait_for(task, 5) is Phase.CANCELLED
    assert surface.acknowledgements == 0 and surface.posts == [] and surface.told == []
    assert await asking.ledger() == [] and asking.api.edits == []


async def test_cancel_reserves_nothing(asking):
    surface = InMemorySurface()
    task = asking.submit(asking.order(), surface)
    await surface.wait_question()
    surface.answer(confirm=False)
    assert await asyncio.wait_for(task, 5) is Phase.CANCELLED
    assert surface.questions[0].shown_after == "Cancelled — nothing was reserved."
    assert await asking.ledger() == [] and asking.api.edits == []


async def test_confirm_runs_the_edit_where_the_member_answered(asking):
    asked, answered = InMemorySurface(name="asked"), InMemorySurface(name="answered")
    task = asking.submit(asking.order(n=2), asked)
    await asked.wait_question()
    asking_ledger = await asking.ledger()
    asked.answer(confirm=True, continue_on=answered)
    assert await asyncio.wait_for(task, 10) is Phase.DELIVERED
    assert asking_ledger == []
    assert asked.posts == [] and len(answered.posts) == 1, "the result is posted where Confirm was pressed"
    assert await asking.ledger() == [("committed", 2, 2, 8546, None)]


async def test_a_mask_preview_shows_the_mask_and_runs_only_after_confirm(edits):
    surface = InMemorySurface()
    task = edits.submit(edits.order(region="top", mask_preview=True), surface)
    question = await surface.wait_question()
    assert question.request.title == edit_status.MASK_PREVIEW_TITLE
    assert question.request.image_filename == PREVIEW_FILENAME
    assert question.request.image is not None and question.request.image.startswith(b"\xff\xd8"), "a JPEG of the image, mask tinted"
    assert edits.api.edits == [] and await edits.ledger() == []
    surface.answer(confirm=True)
    assert await asyncio.wait_for(task, 10) is Phase.DELIVERED
    [sent] = edits.api.edits
    assert [f.field for f in sent.files] == ["image", "mask"]
    assert await edits.ledger("status") == [("committed",)]
