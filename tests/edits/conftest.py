"""The edit service as the bot builds it, without Discord: the real `EditService` over a
real SQLite database in a temporary folder, its `ReservationKeeper` and commit journal,
and the real `ImageEditClient` talking HTTP to the fake image API on 127.0.0.1. The
member's side is tests/support/surface.py.

    async def test_x(edits):
        surface = InMemorySurface()
        phase = await edits.run(edits.order(n=2), surface)
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import aiohttp
import pytest

from bot.config import Settings
from bot.edits.order import BytesInput, EditOrder, Requester
from bot.edits.reservations import ReservationKeeper
from bot.edits.service import EditService
from bot.edits.state import Phase
from bot.edits.surface import EditSurface
from bot.provider.client import ImageEditClient
from bot.provider.models import load_model_table
from bot.provider.pricing import load_prices
from bot.store import connect
from bot.store.backend import SqliteDatabase
from bot.store.quota import QuotaStore
from bot.store.results import ResultStore
from tests.conftest import make_settings
from tests.fakes.image_api import FakeImageAPI, make_image

GUILD = 4242
MEMBER = 1001
SALT = "service-test-salt"
RUN_SECONDS = 10.0  # the most any one edit of these tests may take


@dataclass
class GatedInput:
    """An input whose download takes as long as the test wants: `read` waits for `release`."""

    data: bytes
    label: str = "image"
    reading: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def declared_size(self) -> int:
        return len(self.data)

    async def read(self) -> bytes:
        self.reading.set()
        await self.released.wait()
        return self.data

    def release(self) -> None:
        self.released.set()


@dataclass
class EditWorld:
    """One bot process's edit service and what it stands on."""

    settings: Settings
    api: FakeImageAPI
    database: SqliteDatabase
    store: QuotaStore
    keeper: ReservationKeeper
    results: ResultStore
    service: EditService
    owner: str

    @property
    def journal(self) -> Path:
        return connect.journal_path(self.settings)

    def order(self, *, member: int = MEMBER, prompt: str = "give the cat a red scarf", image: Any = None, **options: Any) -> EditOrder:
        return EditOrder(
            requester=Requester(user_id=member, guild_id=GUILD, display_name=f"member {member}"),
            prompt=prompt,
            image=image if image is not None else BytesInput(make_image(64, 64)),
            channel_id=77,
            **options,
        )

    def submit(self, order: EditOrder, surface: EditSurface) -> "asyncio.Task[Phase]":
        """Start an edit as an entry point does: its own task."""
        return asyncio.create_task(self.service.submit(order, surface))

    async def run(self, order: EditOrder, surface: EditSurface) -> Phase:
        return await asyncio.wait_for(self.service.submit(order, surface), RUN_SECONDS)

    async def ledger(self, *columns: str) -> list[tuple]:
        """The ledger rows, oldest first (read on a connection of its own, as an auditor would)."""
        names = ", ".join(columns or ("status", "images_reserved", "images_delivered", "total_tokens", "refund_reason"))
        return await asyncio.to_thread(_read_rows, self.settings.database_path, f"SELECT {names} FROM ledger ORDER BY id")

    async def used(self, member: int = MEMBER) -> int:
        return (await self.store.usage_for(GUILD, member, ())).used


def _read_rows(path: Path, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(path, timeout=10)) as db:
        return [tuple(r) for r in db.execute(sql).fetchall()]


@contextlib.asynccontextmanager
async def edit_world(settings: Settings, api: FakeImageAPI, *, owner: str = "test-process") -> AsyncIterator[EditWorld]:
    """Opened like Retouch.open_database + open_edit_service; closed like Retouch.close."""
    database = await connect.open_database(settings)
    assert isinstance(database, SqliteDatabase)
    await connect.migrate(database)
    store = QuotaStore(
        database,
        owner=owner,
        default_limit=settings.quota_default_limit,
        default_period=settings.quota_default_period,  # type: ignore[arg-type]
        global_daily_limit=settings.global_daily_image_limit,
        global_spend_limit_usd=settings.global_spend_limit_usd,
        global_spend_period=settings.global_spend_period,  # type: ignore[arg-type]
        store_prompts=settings.store_prompts,
    )
    keeper = ReservationKeeper(store, stale_after=settings.reservation_ttl_seconds, journal=connect.journal_path(settings))
    await keeper.recover(owner)
    keeper.start()
    session = aiohttp.ClientSession()
    models = load_model_table(settings.image_models_json)
    client = ImageEditClient.from_settings(session, settings, models=models)
    results = ResultStore(
        database,
        settings.database_path.parent / "results",
        retention=timedelta(days=settings.result_retention_days),
        max_bytes=settings.result_storage_mb * 1024 * 1024,
    )
    service = EditService(
        settings=settings,
        store=store,
        client=client,
        models=models,
        prices=load_prices(settings.image_prices_json),
        keeper=keeper,
        salt=SALT,
        results=results,
    )
    world = EditWorld(settings, api, database, store, keeper, results, service, owner)
    try:
        yield world
    finally:
        await asyncio.wait_for(service.drain(), 30)
        await keeper.close()
        await session.close()
        await database.close()


@pytest.fixture
async def image_api() -> AsyncIterator[FakeImageAPI]:
    async with FakeImageAPI() as api:
        yield api


@pytest.fixture
def service_settings(tmp_path: Path, image_api: FakeImageAPI) -> Callable[..., Settings]:
    """Settings of a bot using the fake image API: 10 images a day per member, one attempt
    per provider call unless a test says otherwise."""

    def build(**overrides: object) -> Settings:
        values: dict[str, object] = dict(
            image_api_base_url=image_api.base_url,
            image_api_key=image_api.api_key,
            quota_default_limit=10,
            image_api_max_attempts=1,
        )
        values.update(overrides)
        return make_settings(tmp_path, **values)

    return build


@pytest.fixture
async def edits(service_settings: Callable[..., Settings], image_api: FakeImageAPI) -> AsyncIterator[EditWorld]:
    async with edit_world(service_settings(), image_api) as world:
        yield world
