from __future__ import annotations

import pytest
from PIL import Image

from bot.images import (
    PREVIEW_FILENAME,
    parse_region,
    prepare_image,
    prepare_input,
    prepare_region_mask,
    render_mask_preview,
    render_mask_preview_async,
)
from bot.images.mask_preview import PREVIEW_MAX_BYTES

from .helpers import (
    decode,
    encode,
    gradient,
    halves,
    noise,
    painted_area,
    painted_copy,
    photo,
    with_exif_orientation,
)

GREY = (128, 128, 128)


def is_tinted(pixel: tuple[int, int, int], base: tuple[int, int, int]) -> bool:
    """Magenta over the base: red and blue pulled up, green pulled down."""
    r, g, b = pixel
    return r > base[0] + 40 and b > base[2] + 40 and g < base[1] - 30


def close_to(pixel: tuple[int, int, int], base: tuple[int, int, int], tol: int = 12) -> bool:
    return all(abs(p - q) <= tol for p, q in zip(pixel, base, strict=True))


def test_region_preview_tints_inside_and_leaves_outside_alone():
    data = encode(Image.new("RGB", (400, 300), GREY), "PNG")
    inputs = prepare_input(data, region=parse_region("rect:10,20,50,40"))  # x 40..240, y 60..180
    out = render_mask_preview(inputs)
    im = decode(out)
    assert im.format == "JPEG" and im.size == (400, 300) and PREVIEW_FILENAME.endswith(".jpg")
    assert is_tinted(im.getpixel((140, 120)), GREY)  # inside
    for outside in [(10, 10), (300, 120), (140, 250), (20, 120)]:
        assert close_to(im.getpixel(outside), GREY), outside
    # the outline is solid magenta right on the contour
    assert close_to(im.getpixel((40, 120)), (255, 0, 255), tol=40)
    assert close_to(im.getpixel((140, 60)), (255, 0, 255), tol=40)


def test_big_image_is_shown_at_most_1024_px_and_under_2_mb():
    data = encode(noise((2400, 1600)), "PNG")  # incompressible: the worst case for the byte budget
    image = prepare_image(data)
    mask = prepare_region_mask(parse_region("ellipse:25,25,50,50"), image)
    out = render_mask_preview(image, mask)
    im = decode(out)
    assert im.size == (1024, 683) and len(out) < PREVIEW_MAX_BYTES


def test_original_bytes_with_exif_orientation_are_shown_upright():
    # Stored 80×40 red|blue, orientation 6: shown 40×80, red on top.
    data = with_exif_orientation(halves((80, 40)), 6, quality=95)
    image = prepare_image(data)
    mask = prepare_region_mask(parse_region("top"), image)
    im = decode(render_mask_preview(data, mask))
    assert im.size == (40, 80)
    top, bottom = im.getpixel((20, 20)), im.getpixel((20, 60))
    assert top[0] > 200 and top[2] > 90  # red, tinted towards magenta
    assert close_to(bottom, (0, 0, 255), tol=25)  # blue, untouched


def test_preview_of_a_painted_copy_mask():
    src, area = photo((480, 360)), painted_area((480, 360), "blob")
    inputs = prepare_input(encode(src, "PNG"), painted_copy(src, area, scale=1.5))
    assert inputs.mask is not None and inputs.mask.source == "painted"
    im = decode(render_mask_preview(inputs))
    cx, cy = int(480 * 0.375), int(360 * 0.475)  # middle of the painted blob
    assert is_tinted(im.getpixel((cx, cy)), src.getpixel((cx, cy)))
    assert close_to(im.getpixel((440, 20)), src.getpixel((440, 20)), tol=30)


async def test_async_twin_and_errors():
    data = encode(gradient((64, 48)), "PNG")
    inputs = prepare_input(data, region=parse_region("center"))
    out = await render_mask_preview_async(inputs)
    assert decode(out).size == (64, 48)
    with pytest.raises(ValueError):
        render_mask_preview(prepare_input(data))
