"""Binary morphology on mode-L images (255 = set), built from Pillow's C operations.

Pillow's `MaxFilter`/`MinFilter` cost O(k²) per pixel (a 15×15 max on 512×512 takes ~0.3 s).
A square max is separable and a max over a window can be grown by shifting: max(m, m
shifted ±s) widens the window by s on each side while s <= its width. Windows therefore
grow ~3× per step, so a radius of 13 takes 3 steps of 4 whole-image operations each,
whatever the radius, and each operation is a plain C loop (no per-pixel Python).

Outside the image counts as "not set" when dilating and as "set" when eroding, so closing
a shape that touches the edge does not eat into it from the edge.
"""

from __future__ import annotations

from PIL import Image, ImageChops, ImageFilter


def _shifted(im: Image.Image, dx: int, dy: int) -> Image.Image:
    """`im` moved by (dx, dy); uncovered pixels are 0 (Pillow pads crops with black)."""
    w, h = im.size
    return im.crop((-dx, -dy, w - dx, h - dy))


def _grow_axis(im: Image.Image, radius: int, horizontal: bool) -> Image.Image:
    reach = 0
    while reach < radius:
        step = min(2 * reach + 1, radius - reach)
        dx, dy = (step, 0) if horizontal else (0, step)
        im = ImageChops.lighter(im, ImageChops.lighter(_shifted(im, dx, dy), _shifted(im, -dx, -dy)))
        reach += step
    return im


def dilate(im: Image.Image, radius: int) -> Image.Image:
    """Max over a (2r+1)² square: set pixels grow by `radius` in every direction."""
    if radius <= 0:
        return im
    # Work on a copy padded by `radius`: growing by shifts needs each window whole, and a
    # window cut by the image edge would leave gaps next to shapes that touch it.
    w, h = im.size
    padded = im.crop((-radius, -radius, w + radius, h + radius))
    grown = _grow_axis(_grow_axis(padded, radius, True), radius, False)
    return grown.crop((radius, radius, w + radius, h + radius))


def erode(im: Image.Image, radius: int) -> Image.Image:
    """Min over a (2r+1)² square: set areas shrink by `radius` (not from the image edge)."""
    if radius <= 0:
        return im
    return ImageChops.invert(dilate(ImageChops.invert(im), radius))


def close(im: Image.Image, radius: int) -> Image.Image:
    """Fill holes and gaps narrower than about 2×radius, without growing the outline."""
    return erode(dilate(im, radius), radius)


def majority(im: Image.Image, at_least: int) -> Image.Image:
    """Keep a pixel when at least `at_least` of the 9 in its 3×3 neighbourhood are set.

    `at_least=4` drops isolated pixels, pairs and one-pixel-wide lines while keeping
    anything two pixels wide: a speckle filter that spares thin brush strokes.
    """
    counted = im.filter(ImageFilter.BoxBlur(1))  # 255 × (set pixels / 9), rounded
    cut = round(255 * (at_least - 0.5) / 9)
    return counted.point(lambda v: 255 if v >= cut else 0)
