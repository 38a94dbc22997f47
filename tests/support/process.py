"""`python -m bot` as a child process pointed at the fakes.

discord.py in the child is pointed at the fake Discord by a sitecustomize module, the way
any test harness would do it; production code paths are untouched. The child never sees
a Retouch setting the developer happens to have exported (a DATABASE_URL pointing at
their own PostgreSQL, a QUOTA_DEFAULT_LIMIT): only the ones the test gives.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from bot.config import settings_table
from tests.conftest import TEST_TOKEN
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.image_api import FakeImageAPI

ROOT = Path(__file__).resolve().parents[2]

SITECUSTOMIZE = """
import os, yarl, discord.http, discord.gateway
discord.http.Route.BASE = os.environ["TEST_DISCORD_API"]
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["TEST_DISCORD_GATEWAY"])
"""


def without_settings(environ: dict[str, str] | None = None) -> dict[str, str]:
    """`environ` (default: this process's) without any variable Retouch reads as a setting."""
    names = {name for name, _, _ in settings_table()}
    return {k: v for k, v in (os.environ if environ is None else environ).items() if k not in names}


def bot_environment(folder: Path, discord_fake: FakeDiscord, api: FakeImageAPI, **settings: str) -> dict[str, str]:
    """The environment of a bot child process using the fakes, with exactly `settings`."""
    site = folder / "site"
    site.mkdir(parents=True, exist_ok=True)
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = without_settings()
    env.update(
        PYTHONPATH=f"{site}{os.pathsep}{ROOT}",
        TEST_DISCORD_API=discord_fake.api_base,
        TEST_DISCORD_GATEWAY=discord_fake.gateway_url,
        DISCORD_TOKEN=TEST_TOKEN,
        IMAGE_API_KEY=api.api_key,
        IMAGE_API_BASE_URL=api.base_url,
        **settings,
    )
    return env


async def start_bot(tmp_path: Path, discord_fake: FakeDiscord, api: FakeImageAPI, **extra: str) -> asyncio.subprocess.Process:
    env = bot_environment(
        tmp_path, discord_fake, api, DATABASE_PATH=str(tmp_path / "retouch.db"), SHUTDOWN_GRACE_SECONDS="1", **extra
    )
    discord_fake.ready_sent.clear()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    await asyncio.wait_for(discord_fake.ready_sent.wait(), 30)
    # Commands are synced in setup_hook, before the gateway connects: READY means they are there.
    assert any(c["name"] == "edit" for c in discord_fake.global_commands)
    return proc
