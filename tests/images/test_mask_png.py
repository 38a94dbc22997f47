from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from bot.images.mask_png import binary_png, coverage_words, encode_mask, pillow_png

from .helpers import decode, noise


def rgba_of(alpha: Image.Image) -> bytes:
    inverse = alpha.point(lambda v: 255 - v)
    return Image.merge("RGBA", (inverse, inverse, inverse, alpha)).tobytes()


@pytest.mark.parametrize("size", [(1, 1), (3, 257), (513, 2), (300, 200)])
def test_binary_png_decodes_to_the_same_pixels_as_pillows_encoder(size):
    alpha = Image.new("L", size, 255)
    ImageDraw.Draw(alpha).ellipse((0, 0, size[0] // 2, size[1] // 2), fill=0)
    soft = noise(size, "L")
    for a in (alpha, soft):
        ours, pillows = decode(binary_png(a)), decode(pillow_png(a, 6))
        assert ours.format == "PNG" and ours.mode == "RGBA" and ours.size == size
        assert ours.tobytes() == pillows.tobytes() == rgba_of(a)


def test_binary_masks_use_the_fast_writer_and_stay_small():
    alpha = Image.new("L", (1024, 768), 255)
    ImageDraw.Draw(alpha).ellipse((100, 100, 700, 600), fill=0)
    data, out, note = encode_mask(alpha, 4_000_000)
    assert data == binary_png(alpha) and out is alpha and note is None
    assert len(data) < 20_000


def test_coverage_words():
    assert coverage_words(0.2) == "20%"
    assert coverage_words(0.123) == "12%"
    assert coverage_words(0.05) == "5%"
    assert coverage_words(0.004) == "0.4%"
    assert coverage_words(0.00001) == "under 0.1%"
    assert coverage_words(0.0) == "0%"
    assert coverage_words(1.0) == "100%"
