"""Image builders for the image-domain tests: every input is generated with Pillow."""

from __future__ import annotations

import io
import random
import struct
import zlib

from PIL import Image, ImageDraw, ImageFilter


def encode(im: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def decode(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def halves(size: tuple[int, int], left=(255, 0, 0), right=(0, 0, 255), mode: str = "RGB") -> Image.Image:
    """Left half one colour, right half another."""
    w, h = size
    im = Image.new(mode, size, right)
    im.paste(Image.new(mode, (w // 2, h), left), (0, 0))
    return im


def gradient(size: tuple[int, int]) -> Image.Image:
    """A smooth, photo-ish RGB image (compresses like a photo, not like noise)."""
    w, h = size
    r = Image.linear_gradient("L").resize(size)
    g = Image.linear_gradient("L").rotate(90).resize(size)
    b = Image.radial_gradient("L").resize(size)
    return Image.merge("RGB", (r, g, b))


def noise(size: tuple[int, int], mode: str = "RGB", seed: int = 1) -> Image.Image:
    """Incompressible pixels: the worst case for any encoder."""
    bands = len(mode)
    data = random.Random(seed).randbytes(size[0] * size[1] * bands)
    return Image.frombytes(mode, size, data)


def with_exif_orientation(im: Image.Image, orientation: int, fmt: str = "JPEG", **params) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(im, fmt, exif=exif.tobytes(), **params)


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def patch_png_size(data: bytes, width: int, height: int) -> bytes:
    """Rewrite the IHDR of a PNG to claim another size (with a correct CRC)."""
    assert data[12:16] == b"IHDR"
    ihdr = struct.pack(">II", width, height) + data[24:29]
    return data[:8] + png_chunk(b"IHDR", ihdr) + data[33:]


def real_png_bomb(width: int, height: int) -> bytes:
    """A fully valid greyscale PNG of zeros: tiny on disk, `width*height` bytes decoded."""
    row = b"\x00" * (width + 1)  # filter byte + pixels
    comp = zlib.compressobj(9)
    parts = [comp.compress(row * 256) for _ in range(height // 256)]
    parts.append(comp.compress(row * (height % 256)))
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", b"".join(parts))
        + png_chunk(b"IEND", b"")
    )


def gif_claiming(frame_size: tuple[int, int], screen: tuple[int, int] = (10, 10)) -> bytes:
    """A GIF whose logical screen is small but whose first frame claims `frame_size`."""
    header = b"GIF89a" + struct.pack("<HHBBB", *screen, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    descriptor = b"," + struct.pack("<HHHHB", 0, 0, *frame_size, 0)
    return header + descriptor + b"\x02\x02\x4c\x01\x00" + b";"


def animated_gif(colors: list[tuple[int, int, int]], size=(16, 16)) -> bytes:
    frames = [Image.new("RGB", size, c) for c in colors]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def heic_like() -> bytes:
    """The start of an HEIC file (ISO-BMFF `ftyp` box with the `heic` brand)."""
    return struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic" + b"\x00" * 64


def photo(size: tuple[int, int], seed: int = 1) -> Image.Image:
    """Photo-like RGB: a gradient with fine texture (blurred noise) and a few solid shapes
    with hard edges, the things that make comparing two versions of a picture hard."""
    im = Image.blend(gradient(size), noise(size, seed=seed).filter(ImageFilter.GaussianBlur(1.5)), 0.35)
    draw, rnd = ImageDraw.Draw(im), random.Random(seed)
    w, h = size
    for _ in range(12):
        x, y, r = rnd.randrange(w), rnd.randrange(h), rnd.randrange(5, max(6, w // 6))
        colour = tuple(rnd.randrange(256) for _ in range(3))
        shape = draw.ellipse if rnd.random() < 0.5 else draw.rectangle
        shape((x - r, y - r, x + r, y + r // 2), fill=colour)
    return im


MAGENTA = (255, 0, 255)
T = Image.Transpose
# what a phone stores for a picture that shows upright with this EXIF orientation
STORED = {1: None, 3: T.ROTATE_180, 6: T.ROTATE_90, 8: T.ROTATE_270}


def painted_area(size: tuple[int, int], shape: str) -> Image.Image:
    """Mode L, 255 where the member paints."""
    area = Image.new("L", size, 0)
    draw, (w, h) = ImageDraw.Draw(area), size
    if shape == "blob":
        draw.ellipse((w * 0.2, h * 0.25, w * 0.55, h * 0.7), fill=255)
    elif shape == "stroke":  # a thick brush stroke with a bend
        draw.line([(w * 0.1, h * 0.8), (w * 0.4, h * 0.5), (w * 0.8, h * 0.6)], fill=255, width=max(4, w // 25), joint="curve")
    elif shape == "corner":  # touches the image edges
        draw.rectangle((w * 0.7, 0, w, h * 0.3), fill=255)
    else:
        raise ValueError(shape)
    return area


def painted_copy(
    src: Image.Image,
    area: Image.Image | None,
    *,
    colour: tuple[int, int, int] = MAGENTA,
    scale: float = 1.0,
    shift: int = 0,
    orientation: int = 1,
    quality: int = 70,
) -> bytes:
    copy = src.copy()
    if area is not None:
        copy.paste(colour, (0, 0), area)
    if scale != 1.0:
        copy = copy.resize((round(src.width * scale), round(src.height * scale)), Image.Resampling.LANCZOS)
    if shift:
        copy = copy.point(lambda v: max(0, min(255, v + shift)))
    method = STORED[orientation]
    if method is None:
        return encode(copy, "JPEG", quality=quality)
    return with_exif_orientation(copy.transpose(method), orientation, quality=quality)
