"""A small copy of an input image for the content check (bot/edits/safety.py).

A moderation model needs no more than a few hundred pixels to classify a picture, and
the check is on the path of every edit: a 512-pixel JPEG is ~30-60 KB as a data URL
instead of megabytes, so it uploads and is read fast. Decoded with the same bomb checks as
the image sent for editing (a JPEG at a reduced DCT scale), EXIF orientation applied,
transparency flattened onto white. CPU work: call `check_copy_async` (a worker thread).
"""

from __future__ import annotations

import asyncio
import io

from PIL import Image

from .decode import decode
from .errors import ImageRejected
from .prepare import GPT_IMAGE_LIMITS

CHECK_EDGE = 512
CHECK_QUALITY = 85
CONTENT_TYPE = "image/jpeg"


def _fit(size: tuple[int, int], edge: int) -> tuple[int, int] | None:
    w, h = size
    if max(w, h) <= edge:
        return None
    scale = edge / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def check_copy(data: bytes, *, edge: int = CHECK_EDGE) -> bytes:
    """A JPEG no larger than `edge` on its longer side (ImageRejected: not a usable image)."""
    decoded = decode(
        data,
        max_decoded_pixels=GPT_IMAGE_LIMITS.max_decoded_pixels,
        error=ImageRejected,
        subject="image",
        draft=lambda stored: _fit(stored, edge),
    )
    im = decoded.display_image
    if im.mode in ("P", "PA", "LA", "La", "RGBa") or "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode == "RGBA":
        background = Image.new("RGB", im.size, (255, 255, 255))
        background.paste(im, mask=im.getchannel("A"))
        im = background
    elif im.mode != "RGB":
        im = im.convert("RGB")
    target = _fit(im.size, edge)
    if target is not None:
        im = im.resize(target, Image.Resampling.BILINEAR, reducing_gap=2.0)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=CHECK_QUALITY)
    return out.getvalue()


async def check_copy_async(data: bytes, *, edge: int = CHECK_EDGE) -> bytes:
    return await asyncio.to_thread(check_copy, data, edge=edge)
