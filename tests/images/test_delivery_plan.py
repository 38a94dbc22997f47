from __future__ import annotations

import re

import pytest
from PIL import Image

from bot.images import DeliveryError, OutputImage, plan_delivery, plan_delivery_async
from bot.images.delivery_plan import default_margin

from .helpers import decode, encode, gradient, noise

MIB = 1024 * 1024


def small(fmt: str = "PNG", seed: int = 0) -> bytes:
    return encode(gradient((32 + seed, 32)), fmt)


def sized(n_bytes: int, seed: int = 1) -> bytes:
    """A PNG of about `n_bytes` (noise compresses to roughly its raw size)."""
    side = int((n_bytes / 3) ** 0.5)
    return encode(noise((side, side), seed=seed), "PNG", compress_level=1)


def test_several_small_images_go_in_one_message_unchanged():
    datas = [small("PNG"), small("JPEG"), small("WEBP"), small("PNG", 1)]
    messages = plan_delivery([OutputImage(d) for d in datas], limit_bytes=10 * MIB)
    assert len(messages) == 1
    files = messages[0].files
    assert [f.filename for f in files] == ["edit-1.png", "edit-2.jpg", "edit-3.webp", "edit-4.png"]
    assert [f.data for f in files] == datas  # byte-identical
    assert [f.data is d for f, d in zip(files, datas)] == [True] * 4
    assert not any(f.reencoded for f in files)
    assert [f.original_bytes for f in files] == [len(d) for d in datas]
    assert [f.content_type for f in files] == ["image/png", "image/jpeg", "image/webp", "image/png"]
    assert messages[0].total_bytes == sum(map(len, datas))


def test_extension_comes_from_the_bytes_not_the_providers_claim():
    (message,) = plan_delivery([OutputImage(small("JPEG"), format="png")], limit_bytes=10 * MIB)
    assert message.files[0].filename == "edit-1.jpg" and message.files[0].format == "jpeg"


def test_twelve_images_are_split_ten_plus_two_in_order():
    datas = [small("PNG", i) for i in range(12)]
    messages = plan_delivery([OutputImage(d) for d in datas], limit_bytes=10 * MIB)
    assert [len(m.files) for m in messages] == [10, 2]
    flat = [f for m in messages for f in m.files]
    assert [f.filename for f in flat] == [f"edit-{i}.png" for i in range(1, 13)]
    assert [f.data for f in flat] == datas
    assert [f.index for f in flat] == list(range(1, 13))


def test_max_files_is_honoured():
    messages = plan_delivery([OutputImage(small()) for _ in range(5)], limit_bytes=10 * MIB, max_files=2)
    assert [len(m.files) for m in messages] == [2, 2, 1]


def test_bytes_split_messages_greedily_in_order():
    limit = 1 * MIB
    budget = limit - default_margin(limit)
    datas = [sized(int(budget * 0.4), seed=i) for i in range(3)]
    assert all(len(d) < budget * 0.45 for d in datas)
    messages = plan_delivery([OutputImage(d) for d in datas], limit_bytes=limit)
    assert [[f.filename for f in m.files] for m in messages] == [["edit-1.png", "edit-2.png"], ["edit-3.png"]]
    assert all(m.total_bytes <= budget for m in messages)
    assert not any(f.reencoded for m in messages for f in m.files)


