"""Errors raised by the image domain.

`ImageRejected` (and its subclass `MaskRejected`) carry a stable `reason_code` for
logs/metrics and a member-facing `message` that says what to do; `str(exc)` is the
message, so a cog can show it as is. `DeliveryError` means provider output could not
be made to fit Discord's upload limit; it is an operator-level failure, not the
member's fault.
"""

from __future__ import annotations

from enum import StrEnum


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
