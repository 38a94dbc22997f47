"""/settings through the fake Discord: every subcommand, who may use it, what the database holds."""

from __future__ import annotations

import sqlite3

import pytest

from tests.conftest import make_settings, running_bot

SUBCOMMANDS = {
    "log-channel": {},
    "show": {},
    "models": {"allowed": "gpt-image-1"},
    "max-images": {"n": 1},
    "blocked-words add": {"words": "dragon"},
    "blocked-words remove": {"words": "unicorn"},
    "blocked-words list": {},
}


@pytest.fixture
def settings_for(fake_discord, tmp_path):
    fake_discord.mod_role = fake_discord.role("Helpers")

    def build(**overrides):
        return make_settings(tmp_path, moderator_role_ids=(fake_discord.mod_role.id,), **overrides)

    return build


@pytest.fixture
async def bot(fake_discord, settings_for):
    async with running_bot(settings_for(), fake_discord) as bot:
        yield bot


def rows(bot, sql: str) -> list[tuple]:
    with sqlite3.connect(bot.settings.database_path) as db:
        return db.execute(sql).fetchall()


async def run(fake, name: str, by=None, **options):
    rec = await fake.invoke(f"settings {name}", by=by or fake.moderator(), **options)
    reply = await rec.wait_result()
    assert rec.violations == [] and reply.ephemeral, "every answer to a moderator is private"
    return reply


async def test_the_command_group_is_for_moderators_in_servers(bot, fake_discord):
    settings = next(c for c in fake_discord.global_commands if c["name"] == "settings")
    assert int(settings["default_member_permissions"]) == 1 << 5  # Manage Server
    assert settings["contexts"] == [0]  # servers only
    subs = {o["name"]: o for o in settings["options"]}
    assert set(subs) == {"log-channel", "show", "models", "max-images", "blocked-words", "safety"}
    assert {o["name"] for o in subs["blocked-words"]["options"]} == {"add", "remove", "list"}
    channel = subs["log-channel"]["options"][0]
    assert (channel["name"], channel["type"], channel.get("required", False)) == ("channel", 7, False)
    n = subs["max-images"]["options"][0]
    assert (n["name"], n["min_value"], n["max_value"]) == ("n", 1, 10)
    assert subs["models"]["options"][0]["name"] == "allowed"


async def test_every_subcommand(bot, fake_discord):
    guild = fake_discord.guild.id
    log = fake_discord.text_channel("mod-log")

    reply = await run(fake_discord, "log-channel", channel=log)
    assert f"<#{log.id}>" in reply.text and "⚠️" not in reply.text
    [hello] = [m for m in fake_discord.channel_messages if m.channel_id == log.id]
    assert "Retouch will log every edit" in hello.text
    assert rows(bot, f"SELECT log_channel_id FROM server_settings WHERE guild_id = {guild}") == [(log.id,)]

    reply = await run(fake_discord, "models", allowed="gpt-image-2, gpt-image-1-mini")
    assert "only `gpt-image-2`, `gpt-image-1-mini`" in reply.text
    reply = await run(fake_discord, "max-images", n=4)
    assert "at most 4 images" in reply.text
    reply = await run(fake_discord, "blocked-words add", words="Dragon, red  panda, dragon")
    assert "Blocked: “Dragon”, “red panda”." in reply.text
    reply = await run(fake_discord, "blocked-words add", words="DRAGON, unicorn")
    assert "Blocked: “unicorn”" in reply.text and "Already blocked: “DRAGON”" in reply.text
    reply = await run(fake_discord, "blocked-words remove", words="unicorn, griffin")
    assert "No longer blocked: “unicorn”" in reply.text and "Not on the list: “griffin”" in reply.text
    reply = await run(fake_discord, "blocked-words list")
    assert "||Dragon||" in reply.text and "||red panda||" in reply.text and "unicorn" not in reply.text

    reply = await run(fake_discord, "show")
    text = reply.text
    for expected in (
        f"**Log channel:** <#{log.id}>",
        "only `gpt-image-2`, `gpt-image-1-mini` — default `gpt-image-2`",
        "**Max images per edit:** 4",
        "**Blocked words:** 2",
        "**Spend budget:** none",
        "**Default model:** `gpt-image-2`",
        "**Bot default quota:** 10 images per day",
        "**Cost confirmation:** off",
        f"<@&{fake_discord.mod_role.id}>",
    ):
        assert expected in text, (expected, text)

    reply = await run(fake_discord, "log-channel")  # no channel: off
    assert "turned off" in reply.text
    reply = await run(fake_discord, "models")  # no value: every model
    assert "every model" in reply.text
    assert rows(bot, f"SELECT log_channel_id, allowed_models, max_images FROM server_settings WHERE guild_id = {guild}") == [(None, None, 4)]