def test_safety_margin_is_reserved():
    limit = 10 * MIB
    assert default_margin(limit) == 64 * 1024
    a = b"\x89PNG\r\n\x1a\n" + b"\x00" * (limit // 2 - 8)  # two halves: exactly the limit
    b = b"\x89PNG\r\n\x1a\n" + b"\x01" * (limit // 2 - 8 - 40 * 1024)
    messages = plan_delivery([OutputImage(a), OutputImage(b)], limit_bytes=limit)
    assert len(messages) == 2  # would exceed limit - 64 KiB together
    assert [f.data for m in messages for f in m.files] == [a, b]


def test_too_large_single_image_is_reencoded_to_fit():
    src = noise((700, 700))
    data = encode(src, "PNG")  # ~1.4 MB of noise
    limit = 1 * MIB
    (message,) = plan_delivery([OutputImage(data)], limit_bytes=limit)
    (f,) = message.files
    assert f.reencoded and f.original_bytes == len(data)
    assert f.size <= limit - default_margin(limit)
    assert f.format == "jpeg" and f.filename == "edit-1.jpg"
    im = decode(f.data)
    assert im.size == (700, 700)  # quality went down, not dimensions
    assert re.fullmatch(r"re-encoded as JPEG \(q=\d+\) to fit Discord's 1 MB limit", f.note)


def test_transparent_image_reencoded_keeps_alpha():
    src = noise((600, 600), "RGBA")
    src.paste((0, 0, 0, 0), (0, 0, 100, 100))
    data = encode(src, "PNG")
    limit = 1 * MIB
    (message,) = plan_delivery([OutputImage(data)], limit_bytes=limit)
    (f,) = message.files
    assert f.reencoded and f.format == "webp" and f.filename == "edit-1.webp"
    assert f.size <= limit - default_margin(limit)
    im = decode(f.data)
    assert im.mode == "RGBA" and im.size == (600, 600)
    assert im.getpixel((50, 50))[3] == 0
    assert "WebP" in f.note


def test_lossless_webp_is_tried_first_for_lossless_sources():
    src = gradient((400, 400)).quantize(64).convert("RGB")  # compresses far better as WebP
    data = encode(src, "PNG", compress_level=0)
    limit = len(data) * 3 // 4
    (message,) = plan_delivery([OutputImage(data)], limit_bytes=limit, margin_bytes=0)
    (f,) = message.files
    assert f.format == "webp" and "lossless" in f.note
    assert decode(f.data).convert("RGB").tobytes() == src.tobytes()


def test_downscales_when_quality_alone_is_not_enough():
    data = encode(noise((900, 900)), "PNG")
    (message,) = plan_delivery([OutputImage(data)], limit_bytes=150_000, margin_bytes=0)
    (f,) = message.files
    assert f.size <= 150_000
    im = decode(f.data)
    assert im.size[0] < 900 and im.size[0] == im.size[1]
    assert "downscaled 900×900 →" in f.note


def test_reencoded_image_is_still_grouped_in_order():
    big = encode(noise((700, 700), seed=3), "PNG")
    datas = [small("PNG", 0), big, small("JPEG", 1)]
    messages = plan_delivery([OutputImage(d) for d in datas], limit_bytes=1 * MIB)
    flat = [f for m in messages for f in m.files]
    assert [f.filename for f in flat] == ["edit-1.png", "edit-2.jpg", "edit-3.jpg"]
    assert [f.reencoded for f in flat] == [False, True, False]
    assert flat[0].data == datas[0] and flat[2].data == datas[2]


def test_impossible_fit_raises_instead_of_dropping():
    data = encode(noise((600, 600)), "PNG")
    with pytest.raises(DeliveryError) as info:
        plan_delivery([OutputImage(small()), OutputImage(data)], limit_bytes=5_000, margin_bytes=0)
    assert info.value.index == 2


def test_oversize_garbage_raises_and_small_garbage_is_kept():
    with pytest.raises(DeliveryError):
        plan_delivery([OutputImage(b"\x00" * 5000)], limit_bytes=4000, margin_bytes=0)
    (message,) = plan_delivery([OutputImage(b"???")], limit_bytes=10 * MIB)
    assert message.files[0].filename == "edit-1.bin" and message.files[0].data == b"???"


def test_empty_and_invalid_arguments():
    assert plan_delivery([], limit_bytes=10 * MIB) == []
    with pytest.raises(ValueError):
        plan_delivery([OutputImage(small())], limit_bytes=0)
    with pytest.raises(ValueError):
        plan_delivery([OutputImage(small())], limit_bytes=10 * MIB, max_files=0)


async def test_async_wrapper():
    datas = [small("PNG", i) for i in range(3)]
    messages = await plan_delivery_async((OutputImage(d) for d in datas), limit_bytes=10 * MIB)
    assert [f.data for f in messages[0].files] == datas


def test_everything_delivered_once_in_order_under_random_sizes():
    import random

    rng = random.Random(7)
    datas = [b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(1, 300_000)) for _ in range(25)]
    limit = 1 * MIB
    messages = plan_delivery([OutputImage(d) for d in datas], limit_bytes=limit, max_files=4)
    flat = [f for m in messages for f in m.files]
    assert [f.data for f in flat] == datas
    assert all(len(m.files) <= 4 and m.total_bytes <= limit - default_margin(limit) for m in messages)
    # greedy: no message could have taken the next file
    for m, nxt in zip(messages, messages[1:]):
        assert len(m.files) == 4 or m.total_bytes + nxt.files[0].size > limit - default_margin(limit)


def test_exif_orientation_is_baked_in_when_reencoding():
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(noise((400, 200)), "PNG", exif=exif.tobytes())
    (message,) = plan_delivery([OutputImage(data)], limit_bytes=150_000, margin_bytes=0)
    assert decode(message.files[0].data).size[1] > decode(message.files[0].data).size[0]
