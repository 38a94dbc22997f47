from __future__ import annotations

import pytest
from PIL import Image

from bot.images import can_decode, content_type_for, extension_for, sniff_format
from bot.images.formats import webp_is_lossless

from .helpers import encode, gradient, heic_like

IMG = gradient((20, 10))


@pytest.mark.parametrize(
    ("pil_format", "expected", "params"),
    [
        ("PNG", "png", {}),
        ("JPEG", "jpeg", {}),
        ("WEBP", "webp", {}),
        ("GIF", "gif", {}),
        ("BMP", "bmp", {}),
        ("TIFF", "tiff", {}),
        ("TIFF", "tiff", {"compression": "tiff_lzw"}),
    ],
)
def test_formats_are_recognised_from_bytes(pil_format, expected, params):
    data = encode(IMG, pil_format, **params)
    assert sniff_format(data) == expected
    assert can_decode(expected)


def test_big_endian_tiff():
    # Pillow writes little-endian; flip the byte-order mark of a header-only sample.
    assert sniff_format(b"MM\x00*\x00\x00\x00\x08" + b"\x00" * 16) == "tiff"


@pytest.mark.skipif(not can_decode("avif"), reason="Pillow built without AVIF")
def test_avif_recognised():
    assert sniff_format(encode(IMG, "AVIF")) == "avif"


def test_heic_recognised_but_reported_unsupported_without_plugin():
    assert sniff_format(heic_like()) == "heic"
    assert can_decode("heic") == ("HEIF" in Image.OPEN)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, this is text",
        b"BM but actually a sentence about BMW cars",  # "BM" alone is not enough
        b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2mp41",  # an MP4 video
        bytes(range(256)),
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    ],
)
def test_non_images_are_not_recognised(data):
    assert sniff_format(data) is None


def test_content_types_and_extensions():
    assert content_type_for("png") == "image/png"
    assert content_type_for("jpeg") == "image/jpeg"
    assert content_type_for("webp") == "image/webp"
    assert extension_for("jpeg") == "jpg"
    assert extension_for("png") == "png"
    with pytest.raises(ValueError):
        content_type_for("exe")


def test_webp_lossless_detection():
    assert webp_is_lossless(encode(IMG, "WEBP", lossless=True))
    assert not webp_is_lossless(encode(IMG, "WEBP", quality=80))
    rgba = IMG.convert("RGBA")
    assert not webp_is_lossless(encode(rgba, "WEBP", quality=80))  # VP8X + ALPH + VP8
    assert webp_is_lossless(encode(rgba, "WEBP", lossless=True))
