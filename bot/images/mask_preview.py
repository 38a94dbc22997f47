"""`mask_preview:True` — the image with the area to edit drawn over it, for the member to confirm.

Whatever made the mask (an upload, a region, a painted copy), the member sees the same
thing: the image as displayed (upright), scaled to at most `PREVIEW_MAX_EDGE` on its long
edge, the edit area tinted semi-transparent magenta and outlined in solid magenta, as a
JPEG under `PREVIEW_MAX_BYTES` (Discord shows it inline; a photo with a tint compresses to
a few hundred KB). Pure Pillow; `render_mask_preview_async` runs it in a worker thread.
"""

from __future__ import annotations

import asyncio
import io

from PIL import Image, ImageChops

from .decode import decode
from .errors import ImageRejected
from .inputs import PreparedInput
from .mask_png import PreparedMask
from .morphology import dilate, erode
from .pixels import encode_to_fit, has_alpha
from .prepare import GPT_IMAGE_LIMITS, ImageLimits, PreparedImage

PREVIEW_MAX_EDGE = 1024
PREVIEW_MAX_BYTES = 2_000_000
PREVIEW_FILENAME = "mask-preview.jpg"
TINT = (255, 0, 255)
TINT_OPACITY = 0.45
_LADDER: list[tuple[str, int | None]] = [("jpeg", 90), ("jpeg", 80)]  # 90+: full-res colour (crisp outline)


def render_mask_preview(
    image: PreparedInput | PreparedImage | bytes,
    mask: PreparedMask | None = None,
    *,
    max_edge: int = PREVIEW_MAX_EDGE,
    limits: ImageLimits = GPT_IMAGE_LIMITS,
) -> bytes:
    """JPEG bytes of the preview (`PREVIEW_FILENAME` is a fitting name).

    `image`: a `PreparedInput` (its own mask is used), a `PreparedImage`, or the member's
    original image bytes (shown upright; the mask is scaled to it, same shape assumed).
    Raises ValueError when there is no mask, `ImageRejected` for unreadable image bytes.
    """
    if isinstance(image, PreparedInput):
        mask = mask or image.mask
        image = image.image
    if mask is None:
        raise ValueError("a mask preview needs a mask")
    base = _base(image.data if isinstance(image, PreparedImage) else image, max_edge, limits)
    edit = _edit_area(mask, base.size)
    overlay = Image.new("RGB", base.size, TINT)
    shown = Image.composite(overlay, base, edit.point(lambda v: round(v * TINT_OPACITY)))
    outline = ImageChops.subtract(dilate(edit, 1), erode(edit, 1))  # ~3 px wide along the contour
    shown.paste(overlay, (0, 0), outline)
    fitted = encode_to_fit(shown, _LADDER, PREVIEW_MAX_BYTES)
    if fitted is None:  # cannot happen for ≤1024 px JPEGs; keep the contract anyway
        raise ValueError("mask preview does not fit its byte budget")
    return fitted[0]


async def render_mask_preview_async(
    image: PreparedInput | PreparedImage | bytes,
    mask: PreparedMask | None = None,
    *,
    max_edge: int = PREVIEW_MAX_EDGE,
    limits: ImageLimits = GPT_IMAGE_LIMITS,
) -> bytes:
    return await asyncio.to_thread(render_mask_preview, image, mask, max_edge=max_edge, limits=limits)


def _base(data: bytes, max_edge: int, limits: ImageLimits) -> Image.Image:
    """The image upright, RGB, fitted into `max_edge` (a JPEG is decoded at a reduced scale)."""

    def fit(size: tuple[int, int]) -> tuple[int, int]:
        scale = min(1.0, max_edge / max(size))
        return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))

    dec = decode(data, max_decoded_pixels=limits.max_decoded_pixels, error=ImageRejected, subject="image", draft=fit)
    im = dec.display_image
    if has_alpha(im):  # as Discord shows transparency: on a neutral background
        background = Image.new("RGBA", im.size, (54, 57, 63, 255))
        im = Image.alpha_composite(background, im.convert("RGBA"))
    im = im.convert("RGB")
    target = fit(im.size)
    return im if im.size == target else im.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _edit_area(mask: PreparedMask, size: tuple[int, int]) -> Image.Image:
    """Mode L at `size`: 255 where the mask says edit (alpha below 128), else 0."""
    alpha = mask.alpha
    if alpha is None:
        with Image.open(io.BytesIO(mask.data)) as im:
            alpha = im.getchannel("A") if "A" in im.getbands() else im.convert("L").point(lambda v: 255 - v)
    if alpha.size != size:
        alpha = alpha.resize(size, Image.Resampling.BOX if alpha.width > size[0] else Image.Resampling.BILINEAR)
    return alpha.point(lambda v: 255 if v < 128 else 0)
