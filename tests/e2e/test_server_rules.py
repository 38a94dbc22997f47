"""A server's own rules on /edit: refused privately before anything is reserved or sent."""

from __future__ import annotations

import pytest

from tests.conftest import running_bot
from tests.fakes.discord_server import FakeAttachment
from tests.support.images import png
from tests.support.ledger import ledger


@pytest.fixture
async def bot(fake_discord, settings_for):
    async with running_bot(settings_for(), fake_discord) as bot:
        yield bot


async def settings(fake, name: str, **options) -> str:
    rec = await fake.invoke(f"settings {name}", by=fake.moderator(), **options)
    reply = await rec.wait_result()
    assert reply.ephemeral and rec.violations == []
    return reply.text


async def edit(fake, member, prompt: str = "x", **options):
    rec = await fake.invoke("edit", by=member, image=FakeAttachment.image(png()), prompt=prompt, **options)
    return rec, await rec.wait_result()


async def assert_refused_before_anything(rec, reply, bot, image_api) -> None:
    assert reply.ephemeral and rec.ack_type == 4, "a private first reply"
    assert image_api.edits == [] and await ledger(bot) == []


async def test_model_not_allowed_and_the_servers_default_model(bot, fake_discord, image_api):
    text = await settings(fake_discord, "models", allowed="gpt-image-1-mini, GPT-IMAGE-1")
    assert "`gpt-image-1-mini`, `gpt-image-1`" in text and "use `gpt-image-1-mini` here" in text
    member = fake_discord.member("alice")
    rec, reply = await edit(fake_discord, member, model="gpt-image-2")
    assert "doesn't allow `gpt-image-2`" in reply.text and "`gpt-image-1-mini`, `gpt-image-1`" in reply.text
    await assert_refused_before_anything(rec, reply, bot, image_api)
    # Autocomplete offers only what the server allows, its default first.
    choices = await fake_discord.autocomplete("edit", by=member, focused="model", model="")
    assert [c["value"] for c in choices] == ["gpt-image-1-mini", "gpt-image-1"]
    assert choices[0]["name"] == "gpt-image-1-mini (default)"
    # Without a model the edit runs on the server's default, not the bot's.
    _, reply = await edit(fake_discord, member)
    assert not reply.ephemeral and image_api.edits[0].fields["model"] == ["gpt-image-1-mini"]
    # `all` (or no value) allows every model again.
    text = await settings(fake_discord, "models", allowed="all")
    assert "every model" in text
    _, reply = await edit(fake_discord, member, model="gpt-image-2")
    assert not reply.ephemeral


async def test_unknown_model_names_are_refused_naming_what_is_accepted(bot, fake_discord):
    rec = await fake_discord.invoke("settings models", by=fake_discord.moderator(), allowed="gpt-image-2, dall-e-9")
    reply = await rec.wait_result()
    assert reply.ephemeral and "Unknown model `dall-e-9`" in reply.text and "`gpt-image-1-mini`" in reply.text and "`all`" in reply.text
    assert (await bot.server_settings.get(fake_discord.guild.id)).allowed_models == ()


async def test_too_many_images(bot, fake_discord, image_api):
    text = await settings(fake_discord, "max-images", n=2)
    assert "at most 2 images" in text
    rec, reply = await edit(fake_discord, fake_discord.member("bob"), n=3)
    assert "at most 2 images per edit" in reply.text and "Set `n` to 2" in reply.text
    await assert_refused_before_anything(rec, reply, bot, image_api)
    _, reply = await edit(fake_discord, fake_discord.member("bob"), n=2)
    assert len(reply.files) == 2


@pytest.mark.parametrize(
    ("prompt", "word"),
    [
        ("add a DRAGON over the castle", "dragon"),
        ("a red   panda in the snow", "Red Panda"),  # a phrase
        ("ein Straße-Schild, kein CAFE", "café"),  # accents and case folded
        ("нарисуй ДУРАКА", None),  # a longer word: not blocked
        ("нарисуй, дурак", "дурак"),  # a Cyrillic word
        ("dragonfly over the pond", None),  # a word inside a longer word
    ],
)
async def test_blocked_words(bot, fake_discord, image_api, prompt, word):
    await settings(fake_discord, "blocked-words add", words="dragon, Red Panda, café, дурак")
    rec, reply = await edit(fake_discord, fake_discord.member("carol"), prompt=prompt)
    if word is None:
        assert not reply.ephemeral and reply.files
        return
    assert f"contains “{word}”" in reply.text and "blocked" in reply.text
    assert prompt not in reply.text, "the refusal names the word, not the whole prompt"
    await assert_refused_before_anything(rec, reply, bot, image_api)


@pytest.mark.parametrize(
    ("prompt", "refused"),
    [
        ("a dr\u0430gon", True),  # a Cyrillic а
        ("ᴅʀᴀɢᴏɴ", True),  # small capitals
        ("drag\u3164on", True),  # a Hangul filler
        ("d\u20ddragon", True),  # an enclosing mark
        ("dragon_", True),
        ("a red_panda", True),
        ("a dragonfly", False),
    ],
)
async def test_bot_wide_blocked_words_hold_in_a_server_and_in_dms(fake_discord, settings_for, image_api, prompt, refused):
    settings = settings_for(blocked_words=("dragon", "red panda"), allow_dms=True)
    async with running_bot(settings, fake_discord) as bot:
        member = fake_discord.member("mallory")
        for dm in (False, True):
            rec = await fake_discord.invoke("edit", by=member, dm=dm, image=FakeAttachment.image(png()), prompt=prompt)
            reply = await rec.wait_result()
            if refused:
                assert reply.ephemeral and "blocked" in reply.text, (dm, reply.text)
                await assert_refused_before_anything(rec, reply, bot, image_api)
            else:
                assert not reply.ephemeral and reply.files, (dm, reply.text)


async def test_commands_are_offered_to_server_installs_only(fake_discord, settings_for):
    async with running_bot(settings_for(allow_dms=True), fake_discord):
        synced = fake_discord.global_commands
        assert {c["name"] for c in synced} >= {"edit", "usage", "quota", "settings", "Edit image"}
        # 0 = GUILD_INSTALL; 1 (USER_INSTALL) would let /edit run in servers that never added the bot.
        assert {c["name"]: c.get("integration_types") for c in synced} == {c["name"]: [0] for c in synced}
