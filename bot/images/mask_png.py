"""The mask as the provider takes it: `PreparedMask`, and alpha → RGBA PNG under a byte budget.

Every mask source (an uploaded mask, a region, a painted copy) ends here, so they all
produce the same thing: a PNG, mode RGBA, alpha 0 = edit, colour channels the inverse of
alpha (white = edit, for providers that read masks by luminance).

Binary masks (alpha only 0/255 — every region and painted mask, most uploads) are written
by `binary_png` instead of Pillow's PNG encoder. Pillow tries several PNG filters on every
row that differs from the one above, which on a 4096×4096 RGBA mask costs ~350 ms of CPU;
a mask is long runs, so the "Up" filter alone turns it into zeros that zlib's run-length
strategy packs as small as the adaptive choice, in less than half the time. Soft masks
keep Pillow's encoder (its adaptive filters pay off on gradients and noise).
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass, field
from typing import Literal

from PIL import Image, ImageChops

from bot.text import image_errors, image_notes

from .errors import MaskRejected, RejectReason, format_mb

MaskSource = Literal["alpha", "luminance", "region", "painted"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_FILTER_UP = b"\x02"
_BAND_ROWS = 256  # rows per step: a few MB per Pillow call keeps each one short (event loop)


@dataclass(frozen=True)
class PreparedMask:
    data: bytes = field(repr=False)
    format: str  # always "png"
    content_type: str  # always "image/png"
    width: int
    height: int
    original_width: int  # the uploaded file (its own EXIF orientation applied); the image size for a region
    original_height: int
    converted: bool  # alpha derived (black/white mask, painted copy), not taken as uploaded
    resized: bool
    notes: list[str] = field(default_factory=list)
    # "alpha" (kept), "luminance" (from black/white), "region" (built from /edit region),
    # "painted" (derived from a painted copy of the image)
    source: MaskSource = "alpha"
    edit_fraction: float = 0.0  # share of pixels marked for editing (alpha == 0)
    rotated: bool = False  # turned like the image (mask matched its unrotated pixels)
    label: str = ""  # what the mask is, for the summary: "region rect 10,20,50,40"
    # The alpha as encoded (mode L), kept so a preview need not decode a 4096² PNG again
    # (~200 ms). Read-only; None when the mask was built elsewhere from bytes.
    alpha: Image.Image | None = field(default=None, repr=False, compare=False)

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)

    @property
    def filename(self) -> str:
        return "mask.png"

    @property
    def summary(self) -> str:
        """One line for the edit summary: where the mask came from and how much it covers."""
        return image_notes.mask_summary(self.source, coverage_words(self.edit_fraction), self.label)


def coverage_words(fraction: float) -> str:
    """0.2 -> "20%", 0.004 -> "0.4%", 0.0001 -> "under 0.1%"."""
    pct = fraction * 100
    if pct >= 10 or pct == 0:
        return f"{pct:.0f}%"
    if pct < 0.1:
        return image_notes.coverage_under("0.1%")
    return f"{pct:.1f}%".replace(".0%", "%")


def is_binary(alpha: Image.Image) -> bool:
    return sum(alpha.histogram()[1:255]) == 0


def threshold(alpha: Image.Image) -> Image.Image:
    return alpha.point(lambda v: 0 if v < 128 else 255)


def make_prepared_mask(
    alpha: Image.Image,
    *,
    source: MaskSource,
    max_bytes: int,
    uploaded: tuple[int, int] | None = None,
    converted: bool = False,
    resized: bool = False,
    rotated: bool = False,
    notes: list[str] | None = None,
    label: str = "",
) -> tuple[PreparedMask, Image.Image]:
    """Encode `alpha` (mode L, final size) and wrap it; also returns the alpha as encoded
    (it differs from the input when soft edges had to be simplified to fit `max_bytes`)."""
    notes = list(notes or [])
    hist = alpha.histogram()
    data, encoded, shrink_note = encode_mask(alpha, max_bytes, binary=sum(hist[1:255]) == 0)
    if shrink_note:
        notes.append(shrink_note)
        hist = encoded.histogram()
    w, h = encoded.size
    mask = PreparedMask(
        data=data,
        format="png",
        content_type="image/png",
        width=w,
        height=h,
        original_width=(uploaded or encoded.size)[0],
        original_height=(uploaded or encoded.size)[1],
        converted=converted,
        resized=resized,
        notes=notes,
        source=source,
        edit_fraction=hist[0] / (w * h),
        rotated=rotated,
        label=label,
        alpha=encoded,
    )
    return mask, encoded


# --- encoding ---------------------------------------------------------------------------


def encode_mask(
    alpha: Image.Image, max_bytes: int, *, binary: bool | None = None
) -> tuple[bytes, Image.Image, str | None]:
    """RGBA PNG of `alpha` within `max_bytes`: maximum zlib compression, then soft alpha
    posterized to 16 levels (0 and 255 kept exact), then a hard 0/255 threshold.
    Returns (png, the alpha encoded, a note when the mask had to be simplified).
    `binary`: whether alpha is only 0/255, when the caller already knows."""
    if binary is None:
        binary = is_binary(alpha)
    out = binary_png(alpha) if binary else pillow_png(alpha, 6)
    if len(out) <= max_bytes:
        return out, alpha, None
    out = pillow_png(alpha, 9)
    if len(out) <= max_bytes:
        return out, alpha, None
    limit = format_mb(max_bytes)
    if not binary:
        levels = alpha.point(lambda v: v if v in (0, 255) else min(254, (v // 16) * 16 + 8))
        out = pillow_png(levels, 9)
        if len(out) <= max_bytes:
            return out, levels, image_notes.mask_edges_reduced(limit)
        hard = threshold(alpha)
        out = min(binary_png(hard), pillow_png(hard, 9), key=len)
        if len(out) <= max_bytes:
            return out, hard, image_notes.mask_edges_hardened(limit)
    raise MaskRejected(
        RejectReason.MASK_TOO_LARGE,
        image_errors.mask_too_detailed(limit),
    )


_INVERT = [255 - v for v in range(256)]
_NEGATE = [(256 - v) % 256 for v in range(256)]


def _rgba(alpha: Image.Image) -> Image.Image:
    """The RGBA mask: colour = 255 − alpha. Merged band by band: `Image.merge` holds the
    GIL, ~10 ms for a whole 4096² image, too long for the event loop."""
    w, h = alpha.size
    rgba = Image.new("RGBA", alpha.size)
    for top in range(0, h, _BAND_ROWS):
        band = alpha.crop((0, top, w, min(h, top + _BAND_ROWS)))
        inverse = band.point(_INVERT)
        rgba.paste(Image.merge("RGBA", (inverse, inverse, inverse, band)), (0, top))
    return rgba


def pillow_png(alpha: Image.Image, compress_level: int) -> bytes:
    buf = io.BytesIO()
    _rgba(alpha).save(buf, "PNG", compress_level=compress_level)
    return buf.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def binary_png(alpha: Image.Image) -> bytes:
    """RGBA PNG of `alpha`, every row "Up"-filtered, deflated with the run-length strategy.

    Correct for any alpha (a soft one just compresses worse than with adaptive filters).
    The filter is computed on the alpha channel alone — for the colour channels, whose
    value is 255 − alpha, "this row − the row above" is just its negation — and the RGBA
    rows are assembled a band of rows at a time, so no single Pillow call runs long.
    """
    w, h = alpha.size
    stride = 4 * w
    comp = zlib.compressobj(6, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    idat: list[bytes] = []
    for top in range(0, h, _BAND_ROWS):
        rows = min(_BAND_ROWS, h - top)
        band = alpha.crop((0, top, w, top + rows))
        above = alpha.crop((0, top - 1, w, top + rows - 1))  # above the image: zeros (crop pads)
        up_alpha = ImageChops.subtract_modulo(band, above)
        up_colour = up_alpha.point(_NEGATE)
        if top == 0:  # the row above the image is 0 in every channel: the colour row is just 255 − alpha
            up_colour.paste(band.crop((0, 0, w, 1)).point(_INVERT), (0, 0))
        data = memoryview(Image.merge("RGBA", (up_colour, up_colour, up_colour, up_alpha)).tobytes())
        for start in range(0, len(data), stride):
            idat.append(comp.compress(_FILTER_UP))
            idat.append(comp.compress(data[start : start + stride]))
    idat.append(comp.flush())
    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)  # 8-bit RGBA, deflate, no interlace
    return b"".join(
        (_PNG_SIGNATURE, _chunk(b"IHDR", header), _chunk(b"IDAT", b"".join(idat)), _chunk(b"IEND", b""))
    )
