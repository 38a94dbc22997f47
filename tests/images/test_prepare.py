from __future__ import annotations

import asyncio
import dataclasses
import os
import struct
import time
import zlib

import psutil
import pytest
from PIL import Image, ImageCms, JpegImagePlugin, PngImagePlugin

from bot.images import (
    DALLE2_LIMITS,
    ImageLimits,
    ImageRejected,
    RejectReason,
    can_decode,
    prepare_image,
    prepare_input_async,
)
from bot.images.prepare import target_size

from .helpers import (
    animated_gif,
    decode,
    encode,
    gif_claiming,
    gradient,
    halves,
    heic_like,
    noise,
    patch_png_size,
    png_chunk,
    real_png_bomb,
    with_exif_orientation,
)

NOT_AN_IMAGE = "That file isn't an image Retouch can read (PNG, JPEG, WebP, GIF, BMP or TIFF)."


# --- pass-through ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "fmt", "content_type"),
    [("photo_png", "png", "image/png"), ("photo_jpeg", "jpeg", "image/jpeg"), ("photo_webp", "webp", "image/webp")],
)
def test_accepted_images_pass_through_byte_identical(request, limits, fixture, fmt, content_type):
    data = request.getfixturevalue(fixture)
    out = prepare_image(data, limits=limits)
    assert out.data == data
    assert out.format == fmt and out.content_type == content_type
    assert (out.width, out.height) == (64, 48) == out.original_size
    assert not out.converted and not out.resized and not out.reencoded
    assert out.notes == []
    assert out.filename == f"image.{ 'jpg' if fmt == 'jpeg' else fmt}"


def test_rgba_png_and_greyscale_jpeg_pass_through(limits):
    rgba = encode(gradient((32, 32)).convert("RGBA"), "PNG")
    grey = encode(gradient((32, 32)).convert("L"), "JPEG")
    assert prepare_image(rgba, limits=limits).data == rgba
    assert prepare_image(grey, limits=limits).data == grey


def test_orientation_tag_of_1_passes_through(limits):
    data = with_exif_orientation(gradient((40, 20)), 1)
    out = prepare_image(data, limits=limits)
    assert out.data == data and out.orientation == 1


# --- conversions -------------------------------------------------------------------------


def test_animated_gif_becomes_png_of_the_first_frame(limits):
    data = animated_gif([(255, 0, 0), (0, 255, 0), (0, 0, 255)])
    out = prepare_image(data, limits=limits)
    assert out.format == "png" and out.content_type == "image/png"
    assert out.converted and out.reencoded
    im = decode(out.data)
    assert im.format == "PNG" and not getattr(im, "is_animated", False)
    assert im.convert("RGB").getpixel((5, 5)) == (255, 0, 0)
    assert "converted GIF to PNG" in out.notes
    assert "used only the first frame of the animated GIF" in out.notes


def test_gif_transparency_is_kept_as_alpha(limits):
    im = Image.new("P", (10, 10), 1)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.paste(0, (0, 0, 5, 10))
    data = encode(im, "GIF", transparency=0)
    out = decode(prepare_image(data, limits=limits).data)
    assert out.mode == "RGBA"
    assert out.getpixel((1, 1))[3] == 0
    assert out.getpixel((8, 8)) == (255, 0, 0, 255)


@pytest.mark.parametrize(("pil_format", "label"), [("BMP", "BMP"), ("TIFF", "TIFF")])
def test_bmp_and_tiff_become_lossless_png(limits, pil_format, label):
    src = gradient((30, 20))
    out = prepare_image(encode(src, pil_format), limits=limits)
    assert out.format == "png" and out.converted
    assert f"converted {label} to PNG" in out.notes
    assert decode(out.data).convert("RGB").tobytes() == src.tobytes()


def test_multipage_tiff_uses_first_page(limits):
    pages = [Image.new("RGB", (8, 8), c) for c in ((0, 255, 0), (255, 0, 0))]
    data = encode(pages[0], "TIFF", save_all=True, append_images=pages[1:])
    out = prepare_image(data, limits=limits)
    assert decode(out.data).getpixel((1, 1))[:3] == (0, 255, 0)
    assert "used only the first page of the TIFF" in out.notes


