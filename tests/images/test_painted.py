"""Painted copies: the member paints over a copy of the image and uploads it as the mask.

Every copy is made here: a photo-like image, a shape painted on it, then what phones and
chat apps do to it (resized, colours nudged, JPEG q=70, stored rotated with an EXIF tag).
"""

from __future__ import annotations

import pytest
from PIL import Image, ImageChops

from bot.images import (
    ImageLimits,
    MaskRejected,
    PreparedMask,
    RejectReason,
    derive_painted_mask,
    prepare_image,
    prepare_input,
    prepare_mask_for,
)

from .helpers import (
    MAGENTA,
    T,
    decode,
    encode,
    gradient,
    noise,
    painted_area,
    painted_copy,
    photo,
    with_exif_orientation,
)


def edit_area(mask: PreparedMask) -> Image.Image:
    """Mode L, 255 where the prepared mask says edit (alpha 0)."""
    im = decode(mask.data)
    assert im.format == "PNG" and im.mode == "RGBA" and im.size == mask.size
    return im.getchannel("A").point(lambda v: 255 if v == 0 else 0)


def coverage(mask: PreparedMask, area: Image.Image) -> tuple[float, float]:
    """(share of the painted area marked for editing, share of the image marked outside it)."""
    edit, area = edit_area(mask), area.resize(mask.size, Image.Resampling.NEAREST)
    painted = area.histogram()[255]
    inside = ImageChops.darker(edit, area).histogram()[255]
    outside = ImageChops.subtract(edit, area).histogram()[255]
    return inside / painted, outside / (mask.width * mask.height)


# --- what phones do to the copy --------------------------------------------------------------

TRANSFORMS = {
    "bigger, rotated 90° + tag, brighter": {"scale": 1.5, "orientation": 6, "shift": 10},
    "smaller, rotated 270° + tag, darker": {"scale": 0.75, "orientation": 8, "shift": -12},
    "same size, upside down + tag": {"scale": 1.0, "orientation": 3},
}


@pytest.mark.parametrize("size", [(480, 360), (360, 640), (400, 400)])
@pytest.mark.parametrize("shape", ["blob", "stroke", "corner"])
@pytest.mark.parametrize("transform", list(TRANSFORMS))
def test_painted_copy_marks_what_was_painted(size, shape, transform):
    src = photo(size, seed=len(shape) + size[0])
    area = painted_area(size, shape)
    image = prepare_image(encode(src, "PNG"))
    mask = derive_painted_mask(painted_copy(src, area, **TRANSFORMS[transform]), image)
    inside, outside = coverage(mask, area)
    assert inside >= 0.90, f"covers only {inside:.1%} of the painted area"
    assert outside <= 0.05, f"marks {outside:.1%} of the image outside the painted area"
    assert mask.source == "painted" and mask.converted and mask.size == image.size
    assert mask.edit_fraction == pytest.approx(edit_area(mask).histogram()[255] / (size[0] * size[1]))
    assert mask.notes[0] == mask.summary
    assert mask.summary.startswith("mask derived from your painted copy (covers ")


def test_any_paint_colour_and_half_transparent_paint():
    src, area = photo((480, 360), seed=3), painted_area((480, 360), "blob")
    image = prepare_image(encode(src, "PNG"))
    for colour in ((255, 255, 255), (0, 0, 0), (255, 0, 0)):
        inside, outside = coverage(derive_painted_mask(painted_copy(src, area, colour=colour, scale=1.5), image), area)
        assert inside >= 0.9 and outside <= 0.05, colour
    copy = src.copy()
    copy.paste(Image.blend(src, Image.new("RGB", src.size, (255, 0, 0)), 0.55), (0, 0), area)
    inside, outside = coverage(derive_painted_mask(encode(copy, "JPEG", quality=70), image), area)
    assert inside >= 0.9 and outside <= 0.05


