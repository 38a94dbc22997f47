from __future__ import annotations

import asyncio

import pytest
from PIL import Image

from bot.images import (
    ImageLimits,
    ImageRejected,
    MaskRejected,
    RejectReason,
    prepare_image,
    prepare_input,
    prepare_input_async,
    prepare_mask,
    prepare_mask_for,
)

from .helpers import (
    decode,
    encode,
    gradient,
    halves,
    noise,
    patch_png_size,
    with_exif_orientation,
)


def alpha_of(data: bytes) -> Image.Image:
    im = decode(data)
    assert im.format == "PNG" and im.mode == "RGBA"
    return im.getchannel("A")


def bw_mask(size, box, mode="L") -> Image.Image:
    """Black (keep) with a white (edit) rectangle."""
    im = Image.new(mode, size, 0 if mode == "L" else (0, 0, 0))
    im.paste(255 if mode == "L" else (255, 255, 255), box)
    return im


def test_alpha_mask_is_kept_as_is():
    im = Image.new("RGBA", (40, 30), (10, 20, 30, 255))
    im.paste((0, 0, 0, 0), (0, 0, 10, 30))  # edit
    im.paste((0, 0, 0, 128), (10, 0, 20, 30))  # soft
    out = prepare_mask(encode(im, "PNG"), image_size=(40, 30))
    assert out.format == "png" and out.content_type == "image/png" and out.filename == "mask.png"
    assert out.source == "alpha" and not out.converted and not out.resized
    a = alpha_of(out.data)
    assert a.tobytes() == im.getchannel("A").tobytes()
    assert out.edit_fraction == pytest.approx(0.25)
    # colour channels carry the same area for luminance-reading providers: white = edit
    rgba = decode(out.data)
    assert rgba.getpixel((2, 2)) == (255, 255, 255, 0) and rgba.getpixel((35, 2)) == (0, 0, 0, 255)


def test_la_and_palette_transparency_masks_keep_their_alpha():
    la = Image.merge("LA", (Image.new("L", (8, 8), 0), Image.new("L", (8, 8), 255)))
    la.paste((0, 0), (0, 0, 4, 8))
    assert alpha_of(prepare_mask(encode(la, "PNG"), image_size=(8, 8)).data).getpixel((1, 1)) == 0
    pal = Image.new("P", (8, 8), 1)
    pal.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    pal.paste(0, (0, 0, 4, 8))
    out = prepare_mask(encode(pal, "PNG", transparency=0), image_size=(8, 8))
    a = alpha_of(out.data)
    assert out.source == "alpha" and a.getpixel((1, 1)) == 0 and a.getpixel((6, 6)) == 255


@pytest.mark.parametrize("mode", ["L", "RGB", "1"])
def test_black_and_white_mask_is_converted_white_is_edit(mode):
    src = bw_mask((40, 30), (20, 0, 40, 30), mode="RGB" if mode == "RGB" else "L")
    if mode == "1":
        src = src.convert("1")
    out = prepare_mask(encode(src, "PNG"), image_size=(40, 30))
    assert out.source == "luminance" and out.converted
    a = alpha_of(out.data)
    assert a.getpixel((30, 10)) == 0  # white -> edit
    assert a.getpixel((5, 10)) == 255  # black -> keep
    assert out.edit_fraction == pytest.approx(0.5)
    assert any("white areas will be edited" in n for n in out.notes)


def test_fully_opaque_rgba_mask_is_read_as_black_and_white():
    src = bw_mask((20, 20), (0, 0, 10, 20), mode="RGB").convert("RGBA")
    out = prepare_mask(encode(src, "PNG"), image_size=(20, 20))
    assert out.source == "luminance"
    assert alpha_of(out.data).getpixel((2, 2)) == 0


