"""Pillow plumbing shared by prepare, mask and fit (internal to `bot.images`).

Decompression bombs and thread safety: nothing here reads or mutates Pillow's process-wide
`Image.MAX_IMAGE_PIXELS`. The header is parsed by the sniffed format's plugin alone
(`_open_header`), our own ceiling (`max_decoded_pixels`) is checked on that size before any
pixel is decoded, and checked again after decoding the first frame (GIF frames can extend
the canvas). The checks Pillow makes inside some plugins while decoding (GIF frame extents,
TIFF tiles) still use the global setting; their `DecompressionBombError` — and
`DecompressionBombWarning` when warnings are turned into errors — are reported as "too many
pixels" too. Each call works on its own `Image` objects, so calls may run concurrently in
worker threads (Pillow releases the GIL while decoding, resizing and encoding).
"""

from __future__ import annotations

import io
import logging
import math
from dataclasses import dataclass
from typing import Callable, Literal

from PIL import Image, UnidentifiedImageError

from .errors import ImageRejected, RejectReason
from .sniff import PIL_FORMATS, can_decode, label_for, sniff_format

log = logging.getLogger(__name__)

MIB = 1024 * 1024

T = Image.Transpose
# EXIF orientation -> the transpose that shows the image the way viewers (and Discord) do.
ORIENTATION_TRANSPOSE: dict[int, Image.Transpose] = {
    2: T.FLIP_LEFT_RIGHT,
    3: T.ROTATE_180,
    4: T.FLIP_TOP_BOTTOM,
    5: T.TRANSPOSE,
    6: T.ROTATE_270,
    7: T.TRANSVERSE,
    8: T.ROTATE_90,
}
SWAPS_AXES = frozenset({5, 6, 7, 8})
ORIENTATION_WORDS = {
    2: "mirrored",
    3: "rotated 180°",
    4: "flipped vertically",
    5: "rotated 90° and mirrored",
    6: "rotated 90°",
    7: "rotated 270° and mirrored",
    8: "rotated 270°",
}

Subject = Literal["image", "mask"]


def dims(size: tuple[int, int]) -> str:
    return f"{size[0]}×{size[1]}"


def format_mb(n: int) -> str:
    """Byte counts as people say them: 10 MiB -> "10 MB", 25_000_000 -> "25 MB"."""
    for unit in (MIB, 1_000_000):
        if n % unit == 0:
            return f"{n // unit} MB"
    if n >= 1_000_000:
        return f"{n / MIB:.1f} MB"
    return f"{max(1, round(n / 1024))} KB"


def _megapixels(pixels: int) -> str:
    mp = pixels / 1_000_000
    return f"{mp:.0f} MP" if mp >= 10 else f"{mp:.1f} MP"


# --- member-facing messages -------------------------------------------------------------


def _messages(subject: Subject) -> dict[RejectReason, str]:
    if subject == "mask":
        return {
            RejectReason.EMPTY: "The mask file is empty. Upload it again.",
            RejectReason.NOT_AN_IMAGE: (
                "The mask isn't an image Retouch can read. Upload a PNG where transparent "
                "(or white) areas mark what to edit."
            ),
            RejectReason.UNSUPPORTED_FORMAT: "{label} masks aren't supported here. Upload the mask as a PNG.",
            RejectReason.CORRUPT: "The mask file is damaged or incomplete. Re-save it as a PNG and try again.",
            RejectReason.TOO_MANY_PIXELS: (
                "The mask {what} to process safely (the limit is {limit}). "
                "Make it the same size as the image."
            ),
        }
    return {
        RejectReason.EMPTY: "That file is empty. Upload the image again.",
        RejectReason.NOT_AN_IMAGE: "That file isn't an image Retouch can read (PNG, JPEG, WebP, GIF, BMP or TIFF).",
        RejectReason.UNSUPPORTED_FORMAT: (
            "{label} images aren't supported here. Export it as JPEG or PNG (on iPhone: "
            "Settings → Camera → Formats → Most Compatible) and try again."
        ),
        RejectReason.CORRUPT: (
            "That image is damaged or incomplete, so Retouch can't read it. "
            "Re-save or re-upload it and try again."
        ),
        RejectReason.TOO_MANY_PIXELS: (
            "That image {what} to process safely (the limit is {limit}). Scale it down and try again."
        ),
    }