async def test_bad_values_are_refused_privately_naming_what_is_accepted(bot, fake_discord):
    reply = await run(fake_discord, "blocked-words add", words=" , ,")
    assert "separated by commas" in reply.text
    reply = await run(fake_discord, "blocked-words add", words="x" * 101)
    assert "longer than 100 characters" in reply.text
    reply = await run(fake_discord, "models", allowed="flux-pro")
    assert "Unknown model `flux-pro`" in reply.text and "`all`" in reply.text
    assert rows(bot, "SELECT COUNT(*) FROM blocked_words") == [(0,)]
    assert rows(bot, "SELECT COUNT(*) FROM server_settings") == [(0,)]


async def test_a_member_without_permission_is_refused_for_every_subcommand(bot, fake_discord):
    mallory = fake_discord.member("mallory")
    channel = fake_discord.text_channel("elsewhere")
    for name, options in SUBCOMMANDS.items():
        if name == "log-channel":
            options = {"channel": channel}
        reply = await run(fake_discord, name, by=mallory, **options)
        assert "Only moderators" in reply.text, name
    assert rows(bot, "SELECT COUNT(*) FROM server_settings") == [(0,)]
    assert rows(bot, "SELECT COUNT(*) FROM blocked_words") == [(0,)]
    assert [m for m in fake_discord.channel_messages if m.channel_id == channel.id] == []


async def test_moderator_role_and_administrators_may_change_settings(bot, fake_discord):
    helper = fake_discord.member("helper", roles=[fake_discord.mod_role])
    reply = await run(fake_discord, "max-images", by=helper, n=3)
    assert "at most 3 images" in reply.text
    reply = await run(fake_discord, "max-images", by=fake_discord.owner, n=5)
    assert "at most 5 images" in reply.text


async def test_settings_survive_a_restart(fake_discord, settings_for):
    log = fake_discord.text_channel("mod-log")
    async with running_bot(settings_for(), fake_discord) as bot:
        await run(fake_discord, "log-channel", channel=log)
        await run(fake_discord, "models", allowed="gpt-image-1")
        await run(fake_discord, "max-images", n=2)
        await run(fake_discord, "blocked-words add", words="dragon, ωμέγα")
        before = await bot.server_settings.get(fake_discord.guild.id)
    async with running_bot(settings_for(), fake_discord) as bot:
        after = await bot.server_settings.get(fake_discord.guild.id)
        reply = await run(fake_discord, "show")
    assert after == before
    assert f"<#{log.id}>" in reply.text and "only `gpt-image-1`" in reply.text and "**Max images per edit:** 2" in reply.text
    assert "**Blocked words:** 2" in reply.text


async def test_models_autocomplete_completes_the_last_name_of_the_list(bot, fake_discord):
    mod = fake_discord.moderator()
    offered = bot.edits.allowed_models()
    choices = await fake_discord.autocomplete("settings models", by=mod, focused="allowed", allowed="")
    assert [c["value"] for c in choices] == ["all", *offered]
    assert choices[0]["name"] == "all (every model)"
    choices = await fake_discord.autocomplete("settings models", by=mod, focused="allowed", allowed="gpt-image-2, MINI")
    assert [(c["name"], c["value"]) for c in choices] == [("gpt-image-2, gpt-image-1-mini", "gpt-image-2, gpt-image-1-mini")]
    choices = await fake_discord.autocomplete("settings models", by=mod, focused="allowed", allowed="gpt-image-2,")
    assert [c["value"] for c in choices] == [f"gpt-image-2, {m}" for m in offered if m != "gpt-image-2"]
