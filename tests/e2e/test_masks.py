"""Masks without an image editor, through the fake Discord: regions, painted copies."""

from __future__ import annotations

import io
import sqlite3

import pytest
from PIL import Image, ImageDraw

from tests.conftest import make_settings, running_bot
from tests.fakes.discord_server import FakeAttachment
from tests.fakes.image_api import make_image
from tests.support.polling import eventually


@pytest.fixture
def settings(tmp_path, image_api):
    return make_settings(tmp_path, image_api_base_url=image_api.base_url, image_api_key=image_api.api_key)


def alpha(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as im:
        return im.convert("RGBA").getchannel("A")


def ledger(path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT status FROM ledger").fetchall()


@pytest.mark.parametrize(
    "region, size, inside, outside",
    [
        ("top", (96, 48), (48, 5), (48, 40)),
        ("left", (40, 120), (5, 60), (35, 60)),
        ("center", (64, 64), (32, 32), (3, 3)),
        ("border", (96, 48), (1, 1), (48, 24)),
        ("rect:10,20,50,40", (100, 50), (20, 15), (90, 45)),
        ("ellipse:0,0,100,100", (80, 80), (40, 40), (1, 1)),
    ],
)
async def test_region_builds_the_mask_sent_upstream(fake_discord, settings, image_api, region, size, inside, outside):
    async with running_bot(settings, fake_discord):
        rec = await fake_discord.invoke(
            "edit", by=fake_discord.member("painter"), image=FakeAttachment.image(make_image(*size)), prompt="sky", region=region
        )
        reply = await rec.wait_result()
        assert reply.files and not reply.ephemeral
        mask = next(p for p in image_api.edits[0].files if p.field == "mask")
        a = alpha(mask.data)
        assert a.size == size
        assert a.getpixel(inside) == 0 and a.getpixel(outside) == 255
        assert "region" in reply.text  # the summary says where the mask came from


async def test_a_malformed_region_is_refused_with_an_example_before_anything_is_reserved(fake_discord, settings, image_api):
    async with running_bot(settings, fake_discord):
        rec = await fake_discord.invoke("edit", by=fake_discord.member("typo"), image=FakeAttachment.image(make_image(64, 64)), prompt="x", region="rect:10,20,50")
        reply = await rec.wait_result()
        assert reply.ephemeral and rec.ack_type == 4 and "rect:10,20,50,40" in reply.text
        assert image_api.edits == [] and ledger(settings.database_path) == []


async def test_region_and_mask_together_are_refused(fake_discord, settings, image_api):
    async with running_bot(settings, fake_discord):
        image = make_image(64, 64)
        rec = await fake_discord.invoke(
            "edit", by=fake_discord.member("both"), image=FakeAttachment.image(image), mask=FakeAttachment.image(image), prompt="x", region="top"
        )
        reply = await rec.wait_result()
        assert reply.ephemeral and "not both" in reply.text
        assert image_api.edits == [] and ledger(settings.database_path) == []


async def test_region_autocomplete_offers_presets_and_accepts_a_custom_area(fake_discord, settings, image_api):
    async with running_bot(settings, fake_discord):
        member = fake_discord.member("auto")
        choices = await fake_discord.autocomplete("edit", by=member, focused="region", region="")
        assert [c["value"] for c in choices][:6] == ["top", "bottom", "left", "right", "center", "border"]
        typed = await fake_discord.autocomplete("edit", by=member, focused="region", region="ellipse:10,10,30,30")
        assert typed[0]["value"] == "ellipse:10,10,30,30"


async def test_a_painted_copy_works_as_mask(fake_discord, settings, image_api):
    source = make_image(120, 80, fill="noise", seed=4)
    with Image.open(io.BytesIO(source)) as im:
        painted = im.convert("RGB")
    ImageDraw.Draw(painted).ellipse((20, 10, 70, 60), fill=(255, 0, 200))
    buf = io.BytesIO()
    painted.save(buf, "JPEG", quality=70)
    async with running_bot(settings, fake_discord):
        rec = await fake_discord.invoke(
            "edit", by=fake_discord.member("phone"), image=FakeAttachment.image(source), mask=FakeAttachment.image(buf.getvalue(), "copy.jpg", "image/jpeg"), prompt="a moon"
        )
        reply = await rec.wait_result()
        assert reply.files and "derived from your painted copy" in reply.text
        a = alpha(next(p for p in image_api.edits[0].files if p.field == "mask").data)
        assert a.getpixel((45, 35)) == 0 and a.getpixel((110, 75)) == 255


def gradient(size, horizontal: bool, colour: tuple[int, int, int]) -> bytes:
    im = Image.new("RGB", size)
    for x in range(size[0]):
        for y in range(size[1]):
            t = (x / size[0]) if horizontal else (y / size[1])
            im.putpixel((x, y), tuple(int(c * t) for c in colour))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


async def test_a_different_photo_as_mask_is_refused_privately(fake_discord, settings, image_api):
    async with running_bot(settings, fake_discord):
        rec = await fake_discord.invoke(
            "edit", by=fake_discord.member("mixup"), image=FakeAttachment.image(gradient((96, 64), True, (250, 120, 20))),
            mask=FakeAttachment.image(gradient((96, 64), False, (20, 80, 250))), prompt="x",
        )
        reply = await rec.wait_result()
        assert reply.ephemeral and "painted copy" in reply.text
        assert image_api.edits == [] and ledger(settings.database_path) == []


def custom_ids(message) -> list[str]:
    return [c["custom_id"] for row in message.components for c in row.get("components", []) if "custom_id" in c]


async def test_mask_preview_shows_the_mask_and_reserves_nothing_until_confirm(fake_discord, settings, image_api):
    member = fake_discord.member("careful")
    async with running_bot(settings, fake_discord):
        rec = await fake_discord.invoke(
            "edit", by=member, image=FakeAttachment.image(make_image(96, 64)), prompt="a moon", region="rect:50,0,50,50", mask_preview=True
        )
        question = await rec.wait_reply()
        assert question.ephemeral and rec.ack_type == 4
        assert [f.filename for f in question.files] == ["mask-preview.jpg"] or any(
            "mask-preview.jpg" in (e.get("image") or {}).get("url", "") for e in question.embeds
        )
        assert "tinted area" in question.text and "region rect 50,0,50,50" in question.text
        assert image_api.edits == [] and ledger(settings.database_path) == [], "nothing reserved before Confirm"
        confirm = next(i for i in custom_ids(question) if i.startswith("retouch:confirm:"))
        click = await fake_discord.click(question, confirm, by=member)
        result = await click.wait_result(timeout=20)
        assert not result.ephemeral and result.files
        a = alpha(next(p for p in image_api.edits[0].files if p.field == "mask").data)
        assert a.getpixel((80, 10)) == 0 and a.getpixel((10, 50)) == 255
        await eventually(lambda: ledger(settings.database_path) == [("committed",)])


async def test_mask_preview_cancel_changes_nothing(fake_discord, settings, image_api):
    member = fake_discord.member("unsure")
    source = make_image(120, 80, fill="noise", seed=4)
    with Image.open(io.BytesIO(source)) as im:
        painted = im.convert("RGB")
    ImageDraw.Draw(painted).rectangle((10, 10, 50, 50), fill=(0, 255, 0))
    buf = io.BytesIO()
    painted.save(buf, "PNG")
    async with running_bot(settings, fake_discord):
        rec = await fake_discord.invoke(
            "edit", by=member, image=FakeAttachment.image(source), mask=FakeAttachment.image(buf.getvalue(), "copy.png"), prompt="x", mask_preview=True
        )
        question = await rec.wait_reply()
        assert question.ephemeral and "painted copy" in question.text
        decline = next(i for i in custom_ids(question) if i.startswith("retouch:decline:"))
        updated = await (await fake_discord.click(question, decline, by=member)).wait_update()
        assert "nothing was reserved" in updated.content
        assert image_api.edits == [] and ledger(settings.database_path) == []


async def test_mask_preview_without_a_mask_is_refused(fake_discord, settings, image_api):
    async with running_bot(settings, fake_discord):
        rec = await fake_discord.invoke("edit", by=fake_discord.member("x"), image=FakeAttachment.image(make_image(32, 32)), prompt="x", mask_preview=True)
        reply = await rec.wait_result()
        assert reply.ephemeral and "add a `mask` or a `region`" in reply.text
        assert image_api.edits == []
