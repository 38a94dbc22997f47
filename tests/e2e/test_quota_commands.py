"""/quota and /usage through the fake Discord: what moderators and members see, what the database holds."""

from __future__ import annotations

import pytest

from tests.conftest import make_settings, running_bot


@pytest.fixture
async def bot_and_fake(fake_discord, tmp_path):
    fake_discord.mod_role = fake_discord.role("Helpers")
    settings = make_settings(tmp_path, quota_default_limit=10, moderator_role_ids=(fake_discord.mod_role.id,))
    async with running_bot(settings, fake_discord) as bot:
        yield bot, fake_discord


async def test_commands_are_synced_with_moderator_defaults(bot_and_fake):
    bot, fake = bot_and_fake
    names = {c["name"]: c for c in fake.global_commands}
    assert {"quota", "usage"} <= set(names)
    quota = names["quota"]
    assert int(quota["default_member_permissions"]) == 1 << 5  # Manage Server
    subs = {o["name"] for o in quota["options"]}
    assert {"set", "reset", "default", "show", "role", "clear", "report"} <= subs


async def test_moderator_sets_a_limit_and_the_member_sees_it(bot_and_fake):
    bot, fake = bot_and_fake
    mod, alice = fake.moderator(), fake.member("alice")
    rec = await fake.invoke("quota set", by=mod, user=alice, limit=3, period="week")
    reply = await rec.wait_reply()
    assert reply.ephemeral and "3 images per week" in reply.text and "user override" in reply.text
    rec = await fake.invoke("usage", by=alice)
    reply = await rec.wait_reply()
    assert reply.ephemeral
    assert "3 images per week" in reply.text and "Remaining: 3" in reply.text and "<t:" in reply.text
    usage = await bot.store.usage_for(fake.guild.id, alice.id, [])
    assert usage.limit == 3 and usage.period == "week"


async def test_member_without_permission_is_refused_and_nothing_changes(bot_and_fake):
    bot, fake = bot_and_fake
    mallory, alice = fake.member("mallory"), fake.member("alice")
    # Discord would hide the command, but a server admin can override that: we check again.
    rec = await fake.invoke("quota set", by=mallory, user=alice, limit=1000)
    reply = await rec.wait_reply()
    assert reply.ephemeral and "Only moderators" in reply.text
    usage = await bot.store.usage_for(fake.guild.id, alice.id, [])
    assert usage.limit == 10 and usage.rule.value == "bot default"
    rec = await fake.invoke("quota default", by=mallory, limit=0)
    assert "Only moderators" in (await rec.wait_reply()).text
    assert (await bot.store.list_rules(fake.guild.id)).default is None


async def test_configured_moderator_role_may_manage_quotas(bot_and_fake):
    bot, fake = bot_and_fake
    helper = fake.member("helper", roles=[fake.mod_role])
    rec = await fake.invoke("quota default", by=helper, limit=5, period="day")
    reply = await rec.wait_reply()
    assert "5 images per day" in reply.text
    usage = await bot.store.usage_for(fake.guild.id, fake.member("bob").id, [])
    assert usage.limit == 5 and usage.rule.value == "server default"


async def test_role_limits_best_role_wins_and_show_explains(bot_and_fake):
    bot, fake = bot_and_fake
    mod = fake.moderator()
    vip, artist = fake.role("VIP"), fake.role("Artist")
    await (await fake.invoke("quota role", by=mod, role=vip, limit=50)).wait_reply()
    await (await fake.invoke("quota role", by=mod, role=artist, limit=20)).wait_reply()
    carol = fake.member("carol", roles=[vip, artist])
    reply = await (await fake.invoke("quota show", by=mod, user=carol)).wait_reply()
    assert reply.ephemeral
    assert "50 images per day" in reply.text and f"role <@&{vip.id}>" in reply.text

    # an override beats roles; clearing it falls back to the best role
    await (await fake.invoke("quota set", by=mod, user=carol, limit=2)).wait_reply()
    assert (await bot.store.effective_limit(fake.guild.id, carol.id, [vip.id, artist.id])).limit == 2
    reply = await (await fake.invoke("quota clear", by=mod, user=carol)).wait_reply()
    assert "Removed" in reply.text
    assert (await bot.store.effective_limit(fake.guild.id, carol.id, [vip.id, artist.id])).limit == 50


async def test_reset_and_report(bot_and_fake):
    bot, fake = bot_and_fake
    mod, dave = fake.moderator(), fake.member("dave")
    reservation = await bot.store.reserve(fake.guild.id, dave.id, [], 4, model="gpt-image-2")
    await bot.store.commit(reservation.id, 4, input_tokens=100, output_tokens=400, total_tokens=500, cost_usd=0.02)
    reply = await (await fake.invoke("quota report", by=mod)).wait_reply()
    assert f"<@{dave.id}>" in reply.text and "4 images" in reply.text and reply.ephemeral
    reply = await (await fake.invoke("quota reset", by=mod, user=dave)).wait_reply()
    assert "Remaining: 10" in reply.text
    assert (await bot.store.usage_for(fake.guild.id, dave.id, [])).used == 0
    reply = await (await fake.invoke("quota report", by=mod, public=True)).wait_reply()
    assert not reply.ephemeral


async def test_limit_out_of_range_is_typed_by_discord(bot_and_fake):
    bot, fake = bot_and_fake
    quota = next(c for c in fake.global_commands if c["name"] == "quota")
    set_cmd = next(o for o in quota["options"] if o["name"] == "set")
    limit = next(o for o in set_cmd["options"] if o["name"] == "limit")
    assert limit["min_value"] == -1


async def test_role_limit_applies_even_when_the_role_missed_the_bots_cache(bot_and_fake):
    bot, fake = bot_and_fake
    patrons = fake.role("Patrons", announce=False)
    await bot.store.set_role_limit(fake.guild.id, patrons.id, 40, "day")
    member = fake.member("uri", roles=[patrons])
    reply = await (await fake.invoke("usage", by=member)).wait_reply()
    assert "40 images per day" in reply.text and f"role <@&{patrons.id}>" in reply.text


async def test_moderator_can_manage_a_user_who_left_the_server(bot_and_fake):
    bot, fake = bot_and_fake
    mod, gone = fake.moderator(), fake.member("gone")
    gone.left_server = True
    reply = await (await fake.invoke("quota set", by=mod, user=gone, limit=0)).wait_reply()
    assert "blocked" in reply.text
    assert (await bot.store.effective_limit(fake.guild.id, gone.id, [])).limit == 0
    reply = await (await fake.invoke("quota show", by=mod, user=gone)).wait_reply()
    assert "user override" in reply.text


async def test_clear_the_server_default_and_refuse_ambiguous_clears(bot_and_fake):
    bot, fake = bot_and_fake
    mod = fake.moderator()
    await (await fake.invoke("quota default", by=mod, limit=3)).wait_reply()
    reply = await (await fake.invoke("quota clear", by=mod)).wait_reply()
    assert reply.ephemeral and "Pick exactly one" in reply.text
    reply = await (await fake.invoke("quota clear", by=mod, server_default=True)).wait_reply()
    assert "Removed the server default" in reply.text and "10 images per day" in reply.text
    assert (await bot.store.list_rules(fake.guild.id)).default is None