def test_jpeg_black_and_white_mask_is_thresholded():
    src = bw_mask((64, 64), (0, 0, 32, 64))
    out = prepare_mask(encode(src, "JPEG", quality=70), image_size=(64, 64))
    a = alpha_of(out.data)
    assert set(a.tobytes()) <= {0, 255}  # JPEG ringing does not leak soft values
    assert a.getpixel((10, 10)) == 0 and a.getpixel((50, 10)) == 255


def test_grey_mask_gets_a_note():
    out = prepare_mask(encode(gradient((64, 64)).convert("L"), "PNG"), image_size=(64, 64))
    assert any("grey" in n for n in out.notes)


def test_same_ratio_other_size_is_resized_with_hard_edges():
    src = bw_mask((512, 384), (0, 0, 256, 384))
    out = prepare_mask(encode(src, "PNG"), image_size=(1024, 768))
    assert out.resized and out.size == (1024, 768) and out.original_width == 512
    a = alpha_of(out.data)
    assert a.size == (1024, 768)
    assert set(a.tobytes()) == {0, 255}
    assert a.getpixel((100, 100)) == 0 and a.getpixel((900, 100)) == 255
    assert "resized the mask 512×384 → 1024×768 to match the image" in out.notes


def test_soft_alpha_mask_is_resized_smoothly():
    im = Image.new("RGBA", (10, 10), (0, 0, 0, 255))
    im.putalpha(Image.linear_gradient("L").resize((10, 10)))
    out = prepare_mask(encode(im, "PNG"), image_size=(40, 40))
    assert len(set(alpha_of(out.data).tobytes())) > 10


def test_ratio_within_one_percent_is_accepted():
    out = prepare_mask(encode(bw_mask((1000, 751), (0, 0, 10, 10)), "PNG"), image_size=(1000, 750))
    assert out.size == (1000, 750) and out.resized


def test_other_aspect_ratio_is_refused_with_both_sizes():
    with pytest.raises(MaskRejected) as info:
        prepare_mask(encode(bw_mask((512, 512), (0, 0, 10, 10)), "PNG"), image_size=(1024, 768))
    assert info.value.reason_code == RejectReason.MASK_SHAPE_MISMATCH
    assert info.value.message.startswith(
        "The mask is 512×512 but the image is 1024×768; they need the same shape (aspect ratio)."
    )
    assert isinstance(info.value, ImageRejected)


def test_mask_is_matched_against_the_displayed_size_then_fitted_to_the_sent_size():
    # The member's image was 600×400 and got downscaled to 300×200 before sending.
    image = prepare_image(encode(gradient((600, 400)), "PNG"), limits=ImageLimits(max_edge=300, max_pixels=None))
    assert image.size == (300, 200)
    out = prepare_mask_for(encode(bw_mask((600, 400), (0, 0, 300, 400)), "PNG"), image)
    assert out.size == (300, 200)
    a = alpha_of(out.data)
    assert a.getpixel((50, 100)) == 0 and a.getpixel((250, 100)) == 255
    # the wrong shape names the size the member saw, not our downscaled one
    with pytest.raises(MaskRejected) as info:
        prepare_mask_for(encode(bw_mask((100, 100), (0, 0, 1, 1)), "PNG"), image)
    assert "the image is 600×400" in info.value.message


def test_mask_for_an_exif_rotated_image_drawn_on_the_displayed_image():
    # Stored 80×40, orientation 6: Discord shows it as 40×80 (red on top).
    image = prepare_image(with_exif_orientation(halves((80, 40)), 6))
    assert image.size == (40, 80)
    mask = bw_mask((40, 80), (0, 0, 40, 40))  # white top half = edit the red part
    out = prepare_mask_for(encode(mask, "PNG"), image)
    a = alpha_of(out.data)
    assert out.size == (40, 80) and not out.rotated
    assert a.getpixel((20, 10)) == 0 and a.getpixel((20, 70)) == 255


