"""Per-server settings: stored atomically, cached, and read back after a restart."""

from __future__ import annotations

import asyncio

import pytest

from bot.store.backend import Database
from bot.store.server_settings import (
    MAX_BLOCKED_WORDS,
    BlockedWord,
    ServerSettings,
    ServerSettingsStore,
    TooManyBlockedWords,
)
from tests.store.conftest import GUILD, ManualClock, Target


@pytest.fixture
def settings(db: Database, clock: ManualClock) -> ServerSettingsStore:
    return ServerSettingsStore(db, clock=clock)


def words(*texts: str) -> list[BlockedWord]:
    return [BlockedWord(t.lower(), t) for t in texts]


async def test_defaults_then_every_setting_survives_a_new_connection(settings: ServerSettingsStore, target: Target) -> None:
    assert await settings.get(GUILD) == ServerSettings(GUILD)
    await settings.set_log_channel(GUILD, 42)
    await settings.set_allowed_models(GUILD, ["gpt-image-1", "gpt-image-2", "gpt-image-1"])
    await settings.set_max_images(GUILD, 3)
    assert [w.word for w in await settings.add_blocked_words(GUILD, words("Dragon", "red panda"), added_by=7)] == ["Dragon", "red panda"]
    conn = await target.connect()
    try:
        fresh = await ServerSettingsStore(conn).get(GUILD)
    finally:
        await conn.close()
    assert fresh == ServerSettings(GUILD, 42, ("gpt-image-1", "gpt-image-2"), 3, (BlockedWord("dragon", "Dragon"), BlockedWord("red panda", "red panda")))
    assert fresh == await settings.get(GUILD)
    # Other servers are untouched; clearing goes back to the defaults.
    assert await settings.get(GUILD + 1) == ServerSettings(GUILD + 1)
    await settings.set_log_channel(GUILD, None)
    await settings.set_allowed_models(GUILD, [])
    await settings.set_max_images(GUILD, None)
    assert (await settings.get(GUILD)).log_channel_id is None
    assert (await settings.get(GUILD)).allowed_models == ()


async def test_blocked_words_add_and_remove_by_their_key(settings: ServerSettingsStore) -> None:
    await settings.add_blocked_words(GUILD, words("dragon"))
    assert await settings.add_blocked_words(GUILD, [BlockedWord("dragon", "DRAGON")]) == []  # already there
    removed = await settings.remove_blocked_words(GUILD, ["dragon", "unicorn"])
    assert removed == [BlockedWord("dragon", "dragon")]
    assert (await settings.get(GUILD)).blocked_words == ()


async def test_the_list_is_capped_even_when_two_moderators_add_at_once(settings: ServerSettingsStore) -> None:
    await settings.add_blocked_words(GUILD, [BlockedWord(f"w{i}", f"w{i}") for i in range(MAX_BLOCKED_WORDS - 10)])
    batches = [[BlockedWord(f"{m}-{i}", f"{m}-{i}") for i in range(8)] for m in ("a", "b")]
    results = await asyncio.gather(*(settings.add_blocked_words(GUILD, b) for b in batches), return_exceptions=True)
    assert sum(isinstance(r, TooManyBlockedWords) for r in results) == 1
    assert len((await settings.get(GUILD)).blocked_words) == MAX_BLOCKED_WORDS - 2
    # Re-adding words that are already there is not "too many".
    assert await settings.add_blocked_words(GUILD, [BlockedWord("w1", "w1")]) == []


async def test_bad_max_images_is_refused(settings: ServerSettingsStore) -> None:
    for bad in (0, 11, True):
        with pytest.raises(ValueError):
            await settings.set_max_images(GUILD, bad)  # type: ignore[arg-type]
