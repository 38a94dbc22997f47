"""The moderation client against the fake endpoint (real HTTP): what it sends, how it reads
verdicts, and that every failure is one ModerationUnavailable that never holds the key."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.images.check_copy import check_copy
from bot.provider.moderation import ModerationClient, ModerationUnavailable, read_verdict
from tests.fakes.image_api import Reply, make_image


def client(session, api, **kw) -> ModerationClient:  # type: ignore[no-untyped-def]
    values = dict(base_url=api.base_url, api_key=api.api_key, model="omni-moderation-latest", timeout=2.0)
    values.update(kw)
    return ModerationClient(session, **values)  # type: ignore[arg-type]


async def test_prompt_and_images_one_request_per_image_sent_at_once(session, fake_image_api):
    api = fake_image_api
    api.queue(Reply.moderation(delay=0.3), Reply.moderation({"violence": ["image"]}, delay=0.3), route="moderations")
    jpeg = check_copy(make_image(64, 48))
    loop = asyncio.get_running_loop()
    started = loop.time()
    verdict = await client(session, api).check("a duel", [(jpeg, "image/jpeg"), (jpeg, "image/jpeg")])
    assert loop.time() - started < 0.55, "both requests at once"
    assert verdict.flagged and verdict.categories == ("violence",) and dict(verdict.applied) == {"violence": ("image",)}
    first, second = api.moderations
    assert first.json["input"][0] == {"type": "text", "text": "a duel"}
    assert first.json["input"][1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert [p["type"] for p in second.json["input"]] == ["image_url"]
    assert "user" not in first.json and set(first.json) == {"model", "input"}


async def test_a_prompt_alone_is_a_plain_string(session, fake_image_api):
    verdict = await client(session, fake_image_api).check("a hat")
    assert not verdict.flagged and verdict.categories == ()
    assert fake_image_api.moderations[0].json == {"model": "omni-moderation-latest", "input": "a hat"}


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        (Reply.error(500, "boom"), "server"),
        (Reply.error(429, "slow down", code="rate_limit_exceeded"), "rate_limited"),
        (Reply.hang(), "timeout"),
        (Reply.drop(), "unreachable"),
        (Reply.raw("<html>portal</html>", content_type="text/html"), "missing"),
        (Reply.raw('{"results": []}'), "bad_answer"),
        (Reply.error(404, "Invalid URL (POST /v1/moderations)"), "missing"),
    ],
)
async def test_every_failure_is_unavailable(session, fake_image_api, reply, kind):
    fake_image_api.queue(reply, route="moderations")
    with pytest.raises(ModerationUnavailable) as caught:
        await client(session, fake_image_api, timeout=0.5).check("x")
    assert caught.value.kind == kind


async def test_a_rejected_key_is_never_echoed(session, fake_image_api, caplog):
    wrong = "sk-wrong-moderation-key-0123456789"
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(ModerationUnavailable) as caught:
            await client(session, fake_image_api, api_key=wrong).check("x")
    assert caught.value.kind == "auth" and wrong not in str(caught.value) and wrong not in caplog.text


async def test_an_unknown_model_says_so(session, fake_image_api):
    with pytest.raises(ModerationUnavailable) as caught:
        await client(session, fake_image_api, model="omni-moderation-9000").check("x")
    assert caught.value.kind == "model"


def test_unknown_categories_and_a_bare_flag_count():
    verdict = read_verdict({"results": [{"flagged": True, "categories": {"violence": False, "new/thing": True}}]})
    assert verdict.flagged and verdict.categories == ("new/thing",)
    bare = read_verdict({"results": [{"flagged": True, "categories": {}}]})
    assert bare.flagged and bare.categories == ()


def test_the_check_copy_is_small_upright_and_flat():
    from io import BytesIO

    from PIL import Image

    rgba = Image.new("RGBA", (3000, 1000), (255, 0, 0, 0))
    out = BytesIO()
    rgba.save(out, "PNG")
    copy = Image.open(BytesIO(check_copy(out.getvalue())))
    assert copy.format == "JPEG" and copy.size == (512, 171) and min(copy.getpixel((10, 10))) > 240, "transparent is white"