def test_colour_shift_is_noted():
    src, area = photo((480, 360)), painted_area((480, 360), "blob")
    mask = derive_painted_mask(painted_copy(src, area, shift=15), prepare_image(encode(src, "PNG")))
    assert "allowed for a colour shift in the painted copy" in mask.notes


def test_the_mask_is_made_at_the_size_sent_not_the_size_painted():
    src, area = photo((600, 400)), painted_area((600, 400), "blob")
    image = prepare_image(encode(src, "JPEG", quality=92), limits=ImageLimits(max_edge=300, max_pixels=None))
    assert image.size == (300, 200)
    mask = derive_painted_mask(painted_copy(src, area, scale=2.0), image)
    assert mask.size == (300, 200) and mask.original_width == 1200 and mask.resized
    inside, outside = coverage(mask, area)
    assert inside >= 0.9 and outside <= 0.05


def test_original_image_bytes_are_accepted_instead_of_a_prepared_image():
    src, area = photo((480, 360)), painted_area((480, 360), "corner")
    mask = derive_painted_mask(painted_copy(src, area), encode(src, "PNG"))
    assert mask.size == (480, 360) and mask.source == "painted"


def test_copy_of_a_rotated_photo_made_in_a_tool_that_ignores_exif_is_turned_like_the_photo():
    # The photo is stored sideways with orientation 6; the tool showed (and saved) the stored pixels.
    upright = photo((360, 480))
    area = painted_area((360, 480), "blob")
    image = prepare_image(with_exif_orientation(upright.transpose(T.ROTATE_90), 6, quality=95))
    assert image.size == (360, 480)
    sideways = upright.copy()
    sideways.paste(MAGENTA, (0, 0), area)
    mask = derive_painted_mask(encode(sideways.transpose(T.ROTATE_90), "JPEG", quality=70), image)
    assert mask.rotated and mask.size == (360, 480)
    inside, outside = coverage(mask, area)
    assert inside >= 0.9 and outside <= 0.05


# --- refusals ---------------------------------------------------------------------------------


def test_nothing_painted_is_refused_with_what_to_do():
    src = photo((480, 360))
    image = prepare_image(encode(src, "PNG"))
    for copy in (painted_copy(src, None, scale=1.5, orientation=6, shift=10), painted_copy(src, None, quality=40)):
        with pytest.raises(MaskRejected) as info:
            derive_painted_mask(copy, image)
        assert info.value.reason_code == RejectReason.NOTHING_PAINTED
        assert "Paint over the area to change" in info.value.message


@pytest.mark.parametrize(
    "other",
    [
        lambda size: photo(size, seed=99).transpose(T.ROTATE_180),
        lambda size: gradient(size).transpose(T.FLIP_LEFT_RIGHT),
        lambda size: noise(size, seed=5),
    ],
    ids=["another photo", "another gradient", "noise"],
)
def test_a_different_picture_is_refused_with_what_to_do(other):
    size = (480, 360)
    image = prepare_image(encode(photo(size), "PNG"))
    with pytest.raises(MaskRejected) as info:
        derive_painted_mask(encode(other(size), "JPEG", quality=70), image)
    assert info.value.reason_code == RejectReason.NOT_A_COPY
    assert "copy of the same image" in info.value.message


def test_copy_of_another_shape_is_refused():
    src = photo((480, 360))
    with pytest.raises(MaskRejected) as info:
        derive_painted_mask(encode(src.resize((480, 480)), "JPEG"), prepare_image(encode(src, "PNG")))
    assert info.value.reason_code == RejectReason.MASK_SHAPE_MISMATCH


def test_unreadable_copy_is_refused_as_a_mask():
    with pytest.raises(MaskRejected) as info:
        derive_painted_mask(b"not an image", prepare_image(encode(photo((64, 48)), "PNG")))
    assert info.value.reason_code == RejectReason.NOT_AN_IMAGE


# --- callers do not choose: prepare_mask_for / prepare_input dispatch ---------------------------


