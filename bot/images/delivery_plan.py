"""Fit the provider's output images into Discord messages.

Discord caps the total size of the files attached to one message
(`interaction.filesize_limit`, 10 MiB without boosts; treated here as a per-message total)
and the number of files (10). `plan_delivery`:

- delivers every image byte-for-byte as the provider sent it whenever it fits, as the
  very same buffers (ImageBytes pieces are neither joined nor copied: only the first bytes
  are read, to sniff the format);
- names files `edit-1.png`, `edit-2.jpg`, ... by their position in the provider's answer,
  with the extension of the REAL format of the bytes (the provider's hint is only used
  when the bytes are not recognised);
- packs them in order into as few messages as possible (≤ `max_files` each, total ≤ the
  limit minus a safety margin for the multipart envelope and the message JSON); messages
  after the first are meant as follow-ups;
- re-encodes only an image that is over the budget on its own: lossless WebP first when the
  source is lossless and that can plausibly fit, then WebP (if it has transparency) or JPEG
  (if not) at quality 90/85/80/75, then downscaling, until it fits; such files are marked
  `reencoded=True` with a note for the member;
- never drops an image: if one cannot be made to fit, `DeliveryError` is raised.

`plan_delivery` is synchronous CPU work; use `plan_delivery_async` from the event loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Iterable

from bot.text import image_errors, image_notes

from .decode import decode
from .errors import DeliveryError, ImageRejected, dims, format_mb
from .formats import (
    CONTENT_TYPES,
    EXTENSIONS,
    ImageBytes,
    OutputImage,
    label_for,
    sniff_format,
    webp_is_lossless,
)
from .pixels import alpha_is_meaningful, encode_to_fit, normalize_mode

MAX_FILES = 10
DEFAULT_MARGIN = 64 * 1024
OUTPUT_MAX_PIXELS = 100_000_000  # bomb guard when decoding an output to re-encode it
_MIN_EDGE = 256
_LOSSY_LADDER = (90, 85, 80, 75)
_LOSSLESS = frozenset({"png", "gif", "bmp", "tiff"})


@dataclass(frozen=True)
class DeliveredFile:
    filename: str
    content: bytes | ImageBytes = field(repr=False)  # the provider's own buffers when not re-encoded
    format: str  # canonical format of the file ("unknown" if not recognised)
    reencoded: bool
    original_bytes: int  # size of what the provider sent
    note: str | None = None
    index: int = 0  # 1-based position in the provider's answer

    @property
    def data(self) -> bytes:
        """The file as one `bytes`: joins the pieces of an ImageBytes, a copy on every call.
        Uploads send `content` as it is."""
        return bytes(self.content)

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES.get(self.format, "application/octet-stream")


@dataclass(frozen=True)
class Message:
    files: list[DeliveredFile]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def default_margin(limit_bytes: int) -> int:
    """64 KiB of headroom for the multipart envelope and payload_json (1/16 for tiny limits)."""
    return DEFAULT_MARGIN if limit_bytes >= 1024 * 1024 else limit_bytes // 16


def plan_delivery(
    images: Iterable[OutputImage],
    *,
    limit_bytes: int,
    max_files: int = MAX_FILES,
    margin_bytes: int | None = None,
    stem: str = "edit",
) -> list[Message]:
    """Group (and, only where unavoidable, re-encode) output images into Discord messages."""
    images = list(images)
    if limit_bytes <= 0:
        raise ValueError("limit_bytes must be positive")
    if max_files < 1:
        raise ValueError("max_files must be at least 1")
    margin = default_margin(limit_bytes) if margin_bytes is None else margin_bytes
    budget = limit_bytes - margin
    if budget <= 0:
        raise ValueError(f"margin_bytes ({margin}) leaves no room under limit_bytes ({limit_bytes})")

    files = [_deliverable(i, image, budget=budget, limit_bytes=limit_bytes, stem=stem) for i, image in enumerate(images, 1)]

    messages: list[Message] = []
    current: list[DeliveredFile] = []
    used = 0
    for f in files:
        if current and (len(current) >= max_files or used + f.size > budget):
            messages.append(Message(current))
            current, used = [], 0
        current.append(f)
        used += f.size
    if current:
        messages.append(Message(current))
    return messages


async def plan_delivery_async(
    images: Iterable[OutputImage],
    *,
    limit_bytes: int,
    max_files: int = MAX_FILES,
    margin_bytes: int | None = None,
    stem: str = "edit",
) -> list[Message]:
    """`plan_delivery` in a worker thread (re-encoding is CPU heavy)."""
    return await asyncio.to_thread(
        plan_delivery,
        list(images),
        limit_bytes=limit_bytes,
        max_files=max_files,
        margin_bytes=margin_bytes,
        stem=stem,
    )


def _canonical_hint(hint: str | None) -> str | None:
    if not hint:
        return None
    hint = hint.lower().lstrip(".")
    hint = {"jpg": "jpeg", "tif": "tiff"}.get(hint, hint)
    return hint if hint in EXTENSIONS else None


def _deliverable(index: int, image: OutputImage, *, budget: int, limit_bytes: int, stem: str) -> DeliveredFile:
    data = image.content
    fmt = sniff_format(data) or _canonical_hint(image.format)
    if len(data) <= budget:
        if fmt is None:
            return DeliveredFile(
                filename=f"{stem}-{index}.bin",
                content=data,
                format="unknown",
                reencoded=False,
                original_bytes=len(data),
                note=image_notes.unknown_output_format(),
                index=index,
            )
        return DeliveredFile(
            filename=f"{stem}-{index}.{EXTENSIONS[fmt]}",
            content=data,
            format=fmt,
            reencoded=False,
            original_bytes=len(data),
            index=index,
        )
    # Decoding needs one buffer: the only place an image's pieces are joined.
    out, out_fmt, note = _reencode(index, bytes(data), budget=budget, limit_bytes=limit_bytes)
    return DeliveredFile(
        filename=f"{stem}-{index}.{EXTENSIONS[out_fmt]}",
        content=out,
        format=out_fmt,
        reencoded=True,
        original_bytes=len(data),
        note=note,
        index=index,
    )


def _reencode(index: int, data: bytes, *, budget: int, limit_bytes: int) -> tuple[bytes, str, str]:
    limit = format_mb(limit_bytes)
    try:
        dec = decode(data, max_decoded_pixels=OUTPUT_MAX_PIXELS, error=ImageRejected, subject="image")
    except ImageRejected as exc:
        raise DeliveryError(
            image_errors.output_undecodable(index, format_mb(len(data)), limit, exc.reason_code.value),
            index=index,
        ) from None
    im, icc, _ = normalize_mode(dec.display_image, dec.icc_profile)
    alpha = alpha_is_meaningful(im)

    ladder: list[tuple[str, int | None]] = []
    lossless_source = dec.format in _LOSSLESS or (dec.format == "webp" and webp_is_lossless(data))
    if lossless_source and len(data) <= budget * 1.6:
        ladder.append(("webp", None))  # lossless WebP is typically 20-30% smaller than PNG
    lossy = "webp" if alpha else "jpeg"  # JPEG cannot keep transparency
    ladder.extend((lossy, q) for q in _LOSSY_LADDER)

    fitted = encode_to_fit(im, ladder, budget, icc=icc, min_edge=_MIN_EDGE)
    if fitted is None:
        raise DeliveryError(
            image_errors.output_cannot_fit(index, dims(im.size), format_mb(len(data)), limit),
            index=index,
        )
    out, (fmt, quality), final = fitted
    scaled = (dims(im.size), dims(final.size)) if final.size != im.size else None
    return out, fmt, image_notes.output_reencoded(label_for(fmt), quality, scaled=scaled, limit=limit)
