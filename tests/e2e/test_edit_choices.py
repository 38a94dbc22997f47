"""Every entry point offers what the one order builder says, through the fake Discord: the
server's models with its default preselected, that model's sizes, where to edit (region
presets, a custom area, the mask preview)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.conftest import running_bot
from tests.fakes.discord_server import FakeAttachment
from tests.fakes.image_api import make_image

GPT_IMAGE_1_SIZES = ["auto", "1024x1024", "1536x1024", "1024x1536"]


@pytest.fixture
async def bot(fake_discord, settings_for):
    async with running_bot(settings_for(), fake_discord) as bot:
        yield bot


async def allow_models(fake, allowed: str) -> None:
    rec = await fake.invoke("settings models", by=fake.moderator(), allowed=allowed)
    reply = await rec.wait_result()
    assert reply.ephemeral and rec.violations == []


async def open_edit_image(fake, member, picture: bytes):
    post = fake.post_message(member, attachments=[FakeAttachment.image(picture, "photo.png")])
    rec = await fake.invoke_message_command("Edit image", by=member, message=post)
    modal = await rec.wait_modal()
    assert rec.violations == []
    return rec, modal


def field(modal, custom_id: str) -> dict:
    return next(c["component"] for c in modal["components"] if c["component"]["custom_id"] == custom_id)


def options(select: dict) -> list[tuple[str, bool]]:
    return [(o["value"], bool(o.get("default"))) for o in select["options"]]


def alpha(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as im:
        return im.convert("RGBA").getchannel("A")


def sent_mask(image_api) -> Image.Image:
    [sent] = image_api.edits
    return alpha(next(p for p in sent.files if p.field == "mask").data)


def custom_ids(message) -> list[str]:
    return [c["custom_id"] for row in message.components for c in row.get("components", []) if "custom_id" in c]


@pytest.mark.parametrize(
    ("allowed", "offered"),
    [
        ("gpt-image-1", [("gpt-image-1", True)]),  # only a model other than IMAGE_MODEL (gpt-image-2)
        ("gpt-image-1-mini, gpt-image-1", [("gpt-image-1-mini", True), ("gpt-image-1", False)]),
    ],
)
async def test_apps_menu_offers_the_servers_models_and_runs_its_default_when_left_alone(
    bot, fake_discord, image_api, allowed, offered
):
    await allow_models(fake_discord, allowed)
    member = fake_discord.member("alice")
    rec, modal = await open_edit_image(fake_discord, member, make_image(48, 48, fill="noise", seed=2))
    assert options(field(modal, "model")) == offered, "the server's models, its default preselected"
    size = field(modal, "size")
    assert [value for value, _ in options(size)] == GPT_IMAGE_1_SIZES, "the default model's sizes, not gpt-image-2's"
    submit = await fake_discord.submit_modal(rec, values={"prompt": "add a hat"}, by=member)  # model and size left alone
    result = await submit.wait_result()
    assert submit.violations == [] and not result.ephemeral and result.files
    [sent] = image_api.edits
    assert sent.fields["model"] == [offered[0][0]] and "size" not in sent.fields


async def test_size_autocomplete_starts_from_the_servers_default_model(bot, fake_discord):
    member = fake_discord.member("bob")
    bots_default = [c["value"] for c in await fake_discord.autocomplete("edit", by=member, focused="size", size="")]
    assert "2048x2048" in bots_default, "gpt-image-2 (IMAGE_MODEL) takes free sizes"
    await allow_models(fake_discord, "gpt-image-1")
    choices = await fake_discord.autocomplete("edit", by=member, focused="size", size="")
    assert [c["value"] for c in choices] == GPT_IMAGE_1_SIZES
    typed = await fake_discord.autocomplete("edit", by=member, focused="size", size="", model="dall-e-2")
    assert [c["value"] for c in typed] == ["256x256", "512x512", "1024x1024"], "a model typed first decides"


async def test_apps_menu_region_preset_builds_the_mask_sent_upstream(bot, fake_discord, image_api):
    member = fake_discord.member("carol")
    rec, modal = await open_edit_image(fake_discord, member, make_image(96, 48))
    assert [c["component"]["custom_id"] for c in modal["components"]] == ["prompt", "mask", "where", "model", "size"]
    where = field(modal, "where")
    assert [value for value, _ in options(where)] == ["top", "bottom", "left", "right", "center", "border", "preview"]
    submit = await fake_discord.submit_modal(rec, values={"prompt": "a starry sky", "where": ["top"]}, by=member)
    result = await submit.wait_result()
    assert not result.ephemeral and result.files
    mask = sent_mask(image_api)
    assert mask.getpixel((48, 5)) == 0 and mask.getpixel((48, 40)) == 255, "the top half is edited, the rest kept"


async def test_apps_menu_mask_preview_asks_before_anything_is_reserved(bot, fake_discord, image_api):
    member = fake_discord.member("dana")
    rec, _ = await open_edit_image(fake_discord, member, make_image(64, 64))
    submit = await fake_discord.submit_modal(rec, values={"prompt": "a moon", "where": ["center", "preview"]}, by=member)
    question = await submit.wait_reply()
    assert question.ephemeral and submit.ack_type == 4 and "tinted area" in question.text
    assert image_api.edits == []
    assert (await bot.store.usage_for(fake_discord.guild.id, member.id, [])).used == 0, "nothing reserved before Confirm"
    confirm = next(i for i in custom_ids(question) if i.startswith("retouch:confirm:"))
    result = await (await fake_discord.click(question, confirm, by=member)).wait_result()
    assert not result.ephemeral and result.files
    mask = sent_mask(image_api)
    assert mask.getpixel((32, 32)) == 0 and mask.getpixel((3, 3)) == 255


async def test_two_regions_at_once_are_refused_privately(bot, fake_discord, image_api):
    member = fake_discord.member("erin")
    rec, _ = await open_edit_image(fake_discord, member, make_image(64, 64))
    submit = await fake_discord.submit_modal(rec, values={"prompt": "x", "where": ["top", "left"]}, by=member)
    reply = await submit.wait_result()
    assert reply.ephemeral and submit.ack_type == 4
    assert "Choose one place to edit" in reply.text and "`top`" in reply.text and "`left`" in reply.text
    assert image_api.edits == []


async def test_edit_again_takes_a_custom_area_and_shows_the_mask_first(bot, fake_discord, image_api):
    member = fake_discord.member("fay")
    rec = await fake_discord.invoke("edit", by=member, image=FakeAttachment.image(make_image(96, 64)), prompt="a boat")
    first = await rec.wait_result()
    again = next(i for i in custom_ids(first) if i.startswith("retouch:again:"))
    click = await fake_discord.click(first, again, by=member)
    modal = await click.wait_modal()
    assert [c["component"]["custom_id"] for c in modal["components"]] == ["prompt", "mask", "where", "region"]
    submit = await fake_discord.submit_modal(
        click, values={"prompt": "a moon", "where": ["preview"], "region": "rect:50,0,50,50"}, by=member
    )
    question = await submit.wait_reply()
    assert question.ephemeral and "region rect 50,0,50,50" in question.text
    assert len(image_api.edits) == 1, "only the first edit went upstream before Confirm"
    confirm = next(i for i in custom_ids(question) if i.startswith("retouch:confirm:"))
    result = await (await fake_discord.click(question, confirm, by=member)).wait_result()
    assert not result.ephemeral and result.files
    sent = image_api.edits[-1]
    mask = alpha(next(p for p in sent.files if p.field == "mask").data)
    width, height = mask.size
    assert mask.getpixel((width * 3 // 4, height // 4)) == 0 and mask.getpixel((width // 4, height * 3 // 4)) == 255