def reject(
    error: type[ImageRejected], subject: Subject, reason: RejectReason, **fmt: str
) -> ImageRejected:
    return error(reason, _messages(subject)[reason].format(**fmt))


def check_input_bytes(
    data: bytes, *, max_input_bytes: int | None, error: type[ImageRejected], subject: Subject
) -> None:
    if not data:
        raise reject(error, subject, RejectReason.EMPTY)
    if max_input_bytes is not None and len(data) > max_input_bytes:
        what = "The mask file" if subject == "mask" else "That file"
        raise error(
            RejectReason.FILE_TOO_LARGE,
            f"{what} is {format_mb(len(data))}; Retouch accepts files up to {format_mb(max_input_bytes)}. "
            "Scale it down or export it as JPEG and try again.",
        )


# --- decoding ---------------------------------------------------------------------------


@dataclass
class Decoded:
    image: Image.Image  # the first frame, loaded, in the stored (not EXIF-applied) orientation
    format: str  # canonical name from the bytes
    stored_size: tuple[int, int]  # from the header, before any JPEG draft reduction
    orientation: int  # EXIF orientation 1..8 (1 = none)
    animated: bool  # more than one frame/page (only the first is used)
    icc_profile: bytes | None

    @property
    def display_size(self) -> tuple[int, int]:
        w, h = self.stored_size
        return (h, w) if self.orientation in SWAPS_AXES else (w, h)

    @property
    def display_image(self) -> Image.Image:
        """The loaded frame with EXIF orientation applied (a new image if it changed)."""
        method = ORIENTATION_TRANSPOSE.get(self.orientation)
        return self.image.transpose(method) if method is not None else self.image


def _too_many(error: type[ImageRejected], subject: Subject, size: tuple[int, int] | None, limit: int) -> ImageRejected:
    what = f"is {dims(size)} pixels ({_megapixels(size[0] * size[1])}), too large" if size else "has too many pixels"
    return reject(error, subject, RejectReason.TOO_MANY_PIXELS, what=what, limit=_megapixels(limit))


def decode(
    data: bytes,
    *,
    max_decoded_pixels: int,
    error: type[ImageRejected],
    subject: Subject,
    draft: Callable[[tuple[int, int]], tuple[int, int] | None] | None = None,
) -> Decoded:
    """Identify, bomb-check, then fully decode the first frame of `data`.

    `draft(stored_size)` may return a size the image will be downscaled to anyway; JPEGs
    are then decoded at a reduced DCT scale (at least twice that size), which saves most of
    the memory and time of decoding big camera photos.
    """
    fmt = sniff_format(data)
    if fmt is None:
        raise reject(error, subject, RejectReason.NOT_AN_IMAGE)
    if not can_decode(fmt):
        raise reject(error, subject, RejectReason.UNSUPPORTED_FORMAT, label=label_for(fmt))
    try:
        im = _open_header(data, fmt)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many(error, subject, None, max_decoded_pixels) from None
    except UnidentifiedImageError:
        raise reject(error, subject, RejectReason.CORRUPT) from None
    except Exception as exc:  # plugins raise SyntaxError, OSError, ValueError, struct.error, ...
        log.debug("cannot open %s: %r", fmt, exc)
        raise reject(error, subject, RejectReason.CORRUPT) from None

    stored = im.size
    if stored[0] < 1 or stored[1] < 1:
        raise reject(error, subject, RejectReason.CORRUPT)
    if stored[0] * stored[1] > max_decoded_pixels:  # header only: nothing decoded yet
        raise _too_many(error, subject, stored, max_decoded_pixels)

    drafted = False
    try:
        animated = bool(getattr(im, "is_animated", False))
        if animated:
            im.seek(0)
        if draft is not None and fmt == "jpeg":
            target = draft(stored)
            if target is not None:
                drafted = im.draft(None, (target[0] * 2, target[1] * 2)) is not None
        im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many(error, subject, None, max_decoded_pixels) from None
    except MemoryError:
        raise _too_many(error, subject, stored, max_decoded_pixels) from None
    except Exception as exc:  # truncated ("image file is truncated"), bad CRC, broken stream...
        log.debug("cannot decode %s: %r", fmt, exc)
        raise reject(error, subject, RejectReason.CORRUPT) from None

    # Some formats learn their real extent while decoding (GIF frames past the screen).
    if im.size[0] * im.size[1] > max_decoded_pixels:
        raise _too_many(error, subject, im.size, max_decoded_pixels)
    if not drafted:
        stored = im.size

    icc = im.info.get("icc_profile") or None
    return Decoded(
        image=im,
        format=fmt,
        stored_size=stored,
        orientation=read_orientation(im),
        animated=animated,
        icc_profile=icc if isinstance(icc, bytes) else None,
    )


