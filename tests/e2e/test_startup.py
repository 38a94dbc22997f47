"""The real bot against the fake Discord: connect, sync, answer, stop; and bad settings."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web

from tests.conftest import TEST_KEY, TEST_TOKEN, make_settings, running_bot

ROOT = Path(__file__).resolve().parents[2]


async def test_bot_connects_syncs_and_answers(fake_discord, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    settings = make_settings(tmp_path)
    async with running_bot(settings, fake_discord, extra_extensions=["tests.fakes.echo_cog"]) as bot:
        assert fake_discord.identified.is_set()
        assert ("global", None) in fake_discord.sync_calls
        names = {c["name"] for c in fake_discord.global_commands}
        assert "echo" in names
        member = fake_discord.member("alice")
        rec = await fake_discord.invoke("echo", by=member, text="hello")
        reply = await rec.wait_reply()
        assert reply.content == "echo: hello"
        assert reply.ephemeral
        assert rec.violations == []
    assert bot.is_closed()
    assert bot.http_session.closed
    assert any("Retouch ready" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        text = record.getMessage()
        assert TEST_TOKEN not in text and TEST_KEY not in text


async def test_restart_does_not_resync_unchanged_commands(fake_discord, tmp_path):
    settings = make_settings(tmp_path)
    async with running_bot(settings, fake_discord):
        pass
    assert fake_discord.sync_calls == [("global", None)]
    async with running_bot(settings, fake_discord):
        pass
    assert fake_discord.sync_calls == [("global", None)], "an unchanged command set must not be re-synced"


async def test_dev_guild_syncs_instantly_every_start(fake_discord, tmp_path):
    settings = make_settings(tmp_path, dev_guild_id=fake_discord.guild.id)
    async with running_bot(settings, fake_discord, extra_extensions=["tests.fakes.echo_cog"]):
        pass
    assert fake_discord.sync_calls == [("guild", fake_discord.guild.id)]
    assert fake_discord.guild_commands[fake_discord.guild.id]


def _run_module(env_overrides: dict[str, str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "IMAGE_API_KEY")}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=60,
    )


def test_missing_token_is_one_clear_line(tmp_path):
    result = _run_module({"IMAGE_API_KEY": TEST_KEY}, tmp_path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "DISCORD_TOKEN" in lines[0]
    assert "Traceback" not in result.stderr
    assert TEST_KEY not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "env, name",
    [
        ({"IMAGE_API_TIMEOUT": "soon"}, "IMAGE_API_TIMEOUT"),
        ({"QUOTA_DEFAULT_PERIOD": "year"}, "QUOTA_DEFAULT_PERIOD"),
        ({"QUOTA_DEFAULT_LIMIT": "ten"}, "QUOTA_DEFAULT_LIMIT"),
        ({"IMAGE_API_BASE_URL": "api.example.com"}, "IMAGE_API_BASE_URL"),
        ({"IMAGE_API_KEY": ""}, "IMAGE_API_KEY"),
        ({"DISCORD_TOKEN": "Bot abc def"}, "DISCORD_TOKEN"),
        ({"IMAGE_MODELS_JSON": '{"my-model": {"max_n": "many"}}'}, "IMAGE_MODELS_JSON"),
        ({"IMAGE_PRICES_JSON": "{not json"}, "IMAGE_PRICES_JSON"),
        ({"MAX_CONCURRENT_EDITS": "0"}, "MAX_CONCURRENT_EDITS"),
    ],
)
def test_bad_setting_is_one_clear_line(tmp_path, env, name):
    base = {"DISCORD_TOKEN": TEST_TOKEN, "IMAGE_API_KEY": TEST_KEY}
    base.update(env)
    result = _run_module(base, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert TEST_TOKEN not in result.stderr and TEST_KEY not in result.stderr


def test_dotenv_file_is_read(tmp_path):
    (tmp_path / ".env").write_text(f"IMAGE_API_KEY={TEST_KEY}\nQUOTA_DEFAULT_PERIOD=fortnight\n")
    result = _run_module({"DISCORD_TOKEN": TEST_TOKEN}, tmp_path)
    assert result.returncode == 2 and "QUOTA_DEFAULT_PERIOD" in result.stderr


async def test_failed_command_sync_does_not_stop_the_bot(fake_discord, tmp_path, caplog):
    original = fake_discord._commands

    async def refuse(request, guild_id):
        return web.json_response({"code": 0, "message": "Internal Server Error"}, status=400)

    fake_discord._commands = refuse
    async with running_bot(make_settings(tmp_path), fake_discord, extra_extensions=["tests.fakes.echo_cog"]) as bot:
        assert any("could not sync application commands" in r.getMessage() for r in caplog.records)
        assert "FAILED" in bot.sync_summary
    fake_discord._commands = original


async def test_the_bot_runs_every_shard_discord_asks_for(tmp_path):
    from tests.fakes.discord_server import FakeAttachment, FakeDiscord
    from tests.fakes.image_api import FakeImageAPI, make_image

    async with FakeDiscord(shard_count=3, guild_shard=2) as fake, FakeImageAPI() as api:
        undo = fake.patch_discord()
        try:
            settings = make_settings(tmp_path, image_api_base_url=api.base_url, image_api_key=api.api_key)
            async with running_bot(settings, fake) as bot:
                assert sorted(s for s, _ in fake.identifies) == [0, 1, 2] and {c for _, c in fake.identifies} == {3}
                assert sorted(bot.shards) == [0, 1, 2]
                rec = await fake.invoke("edit", by=fake.member("sharded"), image=FakeAttachment.image(make_image(32, 32)), prompt="x")
                reply = await rec.wait_result()
                assert reply.files, "the guild's events arrive on its own shard and are answered"
        finally:
            undo()


async def test_shard_settings_split_shards_and_are_checked(tmp_path):
    from bot.config import ConfigError, load_settings

    base = {"DISCORD_TOKEN": "t", "IMAGE_API_KEY": "k"}
    settings = load_settings({**base, "SHARD_COUNT": "4", "SHARD_IDS": "2, 3"}, env_file=None)
    assert settings.shard_count == 4 and settings.shard_ids == (2, 3)
    for bad, words in (({"SHARD_IDS": "0,1"}, "needs SHARD_COUNT"), ({"SHARD_COUNT": "2", "SHARD_IDS": "1,2"}, "below SHARD_COUNT"),
                       ({"SHARD_COUNT": "0"}, "SHARD_COUNT")):
        try:
            load_settings({**base, **bad}, env_file=None)
        except ConfigError as exc:
            assert words in str(exc)
        else:
            raise AssertionError(f"{bad} was accepted")
