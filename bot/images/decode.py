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

Bytes sent as they are (`check_intact`): decoding the first frame is the usual proof that a
file is whole, but what will be sent unchanged needs only its header's facts and proof that
its bytes are complete and intact. A PNG's chunks carry CRCs and end with IEND, so they are
checked without inflating the image data; a JPEG is decoded at 1/8 scale (every entropy-coded
block is still read, up to the end of the image); other formats are fully decoded.
"""

from __future__ import annotations

import io
import logging
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum

from PIL import Image, PngImagePlugin, UnidentifiedImageError

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


@dataclass
class Header:
    """What a file says about itself once its header is parsed: nothing decoded yet."""

    image: Image.Image  # opened by the plugin of the sniffed format, no pixel decoded
    format: str  # canonical name from the bytes
    stored_size: tuple[int, int]
    mode: str  # the pixel mode as the header tells (what a PNG or JPEG decodes to)
    orientation: int  # EXIF orientation from the metadata read so far (see `check_intact`)
    animated: bool  # more than one frame/page

    @property
    def display_size(self) -> tuple[int, int]:
        w, h = self.stored_size
        return (h, w) if self.orientation in SWAPS_AXES else (w, h)


class Intact(Enum):
    """What `check_intact` could tell without decoding the pixels at full size."""

    FINAL = "final"  # complete and intact, and the header's facts are what a decode would find
    DECODE = "decode"  # complete and intact, but metadata follows the pixels: decode to read it
    UNKNOWN = "unknown"  # not checked: only a full decode tells


def read_header(
    data: bytes,
    *,
    max_decoded_pixels: int,
    error: type[ImageRejected],
    subject: Subject,
) -> Header:
    """Identify `data` by its bytes, parse its header and refuse a bomb by the size it claims."""
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
    with _decoding(fmt, stored, max_decoded_pixels, error, subject):
        animated = bool(getattr(im, "is_animated", False))  # GIF: skims the frames, decodes none
    return Header(
        image=im,
        format=fmt,
        stored_size=stored,
        mode=im.mode,
        orientation=_orientation_in(im.info),
        animated=animated,
    )


def decode(
    data: bytes,
    *,
    max_decoded_pixels: int,
    error: type[ImageRejected],
    subject: Subject,
    draft: Callable[[tuple[int, int]], tuple[int, int] | None] | None = None,
    header: Header | None = None,
) -> Decoded:
    """Identify, bomb-check, then fully decode the first frame of `data`.

    `draft(stored_size)` may return a size the image will be downscaled to anyway; JPEGs
    are then decoded at a reduced DCT scale (at least twice that size), which saves most of
    the memory and time of decoding big camera photos. `header`: what `read_header`
    returned for these bytes, when the caller has it already (its image is decoded here).
    """
    head = header or read_header(data, max_decoded_pixels=max_decoded_pixels, error=error, subject=subject)
    im, fmt, stored = head.image, head.format, head.stored_size
    drafted = False
    with _decoding(fmt, stored, max_decoded_pixels, error, subject):
        if head.animated:
            im.seek(0)
        if draft is not None and fmt == "jpeg":
            target = draft(stored)
            if target is not None:
                drafted = im.draft(None, (target[0] * 2, target[1] * 2)) is not None
        im.load()

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
        animated=head.animated,
        icc_profile=icc if isinstance(icc, bytes) else None,
    )


@contextmanager
def _decoding(
    fmt: str, stored: tuple[int, int], max_decoded_pixels: int, error: type[ImageRejected], subject: Subject
) -> Iterator[None]:
    """What decoding may raise, as the member's words."""
    try:
        yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_many_pixels(error, subject, None, max_decoded_pixels) from None
    except MemoryError:
        raise too_many_pixels(error, subject, stored, max_decoded_pixels) from None
    except Exception as exc:  # truncated ("image file is truncated"), bad CRC, broken stream...
        log.debug("cannot decode %s: %r", fmt, exc)
        raise reject(error, subject, RejectReason.CORRUPT) from None


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


def check_intact(data: bytes, head: Header, *, error: type[ImageRejected], subject: Subject) -> Intact:
    """Whether `data`, read by `read_header` into `head`, is complete and intact, checked
    without decoding its pixels at full size (for bytes that may be sent as they are).

    Raises `error` (CORRUPT) when the bytes are damaged for certain. `head.image` is not
    touched: `decode(header=head)` still works after.
    - PNG: `check_container` (every chunk's length and CRC-32 up to IEND, no inflating);
      metadata that follows the image data (eXIf, text...) makes it `Intact.DECODE`, an
      APNG `UNKNOWN`.
    - JPEG: `check_container` (an end-of-image marker), then a decode at 1/8 scale: every
      block's Huffman codes are still read, up to the end of the image, so it fails where
      a full decode fails on truncated or broken data, but the IDCT is mostly skipped and
      only the luma is converted. Any failure there is `UNKNOWN`: the full decode judges.
    - Other formats: `UNKNOWN`.
    """
    if head.format == "png":
        if _is_apng(head.image):  # frames follow the image data
            return Intact.UNKNOWN
        late_metadata = check_container(data, "png", error=error, subject=subject)
        return Intact.DECODE if late_metadata else Intact.FINAL
    if head.format == "jpeg" and not head.animated:
        check_container(data, "jpeg", error=error, subject=subject)
        try:
            im = _open_header(data, "jpeg")
            if im.size != head.stored_size or im.mode != head.mode:
                return Intact.UNKNOWN
            im.draft("L" if im.mode == "RGB" else None, (1, 1))  # smallest DCT scale, luma only
            im.load()
        except Exception as exc:  # the full decode gives the verdict (and its words)
            log.debug("reduced jpeg decode failed: %r", exc)
            return Intact.UNKNOWN
        return Intact.FINAL
    return Intact.UNKNOWN


