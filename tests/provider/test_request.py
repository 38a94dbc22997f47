"""Validation (nothing sent on a mistake) and the multipart body, compared with the SDK's."""

import pytest
from openai import AsyncOpenAI

from bot.provider import (
    EditRequest,
    InvalidRequest,
    load_model_table,
    opaque_user_id,
    validate,
)
from tests.fakes.image_api import make_image

TABLE = load_model_table()
PNG = make_image(32, 32)
JPEG = make_image(32, 32, fmt="jpeg")
WEBP = make_image(32, 32, fmt="webp")


def check(model="gpt-image-2", **fields):
    fields.setdefault("prompt", "add a hat")
    fields.setdefault("images", [PNG])
    return validate(EditRequest(model=model, **fields), TABLE.get(model))


def refused(field, fragment, model="gpt-image-2", **fields):
    with pytest.raises(InvalidRequest) as info:
        check(model, **fields)
    assert info.value.field == field
    assert fragment in info.value.user_message
    return info.value


def test_prompt_limits_name_the_limit():
    refused("prompt", "empty", prompt="   ")
    err = refused("prompt", "at most 32,000", prompt="x" * 32_001)
    assert "32,001" in str(err)
    refused("prompt", "at most 1,000", model="dall-e-2", prompt="x" * 1001)
    refused("prompt", "at most 800", model="qwen-image-edit", prompt="x" * 801)
    check(prompt="x" * 32_000)


def test_image_count_format_and_size():
    refused("image", "Attach an image", images=[])
    refused("image", "at most 16 images", images=[PNG] * 17)
    refused("image", "at most 1 image ", model="dall-e-2", images=[PNG, PNG])
    refused("image", "at most 3 images", model="qwen-image-edit", images=[PNG] * 4)
    refused("image", "Image 2 is not a PNG, JPEG or WebP", images=[PNG, b"GIF89a......"])
    refused("image", "not a PNG file", model="dall-e-2", images=[JPEG])
    big = PNG + b"\0" * (25 * 1024 * 1024)
    refused("image", "accepts files up to 25.0 MB", images=[big])
    refused("image", "square image", model="dall-e-2", images=[make_image(64, 32)])
    check(images=[PNG, JPEG, WEBP])


def test_mask_rules():
    refused("mask", "must be a PNG", mask=JPEG)
    refused("mask", "masks up to 4.0 MB", mask=PNG + b"\0" * (4 * 1024 * 1024))
    refused("mask", "does not accept a mask", model="qwen-image-edit", mask=PNG)
    assert check(mask=PNG).mask == PNG


def test_n_range():
    refused("n", "between 1 and 10", n=11)
    refused("n", "between 1 and 10", n=0)
    refused("n", "1 image per edit", model="qwen-image-edit", n=2)
    assert check(n=10).n == 10


@pytest.mark.parametrize(
    "size, fragment",
    [
        ("1000x1000", "multiples of 16"),
        ("3840x2160", "under 3840"),
        ("2400x784", "3 times"),
        ("768x768", "between 655,360 and 8,294,400"),
        ("big", "WIDTHxHEIGHT"),
    ],
)
def test_gpt_image_2_size_rules(size, fragment):
    refused("size", fragment, size=size)


def test_sizes_accepted():
    for size in ["auto", "1024x1024", "1536x1024", "1024x1536", "2048x1152", "3824x2144"]:
        assert check(size=size).size == size
    assert check(size="1536X1024").size == "1536x1024"
    refused("size", "use auto, 1024x1024, 1536x1024 or 1024x1536", model="gpt-image-1",
            size="2048x2048")
    refused("size", "256x256", model="dall-e-2", size="1536x1024")
    assert check("some-custom-model", size="77x99").size == "77x99"  # provider decides


def test_choices_and_combinations():
    refused("quality", "use auto, low, medium or high", quality="ultra")
    refused("output_format", "use png, jpeg or webp", output_format="gif")
    refused("background", "use auto or opaque", background="transparent")
    refused("background", "needs PNG or WebP", model="gpt-image-1", background="transparent",
            output_format="jpeg")
    refused("output_compression", "only applies to JPEG or WebP", output_compression=50)
    refused("output_compression", "between 0 and 100", output_format="jpeg",
            output_compression=101)
    refused("input_fidelity", "does not accept input_fidelity", input_fidelity="high")
    refused("response_format", "does not accept response_format", response_format="url")
    refused("quality", "does not accept quality", model="qwen-image-edit", quality="high")
    ok = check(output_format="webp", output_compression=0)
    assert ok.output_compression == 0
    assert check("gpt-image-1", input_fidelity="high").input_fidelity == "high"
    assert check("dall-e-2", response_format="b64_json", size="512x512").response_format == "b64_json"