def test_mask_drawn_on_the_unrotated_pixels_is_rotated_like_the_image():
    image = prepare_image(with_exif_orientation(halves((80, 40)), 6))
    mask = bw_mask((80, 40), (0, 0, 40, 40))  # white LEFT half of the stored pixels = red part
    out = prepare_mask_for(encode(mask, "PNG"), image)
    a = alpha_of(out.data)
    assert out.rotated and out.size == (40, 80)
    assert a.getpixel((20, 10)) == 0 and a.getpixel((20, 70)) == 255
    assert any("rotated the mask" in n for n in out.notes)


def test_mask_with_its_own_exif_orientation_is_shown_upright_first():
    mask = bw_mask((80, 40), (0, 0, 40, 40))  # stored: white left half; shown: white top half
    out = prepare_mask(with_exif_orientation(mask, 6, fmt="PNG"), image_size=(40, 80))
    a = alpha_of(out.data)
    assert a.getpixel((20, 10)) == 0 and a.getpixel((20, 70)) == 255


def test_mask_marking_nothing_or_everything_is_allowed_with_a_note():
    nothing = prepare_mask(encode(Image.new("L", (16, 16), 0), "PNG"), image_size=(16, 16))
    assert nothing.edit_fraction == 0 and any("marks nothing" in n for n in nothing.notes)
    everything = prepare_mask(encode(Image.new("RGBA", (16, 16), (0, 0, 0, 0)), "PNG"), image_size=(16, 16))
    assert everything.edit_fraction == 1 and any("whole image" in n for n in everything.notes)


def test_not_an_image_mask_is_refused():
    with pytest.raises(MaskRejected) as info:
        prepare_mask(b"not a mask", image_size=(10, 10))
    assert info.value.reason_code == RejectReason.NOT_AN_IMAGE
    assert info.value.message.startswith("The mask")


def test_mask_bomb_is_refused():
    bomb = patch_png_size(encode(Image.new("1", (16, 16)), "PNG"), 30000, 30000)
    with pytest.raises(MaskRejected) as info:
        prepare_mask(bomb, image_size=(1024, 1024))
    assert info.value.reason_code == RejectReason.TOO_MANY_PIXELS


def test_mask_over_the_size_limit_is_simplified():
    im = Image.new("RGBA", (200, 200))
    im.putalpha(noise((200, 200), "L"))
    lim = ImageLimits(mask_max_bytes=70_000)  # 200×200 noisy alpha is ~110 KB as PNG
    out = prepare_mask(encode(im, "PNG"), image_size=(200, 200), limits=lim)
    assert len(out.data) <= 70_000
    assert any("to fit the" in n for n in out.notes)
    with pytest.raises(MaskRejected) as info:
        prepare_mask(encode(im, "PNG"), image_size=(200, 200), limits=ImageLimits(mask_max_bytes=1_000))
    assert info.value.reason_code == RejectReason.MASK_TOO_LARGE


def test_prepare_input_image_and_mask_together():
    data = encode(gradient((600, 400)), "PNG")
    mask = encode(bw_mask((300, 200), (0, 0, 10, 10)), "PNG")
    result = prepare_input(data, mask, limits=ImageLimits(max_edge=300, max_pixels=None))
    assert result.image.size == result.mask.size == (300, 200)
    assert any(n.startswith("downscaled") for n in result.notes)
    assert prepare_input(data).mask is None


async def test_async_wrappers():
    out = await asyncio.to_thread(prepare_mask, encode(bw_mask((20, 10), (0, 0, 10, 10)), "PNG"), image_size=(40, 20))
    assert out.size == (40, 20)
    both = await prepare_input_async(encode(gradient((40, 20)), "PNG"), encode(bw_mask((40, 20), (0, 0, 5, 5)), "PNG"))
    assert both.mask.size == (40, 20)
    with pytest.raises(MaskRejected):
        await prepare_input_async(encode(gradient((40, 20)), "PNG"), encode(bw_mask((20, 20), (0, 0, 5, 5)), "PNG"))