def test_prepare_input_with_a_painted_copy_yields_a_painted_mask():
    src, area = photo((480, 360)), painted_area((480, 360), "stroke")
    result = prepare_input(encode(src, "JPEG", quality=90), painted_copy(src, area, scale=0.75, orientation=6))
    assert result.mask is not None and result.mask.source == "painted"
    assert result.mask.size == result.image.size
    assert any(n.startswith("mask derived from your painted copy") for n in result.notes)


def test_dispatch_black_and_white_jpeg_mask_is_still_read_by_luminance():
    image = prepare_image(encode(photo((480, 360)), "PNG"))
    bw = Image.new("L", (960, 720), 0)
    bw.paste(255, (0, 0, 480, 720))
    out = prepare_mask_for(encode(bw, "JPEG", quality=70), image)
    assert out.source == "luminance" and out.size == (480, 360)
    a = decode(out.data).getchannel("A")
    assert a.getpixel((100, 100)) == 0 and a.getpixel((400, 100)) == 255 and set(a.tobytes()) == {0, 255}


def test_dispatch_grey_mask_unlike_the_image_is_read_by_luminance_as_before():
    image = prepare_image(encode(photo((64, 64)), "PNG"))
    out = prepare_mask_for(encode(gradient((64, 64)).convert("L"), "PNG"), image)
    assert out.source == "luminance" and any("grey" in n for n in out.notes)


def test_dispatch_two_colour_mask_unlike_the_image_is_read_by_luminance():
    image = prepare_image(encode(photo((200, 100)), "PNG"))
    drawn = Image.new("RGB", (200, 100), (0, 0, 0))
    drawn.paste((255, 255, 0), (0, 0, 100, 100))  # yellow on black: light = edit
    out = prepare_mask_for(encode(drawn, "PNG"), image)
    assert out.source == "luminance"
    a = decode(out.data).getchannel("A")
    assert a.getpixel((50, 50)) == 0 and a.getpixel((150, 50)) == 255


def test_dispatch_transparent_mask_keeps_its_alpha():
    image = prepare_image(encode(photo((200, 100)), "PNG"))
    drawn = photo((200, 100)).convert("RGBA")
    drawn.paste((0, 0, 0, 0), (0, 0, 50, 100))  # an eraser on a copy: transparency wins
    out = prepare_mask_for(encode(drawn, "PNG"), image)
    assert out.source == "alpha" and out.edit_fraction == pytest.approx(0.25)


def test_dispatch_colourful_picture_that_is_not_a_copy_is_refused():
    image = prepare_image(encode(photo((480, 360)), "PNG"))
    with pytest.raises(MaskRejected) as info:
        prepare_mask_for(encode(gradient((480, 360)).transpose(T.ROTATE_180), "JPEG"), image)
    assert info.value.reason_code == RejectReason.NOT_A_COPY


def test_dispatch_big_jpeg_mask_is_read_at_full_resolution():
    # Decoded at a reduced scale to tell what it is, then again at full size to be read as a mask.
    image = prepare_image(encode(photo((2400, 1800)), "JPEG", quality=85))
    bw = Image.new("L", (2400, 1800), 0)
    bw.paste(255, (0, 0, 1201, 1800))
    out = prepare_mask_for(encode(bw, "JPEG", quality=95), image)
    assert out.source == "luminance" and out.size == (2400, 1800) and not out.resized
    a = decode(out.data).getchannel("A")
    assert a.getpixel((1199, 900)) == 0 and a.getpixel((1203, 900)) == 255


def test_a_big_copy_reports_its_real_size():
    src, area = photo((1200, 900)), painted_area((1200, 900), "blob")
    image = prepare_image(encode(src, "JPEG", quality=90))
    mask = prepare_mask_for(painted_copy(src, area, scale=2.0, orientation=6), image)  # decoded at 1/2 scale
    assert mask.source == "painted" and (mask.original_width, mask.original_height) == (2400, 1800)
    assert mask.size == (1200, 900) and mask.resized