def test_defaulted_fields_are_dropped_not_refused():
    request = check(
        response_format="b64_json", input_fidelity="high", output_format="jpeg",
        background="transparent", quality="ultra",
        defaulted={"response_format", "input_fidelity", "output_format", "quality", "background"},
    )
    assert request.response_format is None and request.input_fidelity is None
    assert request.quality is None and request.background is None
    assert request.output_format == "jpeg"
    # a member's explicit transparent + a default jpeg: the default gives way
    request = check("gpt-image-1", background="transparent", output_format="jpeg",
                    defaulted={"output_format"})
    assert request.background == "transparent" and request.output_format is None


def test_user_is_dropped_silently_when_unsupported():
    spec_json = '{"no-user": {"base": "gpt-image-1", "supports": ["n", "size"]}}'
    table = load_model_table(spec_json)
    request = validate(EditRequest(prompt="p", images=[PNG], model="no-user", user="abc"),
                       table.get("no-user"))
    assert request.user is None


def test_streaming_rules():
    refused("n", "use n=1", stream=True, n=2)
    refused("partial_images", "needs streaming", partial_images=2)
    refused("partial_images", "between 0 and 3", stream=True, partial_images=4)
    refused("stream", "does not accept streaming", model="dall-e-2", stream=True)
    request = check(stream=True, partial_images=0)
    assert request.stream and request.partial_images == 0


def test_repr_does_not_dump_image_bytes():
    text = repr(EditRequest(prompt="p", images=[PNG * 1000], mask=PNG, n=2))
    assert "bytes" not in text and "\\x" not in text and len(text) < 200


def test_opaque_user_id_is_stable_salted_and_not_the_id():
    a = opaque_user_id(123456789012345678, "salt-1")
    assert a == opaque_user_id(123456789012345678, "salt-1")
    assert a != opaque_user_id(123456789012345678, "salt-2")
    assert "123456789012345678" not in a and len(a) == 32


# --- over HTTP ----------------------------------------------------------------------------


async def test_invalid_request_sends_nothing(client, fake_image_api):
    with pytest.raises(InvalidRequest):
        await client.edit(EditRequest(prompt="p", images=[PNG], n=11))
    with pytest.raises(InvalidRequest):
        await client.edit(EditRequest(prompt="x" * 40_000, images=[PNG]))
    assert fake_image_api.requests == []


def wire(recorded):
    return (recorded.parts, recorded.fields, recorded.part_headers,
            [(f.field, f.filename, f.content_type, f.data) for f in recorded.files])


async def test_multipart_matches_the_official_sdk_with_every_field(client, fake_image_api):
    fields = dict(
        prompt="add a red ribbon", model="gpt-image-1", n=2, size="1536x1024",
        quality="high", output_format="webp", output_compression=80, background="opaque",
        input_fidelity="high", user="u-1",
    )
    await client.edit(EditRequest(images=[PNG, JPEG], mask=PNG, **fields))
    ours = fake_image_api.edits[-1]

    sdk = AsyncOpenAI(base_url=fake_image_api.base_url, api_key=fake_image_api.api_key,
                      max_retries=0)
    await sdk.images.edit(
        image=[("image.png", PNG, "image/png"), ("image-2.jpg", JPEG, "image/jpeg")],
        mask=("mask.png", PNG, "image/png"), **fields,
    )
    await sdk.close()
    theirs = fake_image_api.edits[-1]
    assert wire(ours) == wire(theirs)
    assert ours.parts[-3:] == [("image[]", True), ("image[]", True), ("mask", True)]
    assert ours.fields["output_compression"] == ["80"]
    assert ours.headers["Authorization"] == f"Bearer {fake_image_api.api_key}"


async def test_one_image_uses_the_plain_image_field(client, fake_image_api):
    await client.edit(EditRequest(prompt="p", images=[WEBP]))
    recorded = fake_image_api.edits[-1]
    assert [(f.field, f.filename, f.content_type) for f in recorded.files] == [
        ("image", "image.webp", "image/webp")
    ]
    # unset fields are not sent; model and n always are
    assert recorded.fields == {"prompt": ["p"], "model": ["gpt-image-2"], "n": ["1"]}


async def test_streaming_flags_are_sent_as_sdk_booleans(client, fake_image_api):
    from tests.fakes.image_api import Reply

    fake_image_api.queue(Reply.stream(1))
    await client.edit(EditRequest(prompt="p", images=[PNG], stream=True, partial_images=1))
    recorded = fake_image_api.edits[-1]
    assert recorded.fields["stream"] == ["true"] and recorded.fields["partial_images"] == ["1"]


async def test_fields_the_model_never_accepts_are_not_sent(client, fake_image_api):
    await client.edit(EditRequest(
        prompt="p", images=[PNG], model="gpt-image-2", response_format="b64_json",
        input_fidelity="high", defaulted={"response_format", "input_fidelity"},
    ))
    await client.edit(EditRequest(prompt="p", images=[PNG], model="qwen-image-edit",
                                  output_format="png", defaulted={"output_format"}))
    first, second = fake_image_api.edits
    assert "response_format" not in first.fields and "input_fidelity" not in first.fields
    assert "output_format" not in second.fields and second.fields["model"] == ["qwen-image-edit"]