def _open_header(data: bytes, fmt: str) -> Image.Image:
    """Parse the header with the plugin of the sniffed format only (lazy: no pixel decoded).

    The plugin's factory is called directly rather than through `Image.open`, whose own
    size check would compare against the process-wide `Image.MAX_IMAGE_PIXELS` (warning
    above ~89 MP, failing above ~179 MP). Our caller enforces its own ceiling on `im.size`
    right after, so the effective limit is per call and nothing global is read or changed.
    """
    entry = Image.OPEN.get(PIL_FORMATS[fmt])
    if entry is None:  # registry changed under us: fall back to the public API
        return Image.open(io.BytesIO(data), formats=[PIL_FORMATS[fmt]])
    factory, accept = entry
    if accept is not None:
        verdict = accept(bytes(data[:16]))
        if not verdict or isinstance(verdict, str):
            raise UnidentifiedImageError(f"not a valid {fmt} header")
    return factory(io.BytesIO(data), "")


def read_orientation(im: Image.Image) -> int:
    try:
        value = int(im.getexif().get(0x0112, 1))
    except Exception:  # malformed EXIF must not make the image unreadable
        return 1
    return value if 1 <= value <= 8 else 1


# --- pixel modes ------------------------------------------------------------------------

_MODE_WORDS = {
    "P": "palette",
    "PA": "palette",
    "1": "1-bit",
    "LA": "greyscale+alpha",
    "La": "greyscale+alpha",
    "CMYK": "CMYK",
    "I;16": "16-bit greyscale",
    "I;16L": "16-bit greyscale",
    "I;16B": "16-bit greyscale",
    "I;16N": "16-bit greyscale",
    "I": "32-bit greyscale",
    "F": "floating-point greyscale",
    "YCbCr": "YCbCr",
    "LAB": "Lab",
    "HSV": "HSV",
}


def has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or im.has_transparency_data


def alpha_is_meaningful(im: Image.Image) -> bool:
    """True when some pixel is not fully opaque."""
    if not has_alpha(im):
        return False
    alpha = (im if im.mode in ("RGBA", "LA") else im.convert("RGBA")).getchannel("A")
    return alpha.getextrema()[0] < 255


def _icc_space(icc: bytes | None) -> bytes | None:
    return icc[16:20] if icc and len(icc) >= 20 else None


def icc_for_mode(icc: bytes | None, mode: str) -> bytes | None:
    """Keep an ICC profile only where its colour space fits the pixel mode."""
    space = _icc_space(icc)
    if space == b"RGB " and mode in ("RGB", "RGBA"):
        return icc
    if space == b"GRAY" and mode in ("L", "LA"):
        return icc
    return None


