from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.provider import ImageEditClient, load_model_table
from tests.fakes.image_api import FakeImageAPI, fake_image_api, make_image  # noqa: F401


@pytest.fixture
def png() -> bytes:
    return make_image(32, 32)


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


class SleepRecorder:
    """Injected instead of asyncio.sleep: records each backoff, waits for nothing."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def make_client(
    session: aiohttp.ClientSession, fake_image_api: FakeImageAPI, sleeps: SleepRecorder
) -> Callable[..., ImageEditClient]:
    def factory(**overrides: Any) -> ImageEditClient:
        options: dict[str, Any] = {
            "base_url": fake_image_api.base_url,
            "api_key": fake_image_api.api_key,
            "models": load_model_table(),
            "timeout": 10,
            "sleep": sleeps,
        }
        options.update(overrides)
        return ImageEditClient(session, **options)

    return factory


@pytest.fixture
def client(make_client: Callable[..., ImageEditClient]) -> ImageEditClient:
    return make_client()
