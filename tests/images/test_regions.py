from __future__ import annotations

import pytest
from PIL import Image, ImageChops

from bot.images import (
    REGION_EXAMPLE,
    REGION_PRESETS,
    ImageLimits,
    PreparedMask,
    Region,
    RegionError,
    parse_region,
    prepare_image,
    prepare_input,
    prepare_input_async,
    prepare_region_mask,
    region_mask,
)

from .helpers import decode, encode, gradient, halves, with_exif_orientation

SIZES = [(64, 64), (96, 48), (40, 120)]


def alpha_of(mask: PreparedMask) -> Image.Image:
    im = decode(mask.data)
    assert im.format == "PNG" and im.mode == "RGBA" and im.size == mask.size
    return im.getchannel("A")


def at(alpha: Image.Image, fx: float, fy: float) -> int:
    """Alpha at a point given as a fraction of the width and height."""
    w, h = alpha.size
    return alpha.getpixel((min(w - 1, int(fx * w)), min(h - 1, int(fy * h))))


# (preset, points inside, points outside, share of the image)
PRESET_CASES = [
    ("top", [(0.5, 0.02), (0.02, 0.45), (0.98, 0.3)], [(0.5, 0.55), (0.5, 0.98)], 0.5),
    ("bottom", [(0.5, 0.55), (0.02, 0.98)], [(0.5, 0.45), (0.5, 0.02)], 0.5),
    ("left", [(0.02, 0.5), (0.45, 0.02), (0.3, 0.98)], [(0.55, 0.5), (0.98, 0.5)], 0.5),
    ("right", [(0.55, 0.5), (0.98, 0.98)], [(0.45, 0.5), (0.02, 0.5)], 0.5),
    ("center", [(0.5, 0.5), (0.27, 0.27), (0.72, 0.72)], [(0.2, 0.5), (0.5, 0.2), (0.8, 0.5), (0.5, 0.8), (0.02, 0.02)], 0.25),
]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("name", "inside", "outside", "share"), PRESET_CASES, ids=[c[0] for c in PRESET_CASES])
def test_presets(size, name, inside, outside, share):
    region = parse_region(name)
    assert region.preset == name and region.spec == name
    mask = prepare_region_mask(region, size)
    a = alpha_of(mask)
    assert set(a.tobytes()) == {0, 255}
    for point in inside:
        assert at(a, *point) == 0, (name, point)
    for point in outside:
        assert at(a, *point) == 255, (name, point)
    assert mask.edit_fraction == pytest.approx(share, abs=0.02)
    assert mask.source == "region" and mask.size == size and mask.filename == "mask.png"


