"""Fixtures shared by every test: a fake Discord and the real bot connected to it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from pathlib import Path
from typing import AsyncIterator, Iterable, Iterator

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


# ----- PostgreSQL ----------------------------------------------------------------------
# Tests that run against PostgreSQL use RETOUCH_TEST_POSTGRES_URL (.ci/run starts a
# throwaway cluster and sets it), or else a cluster this session starts itself from
# Debian's binaries (/usr/lib/postgresql/*/bin). With neither, they FAIL: CI guarantees
# PostgreSQL, and a skipped half of the store's tests would hide a broken backend.

POSTGRES_ENV = "RETOUCH_TEST_POSTGRES_URL"
_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL URL whose user may create databases (one per test)."""
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if url:
        yield url
        return
    from tests.pg_cluster import Cluster, find_bin_dir

    if find_bin_dir() is None:
        pytest.fail(
            f"PostgreSQL is needed for these tests: set {POSTGRES_ENV} to a server's URL, or install Debian's "
            "postgresql package (apt-get install postgresql) so the tests can start a throwaway cluster"
        )
    cluster = Cluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def _run_apart(coro_factory) -> None:  # type: ignore[no-untyped-def]
    """Run a coroutine on a loop of its own in a thread: session fixtures are set up from
    inside a test's running event loop."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(coro_factory())).result(timeout=120)


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


async def _admin(url: str):  # type: ignore[no-untyped-def]
    import asyncpg

    return await asyncpg.connect(url)


@pytest.fixture(scope="session")
def postgres_template(postgres_server: str) -> Iterator[str]:
    """A database migrated to the current schema, copied for each test (CREATE DATABASE
    ... TEMPLATE takes ~25 ms; migrating each one would take longer)."""
    name = f"retouch_template_{os.getpid()}"

    async def create() -> None:
        from bot.store import postgres

        admin = await _admin(postgres_server)
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            await admin.execute(f"CREATE DATABASE {name}")
        finally:
            await admin.close()
        db = await postgres.connect(_with_database(postgres_server, name), min_size=1, max_size=1)
        try:
            await postgres.migrate(db)
        finally:
            await db.close()

    async def drop() -> None:
        admin = await _admin(postgres_server)
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await admin.close()

    _run_apart(create)
    try:
        yield name
    finally:
        _run_apart(drop)


@contextlib.asynccontextmanager
async def fresh_postgres_database(server: str, template: str | None) -> AsyncIterator[str]:
    """A new database (a copy of `template`, or empty), dropped afterwards."""
    name = f"retouch_test_{os.getpid()}_{next(_database_numbers)}"
    admin = await _admin(server)
    try:
        await admin.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    finally:
        await admin.close()
    try:
        yield _with_database(server, name)
    finally:
        admin = await _admin(server)
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await admin.close()


@pytest.fixture
async def postgres_url(postgres_server: str, postgres_template: str) -> AsyncIterator[str]:
    """A fresh database at the current schema, for one test."""
    async with fresh_postgres_database(postgres_server, postgres_template) as url:
        yield url


@pytest.fixture
async def empty_postgres_url(postgres_server: str) -> AsyncIterator[str]:
    """A fresh empty database (no schema), for one test."""
    async with fresh_postgres_database(postgres_server, None) as url:
        yield url


@pytest.fixture
async def fakes():
    """A fake Discord and a fake image API, for a bot run as a real `python -m bot` process."""
    from tests.fakes.discord_server import FakeDiscord
    from tests.fakes.image_api import FakeImageAPI

    async with FakeDiscord() as discord_fake, FakeImageAPI() as api:
        yield discord_fake, api