@pytest.mark.skipif(not can_decode("avif"), reason="Pillow built without AVIF")
def test_avif_becomes_png(limits):
    out = prepare_image(encode(gradient((32, 32)), "AVIF"), limits=limits)
    assert out.format == "png" and "converted AVIF to PNG" in out.notes


def test_palette_png_is_converted_to_rgb(limits):
    pal = gradient((32, 32)).convert("P")
    out = prepare_image(encode(pal, "PNG"), limits=limits)
    assert out.format == "png" and out.converted
    assert decode(out.data).mode == "RGB"


def test_palette_png_with_transparency_keeps_alpha(limits):
    im = Image.new("RGBA", (16, 16), (255, 0, 0, 255))
    im.paste((0, 0, 0, 0), (0, 0, 8, 16))
    pal = im.convert("P")  # RGBA palette with a transparent entry
    out = decode(prepare_image(encode(pal, "PNG"), limits=limits).data)
    assert out.mode == "RGBA"
    assert out.getpixel((2, 2))[3] == 0 and out.getpixel((12, 2)) == (255, 0, 0, 255)


def test_greyscale_alpha_png_becomes_rgba(limits):
    la = Image.merge("LA", (Image.new("L", (8, 8), 200), Image.new("L", (8, 8), 100)))
    out = prepare_image(encode(la, "PNG"), limits=limits)
    im = decode(out.data)
    assert im.mode == "RGBA" and im.getpixel((3, 3)) == (200, 200, 200, 100)


def test_cmyk_jpeg_becomes_rgb_jpeg(limits):
    cmyk = Image.new("CMYK", (32, 32), (0, 255, 255, 0))  # red
    out = prepare_image(encode(cmyk, "JPEG", quality=95), limits=limits)
    assert out.format == "jpeg" and out.converted
    assert "converted CMYK colours to RGB" in out.notes
    r, g, b = decode(out.data).getpixel((16, 16))
    assert r > 200 and g < 60 and b < 60


def test_sixteen_bit_greyscale_is_scaled_not_clipped(limits):
    im = Image.new("I;16", (8, 8), 40000)
    out = prepare_image(encode(im, "PNG"), limits=limits)
    value = decode(out.data).getpixel((2, 2))
    assert 150 <= value <= 160  # 40000 / 65535 * 255 ≈ 156, not 255


def test_icc_profile_is_kept_when_reencoding(limits):
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(gradient((16, 16)), "BMP")
    tiff = encode(gradient((16, 16)), "TIFF", icc_profile=srgb)
    assert "icc_profile" not in decode(prepare_image(data, limits=limits).data).info
    assert decode(prepare_image(tiff, limits=limits).data).info.get("icc_profile") == srgb


# --- EXIF orientation --------------------------------------------------------------------


def _is(pixel, rgb, tol=40):
    return all(abs(a - b) <= tol for a, b in zip(pixel[:3], rgb))


def test_exif_orientation_6_is_applied(limits):
    # Stored landscape, red left / blue right; orientation 6 = shown rotated 90° clockwise,
    # so the red half ends up on top of a portrait image.
    data = with_exif_orientation(halves((80, 40)), 6, quality=95)
    out = prepare_image(data, limits=limits)
    assert out.orientation == 6 and out.reencoded
    assert (out.width, out.height) == (40, 80) == out.original_size
    assert out.format == "jpeg"  # same format, re-encoded at high quality
    im = decode(out.data)
    assert im.size == (40, 80)
    assert _is(im.getpixel((20, 10)), (255, 0, 0))
    assert _is(im.getpixel((20, 70)), (0, 0, 255))
    assert im.getexif().get(0x0112) in (None, 1)  # not rotated twice by viewers
    assert any("EXIF orientation" in n for n in out.notes)


@pytest.mark.parametrize(("orientation", "top_left"), [(3, (0, 0, 255)), (8, (0, 0, 255)), (2, (0, 0, 255))])
def test_other_orientations(limits, orientation, top_left):
    out = prepare_image(with_exif_orientation(halves((80, 40)), orientation, quality=95), limits=limits)
    assert _is(decode(out.data).getpixel((2, 2)), top_left)