@pytest.mark.parametrize("size", SIZES)
def test_border_is_a_frame_of_even_thickness(size):
    a = alpha_of(prepare_region_mask(parse_region("border"), size))
    w, h = size
    t = round(min(w, h) * 0.10)  # 10% of the shorter side
    for x, y in [(0, 0), (w - 1, h - 1), (w // 2, 0), (w // 2, t - 1), (0, h // 2), (t - 1, h // 2), (w - t, h // 2), (w // 2, h - t)]:
        assert a.getpixel((x, y)) == 0, (x, y)
    for x, y in [(w // 2, h // 2), (t, t), (w - t - 1, h - t - 1), (w // 2, t), (t, h // 2)]:
        assert a.getpixel((x, y)) == 255, (x, y)


def test_halves_split_an_odd_size_without_gap_or_overlap():
    size = (33, 61)
    top, bottom = region_mask(parse_region("top"), size), region_mask(parse_region("bottom"), size)
    left, right = region_mask(parse_region("left"), size), region_mask(parse_region("right"), size)
    for a, b in ((top, bottom), (left, right)):
        # alpha 0 = edit: exactly one of the two edits every pixel
        assert ImageChops.add(a, b).histogram()[255] == size[0] * size[1]


@pytest.mark.parametrize("size", SIZES)
def test_custom_rect(size):
    region = parse_region("rect:10,20,50,40")
    assert region == Region("rect", 10, 20, 50, 40) and not region.clipped
    a = alpha_of(prepare_region_mask(region, size))
    for point in [(0.12, 0.22), (0.58, 0.58), (0.35, 0.4)]:
        assert at(a, *point) == 0, point
    for point in [(0.07, 0.4), (0.63, 0.4), (0.35, 0.17), (0.35, 0.63), (0.9, 0.9)]:
        assert at(a, *point) == 255, point


@pytest.mark.parametrize("size", SIZES)
def test_custom_ellipse(size):
    a = alpha_of(prepare_region_mask(parse_region("ellipse:10,20,50,40"), size))
    # centre and near the middle of each side of its box: inside
    for point in [(0.35, 0.4), (0.14, 0.4), (0.56, 0.4), (0.35, 0.24), (0.35, 0.56)]:
        assert at(a, *point) == 0, point
    # the corners of its box: outside the ellipse; and well outside the box
    for point in [(0.12, 0.22), (0.58, 0.22), (0.12, 0.58), (0.58, 0.58), (0.8, 0.8)]:
        assert at(a, *point) == 255, point


def test_ellipse_covers_its_share_of_a_large_image():
    mask = prepare_region_mask(parse_region("ellipse:0,0,100,100"), (800, 600))
    assert mask.edit_fraction == pytest.approx(3.14159 / 4, abs=0.005)


@pytest.mark.parametrize(
    "text",
    ["rect:10,20,50,40", "RECT:10,20,50,40", " rect : 10 , 20 , 50 , 40 ", "rect:10%,20%,50%,40%",
     "rect 10,20,50,40", "rectangle:10,20,50,40", "rect:10.0,20.00,50,40"],
)
def test_forms_tolerated(text):
    assert parse_region(text) == Region("rect", 10, 20, 50, 40)


def test_decimals_and_canonical_forms():
    region = parse_region("Ellipse: 12.5%, .5, 33.3, 100")
    assert region == Region("ellipse", 12.5, 0.5, 33.3, 100)
    assert region.spec == "ellipse:12.5,0.5,33.3,100" and parse_region(region.spec) == region
    assert parse_region("CENTRE") == parse_region("center")
    assert REGION_PRESETS == ("top", "bottom", "left", "right", "center", "border")
    assert all(parse_region(name).spec == name for name in REGION_PRESETS)


def test_area_past_the_edge_is_cut_and_noted():
    region = parse_region("rect:80,90,50,50")
    assert region.clipped
    mask = prepare_region_mask(region, (100, 100))
    assert mask.edit_fraction == pytest.approx(0.2 * 0.1)
    assert mask.notes == ["mask: region rect 80,90,50,50, cut at the image edge (covers 2% of the image)"]
    a = alpha_of(prepare_region_mask(parse_region("ellipse:50,0,100,100"), (100, 100)))
    assert a.getpixel((99, 50)) == 0 and a.getpixel((55, 50)) == 0  # left half of the ellipse
    assert a.getpixel((52, 2)) == 255 and a.getpixel((20, 50)) == 255


def test_a_tiny_area_keeps_at_least_one_pixel():
    assert prepare_region_mask(parse_region("rect:50,50,0.1,0.1"), (20, 20)).edit_fraction == pytest.approx(1 / 400)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "The region is empty."),
        ("   ", "The region is empty."),
        ("diagonal", "That isn't a region Retouch knows."),
        ("circle:10,10,20,20", "That isn't a region Retouch knows."),
        ("rect:10,20,50", "A custom area needs four numbers X,Y,W,H (you gave 3)."),
        ("rect:", "A custom area needs four numbers X,Y,W,H (you gave 0)."),
        ("rect:10;20;50;40", "A custom area needs four numbers X,Y,W,H (you gave 1)."),
        ("rect:a,20,50,40", "“a” isn't a number."),
        ("rect:10,20,50px,40", "“50px” isn't a number."),
        ("rect:-5,20,50,40", "“-5” isn't a percentage from 0 to 100."),
        ("rect:10,20,150,40", "Region values are percentages from 0 to 100; 150 is too big."),
        ("ellipse:10,20,0,40", "The area's width and height (W and H) must be more than 0."),
        ("rect:100,0,10,10", "That area starts at the right or bottom edge of the image, so it covers nothing."),
    ],
)
def test_malformed_values_are_refused_with_the_expected_forms_and_an_example(text, problem):
    with pytest.raises(RegionError) as info:
        parse_region(text)
    message = info.value.message
    assert isinstance(info.value, ValueError) and str(info.value) == message
    assert message.startswith(problem + " ")
    assert REGION_EXAMPLE in message and "rect:X,Y,W,H" in message and "ellipse:X,Y,W,H" in message
    assert "top, bottom, left, right, center or border" in message


def test_region_mask_is_made_at_the_size_sent():
    image = prepare_image(encode(gradient((600, 400)), "PNG"), limits=ImageLimits(max_edge=300, max_pixels=None))
    mask = prepare_region_mask(parse_region("rect:10,20,50,40"), image)
    assert mask.size == image.size == (300, 200)
    assert mask.edit_fraction == pytest.approx(0.2)
    assert mask.notes == ["mask: region rect 10,20,50,40 (covers 20% of the image)"] and mask.summary == mask.notes[0]
    a = alpha_of(mask)
    assert a.getpixel((30, 40)) == 0 and a.getpixel((179, 119)) == 0
    assert a.getpixel((29, 40)) == 255 and a.getpixel((180, 119)) == 255 and a.getpixel((30, 120)) == 255


def test_prepare_input_with_a_region():
    data = encode(gradient((96, 48)), "PNG")
    result = prepare_input(data, region=parse_region("left"))
    assert result.mask is not None and result.mask.source == "region" and result.mask.size == (96, 48)
    assert "mask: region left (covers 50% of the image)" in result.notes
    with pytest.raises(ValueError):
        prepare_input(data, encode(Image.new("L", (96, 48)), "PNG"), region=parse_region("left"))


async def test_prepare_input_async_with_a_region():
    result = await prepare_input_async(encode(gradient((40, 120)), "PNG"), region=parse_region("border"))
    assert result.mask is not None and result.mask.source == "region"


def test_percentages_are_of_the_image_as_displayed():
    # Stored 80×40, orientation 6: shown (and sent) 40×80; "top" is the top of what the member saw.
    image = prepare_image(with_exif_orientation(halves((80, 40)), 6))
    assert image.size == (40, 80)
    a = alpha_of(prepare_region_mask(parse_region("top"), image))
    assert a.size == (40, 80) and a.getpixel((20, 10)) == 0 and a.getpixel((20, 70)) == 255