def check_container(data: bytes, fmt: str, *, error: type[ImageRejected], subject: Subject) -> bool:
    """Check that the file is whole where a lenient decoder does not, before its bytes are
    sent as they are. Raises `error` (CORRUPT) when damaged.

    PNG: every chunk complete, its type four ASCII letters, its CRC-32 right, up to an IEND
    (bytes after it are ignored, as decoders do); the zlib header of the image data valid.
    Pillow decodes a PNG without its last IDAT bytes (the zlib checksum), its IEND or any
    CRC from the image data on; a truncated download or a flipped byte is refused here.
    Returns True when a full decode is still needed to learn the file's facts: chunks that
    Pillow reads after the image data (eXIf, text with EXIF or XMP, tRNS...), image data
    split by other chunks, or none at all.
    JPEG: an end-of-image marker after the start of the first scan (Pillow decodes some
    files that lack it: libjpeg only warns). Bytes after it are allowed.
    Other formats: nothing checked.
    """
    if fmt == "png":
        return _check_png_chunks(data, error, subject)
    if fmt == "jpeg":
        sos = _jpeg_first_scan(data)
        # In scan data a 0xFF byte is followed by 0x00 or a restart marker: FF D9 is the end.
        if sos is not None and data.rfind(b"\xff\xd9", sos) < 0:
            raise _damaged(error, subject, "jpeg without its end-of-image marker")
    return False


def _check_png_chunks(data: bytes, error: type[ImageRejected], subject: Subject) -> bool:
    view = memoryview(data)
    pos, end = 8, len(data)
    idat = after_idat = needs_decode = False
    while True:
        if end - pos < 12:
            raise _damaged(error, subject, "png truncated before IEND")
        length = int.from_bytes(view[pos : pos + 4], "big")
        kind = bytes(view[pos + 4 : pos + 8])
        stop = pos + 8 + length
        if length > 0x7FFFFFFF or not kind.isalpha():
            raise _damaged(error, subject, f"png chunk {kind!r} of {length} bytes")
        if stop + 4 > end:
            raise _damaged(error, subject, f"png truncated in {kind!r}")
        if zlib.crc32(view[pos + 4 : stop]) != int.from_bytes(view[stop : stop + 4], "big"):
            raise _damaged(error, subject, f"png CRC of {kind!r}")
        if kind == b"IEND":
            return needs_decode or not idat
        if kind == b"IDAT":
            if not idat and length >= 2 and not _zlib_header_ok(view[pos + 8 : pos + 10]):
                raise _damaged(error, subject, "png zlib header")
            needs_decode |= after_idat  # image data split by other chunks: the decoder judges
            idat = True
        elif idat:
            after_idat = True
            # A chunk Pillow reads after the image data may change what decoding tells (EXIF).
            needs_decode |= hasattr(PngImagePlugin.PngStream, f"chunk_{kind.decode('ascii')}")
        pos = stop + 4


def _jpeg_first_scan(data: bytes) -> int | None:
    """Offset of the first SOS marker, walking the segments from SOI (None if lost)."""
    pos, end = 2, len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
        elif marker == 0xDA:
            return pos
        elif marker == 0x01 or 0xD0 <= marker <= 0xD8:  # no length
            pos += 2
        else:
            pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return None


def _damaged(error: type[ImageRejected], subject: Subject, what: str) -> ImageRejected:
    log.debug("damaged: %s", what)
    return reject(error, subject, RejectReason.CORRUPT)


def _zlib_header_ok(head: memoryview) -> bool:
    cmf, flg = head[0], head[1]
    return cmf & 0x0F == 8 and cmf >> 4 <= 7 and (cmf << 8 | flg) % 31 == 0 and not flg & 0x20


def _is_apng(im: Image.Image) -> bool:
    png = getattr(im, "png", None)
    return png is None or png.im_n_frames is not None or getattr(im, "custom_mimetype", None) == "image/apng"


def _orientation_in(info: dict) -> int:
    """`read_orientation` from the metadata read so far, without letting a plugin decode the
    image to look for more (a PNG's `getexif()` loads it when no eXIf came before IDAT)."""
    carrier = Image.new("1", (1, 1))
    carrier.info = dict(info)
    return read_orientation(carrier)


def read_orientation(im: Image.Image) -> int:
    try:
        value = int(im.getexif().get(0x0112, 1))
    except Exception:  # malformed EXIF must not make the image unreadable
        return 1
    return value if 1 <= value <= 8 else 1
