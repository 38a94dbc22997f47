"""Fixtures of the end-to-end tests: the fake image API, and settings pointing at it."""

from __future__ import annotations

from typing import AsyncIterator, Callable

import pytest

from bot.config import Settings
from tests.conftest import make_settings
from tests.fakes.image_api import FakeImageAPI


@pytest.fixture
async def image_api() -> AsyncIterator[FakeImageAPI]:
    async with FakeImageAPI() as api:
        yield api


@pytest.fixture
def settings_for(tmp_path, image_api: FakeImageAPI) -> Callable[..., Settings]:
    """Settings for a bot using the fake image API (10 images per member unless overridden)."""

    def build(**overrides: object) -> Settings:
        values: dict[str, object] = dict(image_api_base_url=image_api.base_url, image_api_key=image_api.api_key, quota_default_limit=10)
        values.update(overrides)
        return make_settings(tmp_path, **values)

    return build
