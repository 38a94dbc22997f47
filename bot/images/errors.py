"""Errors raised by the image domain, and the words members read about them.

`ImageRejected` (and its subclass `MaskRejected`) carry a stable `reason_code` for
logs/metrics and a member-facing `message` that says what to do; `str(exc)` is the
message, so a cog can show it as is. `DeliveryError` means provider output could not
be made to fit Discord's upload limit; it is an operator-level failure, not the
member's fault.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from bot.text import image_errors

MIB = 1024 * 1024

Subject = Literal["image", "mask"]


class RejectReason(StrEnum):
    EMPTY = "empty"
    FILE_TOO_LARGE = "file_too_large"  # input bytes over ImageLimits.max_input_bytes
    NOT_AN_IMAGE = "not_an_image"  # bytes are not a recognised image format
    UNSUPPORTED_FORMAT = "unsupported_format"  # recognised (e.g. HEIC) but not decodable here
    CORRUPT = "corrupt"  # recognised format, but truncated or damaged
    TOO_MANY_PIXELS = "too_many_pixels"  # decompression-bomb ceiling
    NOT_SQUARE = "not_square"  # model needs a square image (dall-e-2)
    CANNOT_FIT = "cannot_fit"  # could not be re-encoded/downscaled under the model's limits
    MASK_SHAPE_MISMATCH = "mask_shape_mismatch"
    MASK_TOO_LARGE = "mask_too_large"
    NOTHING_PAINTED = "nothing_painted"  # painted copy: (almost) no difference from the image
    NOT_A_COPY = "not_a_copy"  # painted copy: (almost) everything differs, e.g. another photo


class ImageRejected(Exception):
    """The member's file cannot be used; `message` is safe to show to the member."""

    def __init__(self, reason_code: RejectReason | str, message: str) -> None:
        super().__init__(message)
        self.reason_code = RejectReason(reason_code)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason_code.value!r}, {self.message!r})"


class MaskRejected(ImageRejected):
    """The member's mask cannot be used (not an image, wrong shape, too large...)."""


class DeliveryError(Exception):
    """Output images could not be fitted into Discord messages (never dropped silently)."""

    def __init__(self, message: str, *, index: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.index = index  # 1-based position of the offending image, when known


# --- sizes as people say them ----------------------------------------------------------


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


def reject(
    error: type[ImageRejected], subject: Subject, reason: RejectReason, **fmt: str
) -> ImageRejected:
    return error(reason, image_errors.rejected(subject, RejectReason(reason).value, **fmt))


def check_input_bytes(
    data: bytes, *, max_input_bytes: int | None, error: type[ImageRejected], subject: Subject
) -> None:
    if not data:
        raise reject(error, subject, RejectReason.EMPTY)
    if max_input_bytes is not None and len(data) > max_input_bytes:
        raise error(
            RejectReason.FILE_TOO_LARGE,
            image_errors.file_too_large(subject, format_mb(len(data)), format_mb(max_input_bytes)),
        )


def too_many_pixels(error: type[ImageRejected], subject: Subject, size: tuple[int, int] | None, limit: int) -> ImageRejected:
    what = image_errors.too_many_pixels_what(dims(size) if size else None, _megapixels(size[0] * size[1]) if size else "")
    return reject(error, subject, RejectReason.TOO_MANY_PIXELS, what=what, limit=_megapixels(limit))
