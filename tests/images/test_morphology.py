from __future__ import annotations

import random

import pytest
from PIL import Image

from bot.images.morphology import close, dilate, erode, majority


def scattered(size=(41, 29), count=30, seed=3) -> Image.Image:
    rnd = random.Random(seed)
    im = Image.new("L", size, 0)
    for _ in range(count):
        im.putpixel((rnd.randrange(size[0]), rnd.randrange(size[1])), 255)
    return im


def brute_max(im: Image.Image, r: int) -> Image.Image:
    """Max over the (2r+1)² square, clipped to the image: the definition, pixel by pixel."""
    w, h = im.size
    px, out = im.load(), Image.new("L", im.size)
    for y in range(h):
        for x in range(w):
            window = (px[i, j] for j in range(max(0, y - r), min(h, y + r + 1)) for i in range(max(0, x - r), min(w, x + r + 1)))
            out.putpixel((x, y), max(window))
    return out


@pytest.mark.parametrize("radius", [1, 2, 3, 4, 5, 7, 9, 13])
def test_dilate_matches_the_definition_including_at_the_edges(radius):
    im = scattered()
    assert dilate(im, radius).tobytes() == brute_max(im, radius).tobytes()


@pytest.mark.parametrize("radius", [1, 4, 6])
def test_erode_is_the_dual_and_does_not_eat_from_the_image_edge(radius):
    im = scattered()
    inverse = im.point(lambda v: 255 - v)
    assert erode(inverse, radius).tobytes() == brute_max(im, radius).point(lambda v: 255 - v).tobytes()
    full = Image.new("L", (20, 20), 255)
    assert erode(full, radius).tobytes() == full.tobytes()


def test_close_fills_small_holes_and_keeps_the_outline():
    im = Image.new("L", (60, 60), 0)
    im.paste(255, (10, 10, 50, 50))
    im.paste(0, (28, 28, 32, 32))  # a 4×4 hole
    out = close(im, 3)
    assert out.getpixel((30, 30)) == 255
    assert out.getpixel((9, 30)) == 0 and out.getpixel((10, 30)) == 255 and out.getpixel((50, 30)) == 0


def test_majority_drops_speckles_and_thin_lines_but_keeps_strokes():
    im = Image.new("L", (40, 40), 0)
    im.putpixel((5, 5), 255)  # a lone pixel
    im.paste(255, (10, 10, 12, 11))  # a pair
    im.paste(255, (0, 20, 40, 21))  # a one-pixel line
    im.paste(255, (0, 30, 40, 32))  # a two-pixel stroke
    out = majority(im, at_least=4)
    assert out.getpixel((5, 5)) == out.getpixel((10, 10)) == out.getpixel((20, 20)) == 0
    assert out.getpixel((20, 30)) == out.getpixel((20, 31)) == 255
