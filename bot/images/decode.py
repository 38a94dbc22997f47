"""Decoding a member's file safely: format by content, decompression bombs, EXIF orientation.

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
from dataclasses import dataclass
from typing import Callable

from PIL import Image, UnidentifiedImageError

from .errors import ImageRejected, RejectReason, Subject, reject, too_many_pixels
from .formats import PIL_FORMATS, can_decode, label_for, sniff_format

log = logging.getLogger(__name__)

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
        raise too_many_pixels(error, subject, None, max_decoded_pixels) from None
    except UnidentifiedImageError:
        raise reject(error, subject, RejectReason.CORRUPT) from None
    except Exception as exc:  # plugins raise SyntaxError, OSError, ValueError, struct.error, ...
        log.debug("cannot open %s: %r", fmt, exc)
        raise reject(error, subject, RejectReason.CORRUPT) from None

    stored = im.size
    if stored[0] < 1 or stored[1] < 1:
        raise reject(error, subject, RejectReason.CORRUPT)
    if stored[0] * stored[1] > max_decoded_pixels:  # header only: nothing decoded yet
        raise too_many_pixels(error, subject, stored, max_decoded_pixels)

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
        raise too_many_pixels(error, subject, None, max_decoded_pixels) from None
    except MemoryError:
        raise too_many_pixels(error, subject, stored, max_decoded_pixels) from None
    except Exception as exc:  # truncated ("image file is truncated"), bad CRC, broken stream...
        log.debug("cannot decode %s: %r", fmt, exc)
        raise reject(error, subject, RejectReason.CORRUPT) from None

    # Some formats learn their real extent while decoding (GIF frames past the screen).
    if im.size[0] * im.size[1] > max_decoded_pixels:
        raise too_many_pixels(error, subject, im.size, max_decoded_pixels)
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
