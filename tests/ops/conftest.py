"""Fixtures shared by the ops tests."""

from __future__ import annotations

import pytest

from tests.conftest import TEST_KEY
from tests.fakes.image_api import FakeImageAPI


@pytest.fixture
async def models_api():
    """A fake image API answering `GET /models` (and edits) with the tests' key."""
    async with FakeImageAPI(api_key=TEST_KEY) as api:
        yield api