def _to_8bit_grey(im: Image.Image) -> Image.Image:
    if im.mode == "F":
        hi = im.getextrema()[1]
        scale = 255.0 if hi <= 1.0 else 255.0 / hi
        return im.point(lambda v: v * scale).convert("L")
    src = im if im.mode == "I" else im.convert("I")  # I;16 variants hold 0..65535
    hi = src.getextrema()[1]
    if im.mode == "I" and hi <= 255:
        return src.convert("L")
    scale = 255.0 / 65535 if hi <= 65535 else 255.0 / hi
    return src.point(lambda v: v * scale).convert("L")


def _cmyk_to_rgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    if _icc_space(icc) == b"CMYK":
        try:
            from PIL import ImageCms

            return ImageCms.profileToProfile(
                im,
                ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                ImageCms.createProfile("sRGB"),
                outputMode="RGB",
            )
        except Exception as exc:  # broken profile: fall back to the naive conversion
            log.debug("CMYK ICC conversion failed: %r", exc)
    return im.convert("RGB")


def normalize_mode(im: Image.Image, icc: bytes | None) -> tuple[Image.Image, bytes | None, str | None]:
    """Return the image in RGB, RGBA or L (the modes every encoder and provider take),
    the ICC profile still valid for it, and a note when the mode changed meaningfully."""
    mode = im.mode
    if mode in ("RGB", "L"):
        if im.has_transparency_data:  # tRNS colour key: make it a real alpha channel
            out = im.convert("RGBA")
            return out, icc_for_mode(icc, out.mode), None
        return im, icc_for_mode(icc, mode), None
    if mode == "RGBA":
        return im, icc_for_mode(icc, mode), None
    if mode == "CMYK":
        out = _cmyk_to_rgb(im, icc)
        return out, None, "converted CMYK colours to RGB"
    if mode.startswith("I") or mode == "F":
        out = _to_8bit_grey(im)
        return out, icc_for_mode(icc, "L"), f"converted {_MODE_WORDS.get(mode, mode)} to 8-bit"
    if mode == "1":
        return im.convert("L"), icc_for_mode(icc, "L"), None
    out = im.convert("RGBA" if has_alpha(im) else "RGB")
    return out, icc_for_mode(icc, out.mode), None


# --- geometry and encoding --------------------------------------------------------------


def resize(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    if im.size == size:
        return im
    if im.mode not in ("RGB", "RGBA", "L", "LA"):
        im = im.convert("RGBA" if has_alpha(im) else "RGB")
    # reducing_gap: an integer box reduction first, then LANCZOS; near-identical quality, much faster.
    return im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def scaled(size: tuple[int, int], factor: float) -> tuple[int, int]:
    return max(1, math.floor(size[0] * factor)), max(1, math.floor(size[1] * factor))


def encode(im: Image.Image, fmt: str, *, quality: int | None = None, icc: bytes | None = None) -> bytes:
    """Encode `im` as png / jpeg / webp. `quality=None` means lossless for WebP and 95 for JPEG.
    Metadata (EXIF, text) is never copied; only a fitting ICC profile is embedded."""
    buf = io.BytesIO()
    if fmt == "png":
        im.save(buf, "PNG", icc_profile=icc_for_mode(icc, im.mode))
    elif fmt == "jpeg":
        if im.mode not in ("RGB", "L"):
            im = im.convert("RGB")
        q = 95 if quality is None else quality
        im.save(
            buf,
            "JPEG",
            quality=q,
            subsampling=0 if q >= 90 else 2,  # 4:4:4 for high quality, 4:2:0 below
            icc_profile=icc_for_mode(icc, im.mode),
        )
    elif fmt == "webp":
        if im.mode not in ("RGB", "RGBA"):
            im = im.convert("RGBA" if has_alpha(im) else "RGB")
        if quality is None:
            # method 1: within ~1-2% of method 3's size at a fifth of the time (~0.7 s for 8 MP)
            im.save(buf, "WEBP", lossless=True, quality=25, method=1, icc_profile=icc_for_mode(icc, im.mode) or "")
        else:
            im.save(buf, "WEBP", quality=quality, method=4, icc_profile=icc_for_mode(icc, im.mode) or "")
    else:
        raise ValueError(f"cannot encode {fmt!r}")
    return buf.getvalue()
