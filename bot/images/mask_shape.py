"""Does a member's mask (or painted copy) fit the image they saw? Turn it like the image if needed.

The member drew on the image as Discord DISPLAYED it: EXIF orientation applied, before our
downscaling, i.e. `PreparedImage.original_size`. A mask of that size or of the same aspect
ratio (within 1%) fits. As a courtesy, one that instead matches the image's stored
(unrotated) pixels of a 90°-rotated photo — made in a tool that ignores EXIF — is turned the
same way as the image. Anything else is refused with both sizes in the message.
"""

from __future__ import annotations

from PIL import Image

from bot.text import image_errors

from .decode import ORIENTATION_TRANSPOSE, SWAPS_AXES
from .errors import MaskRejected, RejectReason, dims

RATIO_TOLERANCE = 0.01


def same_shape(a: tuple[int, int], b: tuple[int, int]) -> bool:
    ra, rb = a[0] / a[1], b[0] / b[1]
    return abs(ra / rb - 1.0) <= RATIO_TOLERANCE


def match_image_shape(
    im: Image.Image,
    *,
    target: tuple[int, int],
    display: tuple[int, int],
    orientation: int,
) -> tuple[Image.Image, bool]:
    """(`im`, possibly turned like the image; whether it was turned). Raises `MaskRejected`."""
    size = im.size
    if size == target or same_shape(size, display) or same_shape(size, target):
        return im, False
    if orientation in SWAPS_AXES and same_shape(size, (display[1], display[0])):
        return im.transpose(ORIENTATION_TRANSPOSE[orientation]), True
    raise MaskRejected(
        RejectReason.MASK_SHAPE_MISMATCH,
        image_errors.mask_shape_mismatch(dims(size), dims(display)),
    )