def test_exif_orientation_in_png_is_applied(limits):
    data = with_exif_orientation(halves((80, 40)), 6, fmt="PNG")
    out = prepare_image(data, limits=limits)
    im = decode(out.data)
    assert out.format == "png" and im.size == (40, 80)
    assert im.getpixel((20, 10))[:3] == (255, 0, 0)


def test_exif_rotation_and_downscale_together(small_limits):
    data = with_exif_orientation(halves((600, 400)), 6, quality=95)
    out = prepare_image(data, limits=small_limits)
    assert out.original_size == (400, 600)
    assert out.size == (200, 300)
    im = decode(out.data)
    assert _is(im.getpixel((100, 20)), (255, 0, 0)) and _is(im.getpixel((100, 280)), (0, 0, 255))


# --- not images --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"just some text, not an image",
        os.urandom(4096),
        b"\x00" * 100,
    ],
)
def test_not_an_image_is_refused(limits, data):
    with pytest.raises(ImageRejected) as info:
        prepare_image(data, limits=limits)
    assert info.value.reason_code == RejectReason.NOT_AN_IMAGE
    assert str(info.value) == NOT_AN_IMAGE


def test_empty_file_is_refused(limits):
    with pytest.raises(ImageRejected) as info:
        prepare_image(b"", limits=limits)
    assert info.value.reason_code == RejectReason.EMPTY


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
def test_truncated_images_are_refused(limits, fmt):
    data = encode(noise((64, 64)), fmt)
    with pytest.raises(ImageRejected) as info:
        prepare_image(data[: len(data) // 2], limits=limits)
    assert info.value.reason_code == RejectReason.CORRUPT
    assert "damaged or incomplete" in info.value.message


def test_png_signature_followed_by_garbage_is_refused(limits):
    with pytest.raises(ImageRejected) as info:
        prepare_image(b"\x89PNG\r\n\x1a\n" + os.urandom(2000), limits=limits)
    assert info.value.reason_code == RejectReason.CORRUPT


def test_corrupted_pixel_data_is_detected(limits):
    data = bytearray(encode(noise((64, 64)), "PNG"))
    start = data.index(b"IDAT") + 4 + 100
    data[start : start + 400] = os.urandom(400)
    with pytest.raises(ImageRejected) as info:
        prepare_image(bytes(data), limits=limits)
    assert info.value.reason_code == RejectReason.CORRUPT


def test_heic_without_plugin_is_unsupported(limits):
    if can_decode("heic"):
        pytest.skip("a HEIF plugin is installed")
    with pytest.raises(ImageRejected) as info:
        prepare_image(heic_like(), limits=limits)
    assert info.value.reason_code == RejectReason.UNSUPPORTED_FORMAT
    assert "HEIC" in info.value.message


def test_input_bytes_ceiling(photo_png):
    with pytest.raises(ImageRejected) as info:
        prepare_image(photo_png, limits=ImageLimits(max_input_bytes=100))
    assert info.value.reason_code == RejectReason.FILE_TOO_LARGE


# --- decompression bombs -----------------------------------------------------------------


def _rss() -> int:
    return psutil.Process().memory_info().rss


def test_header_claiming_30000x30000_is_refused_fast(limits, photo_png):
    bomb = patch_png_size(encode(Image.new("1", (16, 16)), "PNG"), 30000, 30000)
    rss, start = _rss(), time.perf_counter()
    with pytest.raises(ImageRejected) as info:
        prepare_image(bomb, limits=limits)
    assert time.perf_counter() - start < 1.0
    assert _rss() - rss < 50 * 1024 * 1024
    assert info.value.reason_code == RejectReason.TOO_MANY_PIXELS
    assert "30000×30000 pixels (900 MP), too large to process safely (the limit is 50 MP)" in info.value.message


def test_valid_compressed_bomb_over_our_ceiling_is_refused_before_decoding(limits):
    bomb = real_png_bomb(8000, 8000)  # 64 MP > 50 MP, but under Pillow's own warning level
    assert len(bomb) < 200_000
    rss, start = _rss(), time.perf_counter()
    with pytest.raises(ImageRejected) as info:
        prepare_image(bomb, limits=limits)
    assert time.perf_counter() - start < 1.0
    assert _rss() - rss < 30 * 1024 * 1024  # decoding would take 64 MB
    assert info.value.reason_code == RejectReason.TOO_MANY_PIXELS
    assert "8000×8000" in info.value.message and "50 MP" in info.value.message


def test_ceiling_holds_even_if_pillow_guard_disabled(monkeypatch, limits):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(ImageRejected) as info:
        prepare_image(real_png_bomb(8000, 8000), limits=limits)
    assert info.value.reason_code == RejectReason.TOO_MANY_PIXELS


def test_ceiling_between_ours_and_pillows_is_refused_without_warnings(limits, recwarn):
    # 100 MP: above Pillow's own warning level (~89 MP) and our 50 MP ceiling.
    bomb = patch_png_size(encode(Image.new("1", (16, 16)), "PNG"), 10000, 10000)
    with pytest.raises(ImageRejected) as info:
        prepare_image(bomb, limits=limits)
    assert info.value.reason_code == RejectReason.TOO_MANY_PIXELS
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


def test_ceiling_is_per_call(photo_png):
    tight = ImageLimits(max_decoded_pixels=1000)  # 64×48 = 3072 px
    with pytest.raises(ImageRejected) as info:
        prepare_image(photo_png, limits=tight)
    assert info.value.reason_code == RejectReason.TOO_MANY_PIXELS
    assert prepare_image(photo_png).data == photo_png


@pytest.mark.parametrize("frame", [(30000, 30000), (8000, 8000)])
def test_gif_frame_larger_than_its_screen_is_refused(limits, frame):
    start = time.perf_counter()
    with pytest.raises(ImageRejected) as info:
        prepare_image(gif_claiming(frame), limits=limits)
    assert time.perf_counter() - start < 1.0
    assert info.value.reason_code == RejectReason.TOO_MANY_PIXELS


# --- size limits -------------------------------------------------------------------------


def test_target_size_rules():
    lim = ImageLimits(max_edge=4096, max_pixels=None)
    assert target_size((6000, 4000), lim) == (4096, 2731)
    assert target_size((4000, 3000), lim) is None
    lim = ImageLimits()  # 4096 edge and 8.3 MP
    w, h = target_size((6000, 4000), lim)
    assert w * h <= 8_294_400 and abs(w / h - 1.5) < 0.01
    assert target_size((100, 50000), lim)[1] == 4096


def test_oversize_image_is_downscaled_within_limits(small_limits):
    data = encode(gradient((600, 400)), "PNG")
    out = prepare_image(data, limits=small_limits)
    assert out.resized and out.size == (300, 200) and out.original_size == (600, 400)
    assert decode(out.data).size == (300, 200)
    assert "downscaled 600×400 → 300×200" in out.notes
    assert out.format == "png"


def test_big_jpeg_downscaled_with_draft_decoding(small_limits):
    src = halves((2400, 1600))
    out = prepare_image(encode(src, "JPEG", quality=92), limits=small_limits)
    assert out.format == "jpeg" and out.size == (300, 200) and out.original_size == (2400, 1600)
    im = decode(out.data)
    assert _is(im.getpixel((40, 100)), (255, 0, 0)) and _is(im.getpixel((260, 100)), (0, 0, 255))


def test_pixel_budget_is_respected():
    lim = ImageLimits(max_edge=None, max_pixels=10_000)
    out = prepare_image(encode(gradient((300, 200)), "PNG"), limits=lim)
    assert out.width * out.height <= 10_000


def test_too_many_bytes_falls_back_to_jpeg_at_full_size():
    data = encode(noise((400, 400)), "PNG")  # ~480 KB of noise
    lim = ImageLimits(max_bytes=250_000)
    out = prepare_image(data, limits=lim)
    assert len(out.data) <= 250_000 and out.format == "jpeg"
    assert out.size == (400, 400) and not out.resized
    assert any(n.startswith("converted PNG to JPEG (q=") and "250 KB" not in n for n in out.notes)
    assert decode(out.data).size == (400, 400)


def test_too_many_bytes_with_transparency_falls_back_to_webp():
    im = noise((300, 300), "RGBA")
    out = prepare_image(encode(im, "PNG"), limits=ImageLimits(max_bytes=200_000))
    assert out.format == "webp" and len(out.data) <= 200_000
    assert decode(out.data).mode == "RGBA"


def test_png_only_model_downscales_to_fit_bytes():
    lim = ImageLimits(formats={"png"}, max_bytes=100_000)
    out = prepare_image(encode(noise((300, 300)), "PNG"), limits=lim)
    assert out.format == "png" and len(out.data) <= 100_000
    assert out.resized and out.width < 300
    assert any("downscaled 300×300 →" in n and "to fit" in n for n in out.notes)


def test_cannot_fit_is_refused():
    with pytest.raises(ImageRejected) as info:
        prepare_image(encode(noise((300, 300)), "PNG"), limits=ImageLimits(formats={"png"}, max_bytes=500))
    assert info.value.reason_code == RejectReason.CANNOT_FIT


# --- dall-e-2 ------------------------------------------------------------------------------


def test_dalle2_refuses_non_square():
    with pytest.raises(ImageRejected) as info:
        prepare_image(encode(gradient((64, 48)), "PNG"), limits=DALLE2_LIMITS)
    assert info.value.reason_code == RejectReason.NOT_SQUARE
    assert "64×48" in info.value.message


def test_dalle2_gets_an_rgba_png():
    out = prepare_image(encode(gradient((64, 64)), "JPEG"), limits=DALLE2_LIMITS)
    assert out.format == "png" and decode(out.data).mode == "RGBA"
    rgba = encode(gradient((64, 64)).convert("RGBA"), "PNG")
    assert prepare_image(rgba, limits=DALLE2_LIMITS).data == rgba


def test_dalle2_square_after_exif_rotation_counts():
    data = with_exif_orientation(halves((64, 64)), 6)
    out = prepare_image(data, limits=DALLE2_LIMITS)
    assert out.size == (64, 64) and out.format == "png"


# --- misc ----------------------------------------------------------------------------------


def test_limits_validation():
    with pytest.raises(ValueError):
        ImageLimits(formats={"gif"})
    with pytest.raises(ValueError):
        ImageLimits(max_bytes=0)
    assert ImageLimits(formats=["PNG", "jpeg"]).formats == frozenset({"png", "jpeg"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        ImageLimits().max_bytes = 1  # type: ignore[misc]


async def test_async_wrapper_runs_concurrently_off_the_loop(photo_png, small_limits):
    gif = animated_gif([(255, 0, 0), (0, 0, 255)])
    results = await asyncio.gather(
        prepare_input_async(photo_png, limits=small_limits),
        prepare_input_async(gif, limits=small_limits),
        prepare_input_async(encode(gradient((600, 400)), "PNG"), limits=small_limits),
    )
    results = [r.image for r in results]
    assert results[0].data == photo_png
    assert results[1].format == "png"
    assert results[2].size == (300, 200)
    with pytest.raises(ImageRejected):
        await prepare_input_async(b"nope", limits=small_limits)


def test_animated_png_and_webp_use_the_first_frame(limits):
    frames = [Image.new("RGB", (16, 16), c) for c in ((0, 255, 0), (255, 0, 0))]
    for fmt, label in (("PNG", "PNG"), ("WEBP", "WebP")):
        params = {"lossless": True} if fmt == "WEBP" else {}
        data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, **params)
        out = prepare_image(data, limits=limits)
        im = decode(out.data)
        assert not getattr(im, "is_animated", False)
        assert im.convert("RGB").getpixel((4, 4)) == (0, 255, 0)
        assert f"used only the first frame of the animated {label}" in out.notes
        assert out.format == fmt.lower()


def test_draft_decoding_with_exif_rotation():
    data = with_exif_orientation(halves((1600, 800)), 6, quality=95)
    out = prepare_image(data, limits=ImageLimits(max_edge=200, max_pixels=None))
    assert out.size == (100, 200) and out.original_size == (800, 1600)
    im = decode(out.data)
    assert _is(im.getpixel((50, 20)), (255, 0, 0)) and _is(im.getpixel((50, 180)), (0, 0, 255))
    assert "downscaled 800×1600 → 100×200" in out.notes


def test_parallel_threads_give_the_same_results_as_serial(small_limits):
    from concurrent.futures import ThreadPoolExecutor

    inputs = [
        encode(gradient((600, 400)), "PNG"),
        with_exif_orientation(halves((400, 200)), 6),
        animated_gif([(255, 0, 0), (0, 0, 255)]),
        encode(Image.new("CMYK", (50, 50), (0, 255, 255, 0)), "JPEG"),
        encode(noise((64, 64)), "BMP"),
        patch_png_size(encode(Image.new("1", (16, 16)), "PNG"), 30000, 30000),
    ] * 3

    def run(data):
        try:
            return prepare_image(data, limits=small_limits).data
        except ImageRejected as exc:
            return exc.reason_code

    serial = [run(d) for d in inputs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(run, inputs)) == serial


# --- bytes sent as they are: checked whole without a full decode ---------------------------


def _chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, offset of the chunk, offset just past its CRC) of every PNG chunk."""
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        out.append((data[pos + 4 : pos + 8], pos, pos + 12 + length))
        pos += 12 + length
    return out


def _offset(data: bytes, kind: bytes, which: int = 0) -> tuple[int, int]:
    found = [(start, end) for k, start, end in _chunks(data) if k == kind]
    return found[which]


def _before_iend(data: bytes, *chunks: bytes) -> bytes:
    """`chunks` inserted after the image data, before IEND."""
    iend, _ = _offset(data, b"IEND")
    return data[:iend] + b"".join(chunks) + data[iend:]


def _exif_chunk(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    body = exif.tobytes()
    return png_chunk(b"eXIf", body[6:] if body.startswith(b"Exif\x00\x00") else body)


def _text_chunk(key: bytes, text: bytes) -> bytes:
    return png_chunk(b"tEXt", key + b"\x00" + text)


def _refused_as_corrupt(data: bytes, limits: ImageLimits) -> None:
    with pytest.raises(ImageRejected) as info:
        prepare_image(data, limits=limits)
    assert info.value.reason_code == RejectReason.CORRUPT
    assert "damaged or incomplete" in info.value.message


PNGS_SENT_AS_IS = {
    "photo": lambda: encode(gradient((64, 48)), "PNG"),
    "noise": lambda: encode(noise((64, 48)), "PNG"),
    "rgba": lambda: encode(gradient((64, 48)).convert("RGBA"), "PNG"),
    "stored": lambda: encode(gradient((64, 48)), "PNG", compress_level=0),  # deflate without compression
    "late text": lambda: _before_iend(encode(gradient((64, 48)), "PNG"), _text_chunk(b"Comment", b"hello")),
}


@pytest.mark.parametrize("name", PNGS_SENT_AS_IS)
def test_png_sent_as_is_decodes_no_pixel(monkeypatch, limits, name):
    data = PNGS_SENT_AS_IS[name]()
    if name == "late text":  # metadata after the image data: decoded to read it, then sent as is
        assert prepare_image(data, limits=limits).data == data
        return
    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", _no_decoding)
    out = prepare_image(data, limits=limits)
    assert out.data == data and not out.reencoded and out.size == (64, 48)


def _no_decoding(self):
    raise AssertionError("the pixels were decoded")


@pytest.mark.parametrize("name", PNGS_SENT_AS_IS)
@pytest.mark.parametrize(
    "cut",
    [
        "inside IDAT",
        "before the zlib checksum",  # the last 4 bytes of the image data
        "inside the zlib checksum",
        "before the IDAT CRC",
        "inside the IDAT CRC",
        "right before IEND",
        "inside IEND",
        "one byte short",
    ],
)
def test_truncated_png_that_would_be_sent_as_is_is_refused(limits, name, cut):
    data = PNGS_SENT_AS_IS[name]()
    start, end = _offset(data, b"IDAT", -1)  # Pillow writes one IDAT for these sizes
    iend, _ = _offset(data, b"IEND")
    at = {
        "inside IDAT": (start + end) // 2,
        "before the zlib checksum": end - 8,
        "inside the zlib checksum": end - 6,
        "before the IDAT CRC": end - 4,
        "inside the IDAT CRC": end - 2,
        "right before IEND": iend,
        "inside IEND": iend + 6,
        "one byte short": len(data) - 1,
    }[cut]
    _refused_as_corrupt(data[:at], limits)


@pytest.mark.parametrize("name", PNGS_SENT_AS_IS)
@pytest.mark.parametrize("where", ["start of IDAT", "middle of IDAT", "end of IDAT", "IDAT CRC"])
def test_png_with_a_flipped_byte_in_its_image_data_is_refused(limits, name, where):
    data = bytearray(PNGS_SENT_AS_IS[name]())
    start, end = _offset(bytes(data), b"IDAT")
    at = {"start of IDAT": start + 12, "middle of IDAT": (start + end) // 2, "end of IDAT": end - 6, "IDAT CRC": end - 2}
    data[at[where]] ^= 0x10
    _refused_as_corrupt(bytes(data), limits)


@pytest.mark.parametrize("where", ["IDAT CRC", "IEND CRC"])
def test_damage_a_full_decode_misses_is_refused(limits, where):
    """Pillow checks no CRC from the image data on: it decodes these as if intact."""
    data = bytearray(PNGS_SENT_AS_IS["photo"]())
    _, end = _offset(bytes(data), where[:4].encode())
    data[end - 3] ^= 0x10
    decode(bytes(data))
    _refused_as_corrupt(bytes(data), limits)


def test_damaged_chunk_after_the_image_data_is_refused(limits):
    data = bytearray(PNGS_SENT_AS_IS["late text"]())
    start, _ = _offset(bytes(data), b"tEXt")
    data[start + 9] ^= 0x01
    _refused_as_corrupt(bytes(data), limits)


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d[:8] + d[8:].replace(b"IDAT", b"ID4T", 1),  # not a chunk type
        lambda d: _before_iend(d, struct.pack(">I", 1 << 31) + b"tEXt"),  # impossible length
    ],
)
def test_broken_chunk_structure_is_refused(limits, damage):
    _refused_as_corrupt(damage(PNGS_SENT_AS_IS["photo"]()), limits)


def test_bad_zlib_header_is_refused(limits):
    data = bytearray(PNGS_SENT_AS_IS["photo"]())
    start, end = _offset(bytes(data), b"IDAT")
    data[start + 8 : start + 10] = b"\x78\x00"  # (0x7800 % 31) != 0
    data[end - 4 : end] = struct.pack(">I", zlib.crc32(bytes(data[start + 4 : end - 4])))
    _refused_as_corrupt(bytes(data), limits)


def test_bytes_after_iend_are_still_sent_as_they_are(limits):
    data = PNGS_SENT_AS_IS["photo"]() + b"appended by some app"
    assert prepare_image(data, limits=limits).data == data


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_damaged_image_that_needs_converting_is_judged_by_decoding_as_before(limits, fmt):
    data = encode(noise((64, 48)).convert("P") if fmt == "PNG" else Image.new("CMYK", (64, 48)), fmt)
    _refused_as_corrupt(data[: len(data) // 2], limits)


@pytest.mark.parametrize(
    ("chunk", "orientation"),
    [
        (_exif_chunk(6), 6),
        (_exif_chunk(1), 1),
        (_text_chunk(b"Raw profile type exif", b""), 1),  # no EXIF in it: ignored as before
        (png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + b'<x tiff:Orientation="6"/>'), 6),
    ],
)
def test_png_orientation_after_the_image_data_is_still_applied(limits, chunk, orientation):
    data = _before_iend(encode(halves((80, 40)), "PNG"), chunk)
    out = prepare_image(data, limits=limits)
    assert out.orientation == orientation
    if orientation == 1:
        assert out.data == data and not out.reencoded
        return
    im = decode(out.data)
    assert out.reencoded and out.format == "png" and im.size == (40, 80) == out.size
    assert im.getpixel((20, 10))[:3] == (255, 0, 0) and im.getpixel((20, 70))[:3] == (0, 0, 255)
    assert any("EXIF orientation" in n for n in out.notes)


def test_png_orientation_after_the_image_data_overrides_the_one_before(limits):
    """Pillow keeps the last eXIf; a file that is sent as it is after decoding still has its
    chunks checked (here: cut right before IEND)."""
    data = encode(halves((80, 40)), "PNG", exif=_exif_tag(6))
    data = _before_iend(data, _exif_chunk(1))
    assert prepare_image(data, limits=limits).data == data
    iend, _ = _offset(data, b"IEND")
    _refused_as_corrupt(data[:iend], limits)


def _exif_tag(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def test_single_frame_apng_is_decoded_and_its_chunks_checked(limits):
    png = encode(gradient((16, 16)), "PNG")
    ihdr_end = _offset(png, b"IHDR")[1]
    actl = png_chunk(b"acTL", struct.pack(">II", 1, 0))
    fctl = png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", 0, 16, 16, 0, 0, 1, 10, 0, 0))
    data = png[:ihdr_end] + actl + fctl + png[ihdr_end:]
    assert not decode(data).is_animated
    assert prepare_image(data, limits=limits).data == data
    iend, _ = _offset(data, b"IEND")
    _refused_as_corrupt(data[:iend], limits)


@pytest.mark.parametrize("default_image", [False, True])
def test_animated_png_is_still_reduced_to_its_first_frame(limits, default_image):
    frames = [Image.new("RGB", (16, 16), c) for c in ((0, 255, 0), (255, 0, 0), (0, 0, 255))]
    data = encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100, default_image=default_image)
    out = prepare_image(data, limits=limits)
    assert out.reencoded and out.converted and out.format == "png"
    im = decode(out.data)
    assert not getattr(im, "is_animated", False) and im.convert("RGB").getpixel((4, 4)) == (0, 255, 0)
    assert "used only the first frame of the animated PNG" in out.notes


@pytest.mark.parametrize("lossless", [False, True])
def test_animated_webp_is_still_reduced_to_its_first_frame(limits, lossless):
    frames = [Image.new("RGB", (16, 16), c) for c in ((0, 255, 0), (255, 0, 0))]
    data = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100, lossless=lossless)
    out = prepare_image(data, limits=limits)
    assert out.reencoded and out.converted and out.format == "webp"
    im = decode(out.data)
    assert not getattr(im, "is_animated", False)
    assert _is(im.convert("RGB").getpixel((4, 4)), (0, 255, 0), tol=8)
    assert "used only the first frame of the animated WebP" in out.notes


JPEGS_SENT_AS_IS = {
    "baseline": lambda: encode(gradient((64, 48)), "JPEG", quality=90),
    "progressive": lambda: encode(gradient((64, 48)), "JPEG", quality=90, progressive=True),
    "4:4:4": lambda: encode(noise((64, 48)), "JPEG", quality=90, subsampling=0),
    "greyscale": lambda: encode(noise((64, 48), "L"), "JPEG", quality=90),
    "restart markers": lambda: encode(noise((64, 48)), "JPEG", quality=90, restart_marker_rows=1),
}


@pytest.mark.parametrize("name", JPEGS_SENT_AS_IS)
def test_jpeg_sent_as_is_is_decoded_at_reduced_scale_only(monkeypatch, limits, name):
    data = JPEGS_SENT_AS_IS[name]()
    loaded: list[tuple[int, int]] = []
    load = JpegImagePlugin.JpegImageFile.load

    def spy(self):
        loaded.append(self.size)
        return load(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", spy)
    out = prepare_image(data, limits=limits)
    assert out.data == data and not out.reencoded and out.size == (64, 48)
    assert loaded == [(8, 6)]


@pytest.mark.parametrize("name", JPEGS_SENT_AS_IS)
@pytest.mark.parametrize("cut", ["half of EOI", "before EOI", "in the last bytes", "middle", "after the scan header"])
def test_truncated_jpeg_that_would_be_sent_as_is_is_refused(limits, name, cut):
    data = JPEGS_SENT_AS_IS[name]()
    sos = data.index(b"\xff\xda")
    at = {
        "half of EOI": len(data) - 1,
        "before EOI": len(data) - 2,
        "in the last bytes": len(data) - 12,
        "middle": (sos + len(data)) // 2,
        "after the scan header": sos + 20,
    }[cut]
    _refused_as_corrupt(data[:at], limits)


def test_jpeg_reduced_decode_failing_falls_back_to_the_full_decode(monkeypatch, limits):
    data = JPEGS_SENT_AS_IS["baseline"]()

    def broken(self, mode, size):
        raise OSError("no reduced decoding today")

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", broken)
    assert prepare_image(data, limits=limits).data == data
    _refused_as_corrupt(data[:-2], limits)


def test_webp_sent_as_is_is_still_fully_decoded(limits, photo_webp):
    _refused_as_corrupt(photo_webp[:-10], limits)
    assert prepare_image(photo_webp, limits=limits).data == photo_webp
