"""Fixtures shared by every test: a fake Discord and the real bot connected to it."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import AsyncIterator, Iterable

import pytest

from bot.config import Settings
from bot.discord_app.retouch_bot import Retouch
from tests.fakes.discord_server import FakeDiscord

TEST_TOKEN = "fake-discord-token-0123456789"
TEST_KEY = "sk-test-image-key-0123456789abcdef"


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        undo = fake.patch_discord()
        try:
            yield fake
        finally:
            undo()


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        discord_token=TEST_TOKEN,
        image_api_key=TEST_KEY,
        image_api_base_url="http://127.0.0.1:9/v1",
        database_path=tmp_path / "retouch.db",
        shutdown_grace_seconds=2.0,
    )
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def running_bot(settings: Settings, fake: FakeDiscord, *, extra_extensions: Iterable[str] = ()) -> AsyncIterator[Retouch]:
    """The real bot, connected through the fake gateway, stopped cleanly afterwards."""
    bot = Retouch(settings, extra_extensions=extra_extensions, guild_ready_timeout=0.2)
    task = asyncio.create_task(bot.start(settings.discord_token))
    try:
        waiter = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait({task, waiter}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()
        if waiter not in done:
            raise AssertionError("the bot did not become ready within 15 s")
        yield bot
    finally:
        if not bot.is_closed():
            await asyncio.wait_for(bot.close(), 30)
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 10)
