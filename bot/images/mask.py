"""Prepare an edit mask for a prepared image from the member's `mask` upload.

Output: always a PNG, mode RGBA, exactly the size of the image that is sent, where
alpha = 0 marks the area to edit (OpenAI semantics). The colour channels are written as
the inverse of alpha (white where alpha is 0, black where it is 255), so a provider that
reads masks by luminance ("white = edit") sees the same area (`mask_png`).

How the alpha is obtained:
- The mask has a meaningful alpha channel (RGBA/LA/palette or colour-key transparency,
  with at least one pixel below 255): that alpha is kept as is, soft edges included.
- Otherwise (no alpha, or fully opaque alpha) it is read as a black/white mask by
  luminance with a hard threshold: pixels at least 50% grey (L >= 128) become alpha 0
  (edit), darker ones alpha 255 (keep). A threshold rather than inverted luminance as
  alpha, because the provider only treats fully transparent (alpha 0) pixels as editable;
  a note is added when the mask has a noticeable amount of grey.

Geometry (`mask_shape`): the mask's own EXIF orientation is applied first; it must have
the shape of the image as the member saw it (or of its unrotated pixels, then it is
turned like the image); it is then resized to the prepared image's size. Binary masks
are resized smoothly then re-thresholded so edges stay hard; soft masks bilinearly.

Size: the PNG must be under `limits.mask_max_bytes` (4 MB); see `mask_png.encode_mask`.
"""

from __future__ import annotations

from PIL import Image

from .decode import Decoded, decode
from .errors import MaskRejected, check_input_bytes, dims
from .mask_png import PreparedMask, is_binary, make_prepared_mask, threshold
from .mask_shape import RATIO_TOLERANCE, match_image_shape
from .pixels import has_alpha, normalize_mode
from .prepare import GPT_IMAGE_LIMITS, ImageLimits, PreparedImage

__all__ = ["LUMINANCE_THRESHOLD", "RATIO_TOLERANCE", "PreparedMask", "prepare_mask", "prepare_mask_for"]

LUMINANCE_THRESHOLD = 128  # L >= 128 (white-ish) = edit


def prepare_mask(
    data: bytes,
    *,
    image_size: tuple[int, int],
    limits: ImageLimits = GPT_IMAGE_LIMITS,
    original_size: tuple[int, int] | None = None,
    orientation: int = 1,
) -> PreparedMask:
    """Validate and convert a member's mask (its alpha channel, or black and white).

    `image_size`: size of the image actually sent (the mask will have exactly this size).
    `original_size`: the member's image as displayed, before downscaling (defaults to
    `image_size`). `orientation`: the EXIF orientation applied to the image. With a
    `PreparedImage` at hand, `prepare_mask_for` fills the three in.
    """
    target = (int(image_size[0]), int(image_size[1]))
    if target[0] < 1 or target[1] < 1:
        raise ValueError(f"bad image_size {image_size!r}")
    display = (int(original_size[0]), int(original_size[1])) if original_size is not None else target
    dec = _decode_mask(data, limits)
    return _from_upload(dec.display_image, target=target, display=display, orientation=orientation, limits=limits)


def prepare_mask_for(data: bytes, image: PreparedImage, *, limits: ImageLimits = GPT_IMAGE_LIMITS) -> PreparedMask:
    """`prepare_mask` against a `PreparedImage` (its sent size, displayed size, orientation)."""
    return prepare_mask(
        data,
        image_size=image.size,
        original_size=image.original_size,
        orientation=image.orientation,
        limits=limits,
    )


# --- an uploaded mask -------------------------------------------------------------------


def _decode_mask(data: bytes, limits: ImageLimits) -> Decoded:
    check_input_bytes(data, max_input_bytes=limits.max_input_bytes, error=MaskRejected, subject="mask")
    return decode(
        data,
        max_decoded_pixels=limits.max_decoded_pixels,
        error=MaskRejected,
        subject="mask",
    )


def _from_upload(
    mask: Image.Image,
    *,
    target: tuple[int, int],
    display: tuple[int, int],
    orientation: int,
    limits: ImageLimits,
) -> PreparedMask:
    uploaded = mask.size
    notes: list[str] = []
    alpha, source, grey_share = _alpha_of(mask)
    if source == "luminance":
        notes.append("converted the black-and-white mask: white areas will be edited")
        if grey_share > 0.02:
            notes.append("the mask has grey areas: those lighter than 50% grey will be edited")

    alpha, rotated = match_image_shape(alpha, target=target, display=display, orientation=orientation)
    if rotated:
        notes.append("rotated the mask like the photo (it matched the photo's unrotated pixels)")

    resized = alpha.size != target
    if resized:
        notes.append(f"resized the mask {dims(alpha.size)} → {dims(target)} to match the image")
        alpha = _resize_alpha(alpha, target)

    mask_out, alpha = make_prepared_mask(
        alpha,
        source=source,
        max_bytes=limits.mask_max_bytes,
        uploaded=uploaded,
        converted=source == "luminance",
        resized=resized,
        rotated=rotated,
        notes=notes,
    )
    if mask_out.edit_fraction == 0:
        mask_out.notes.append("the mask marks nothing for editing (no transparent or white area)")
    elif mask_out.edit_fraction == 1:
        mask_out.notes.append("the mask marks the whole image for editing")
    return mask_out


# --- helpers ----------------------------------------------------------------------------


def _luma(im: Image.Image) -> Image.Image:
    if im.mode == "L":
        return im
    norm, _, _ = normalize_mode(im, None)
    return norm.convert("L")


def _alpha_of(mask: Image.Image) -> tuple[Image.Image, str, float]:
    """(alpha, source, share of mid-grey pixels in a luminance mask)."""
    if has_alpha(mask):
        rgba = mask if mask.mode in ("RGBA", "LA") else mask.convert("RGBA")
        alpha = rgba.getchannel("A")
        if alpha.getextrema()[0] < 255:
            return alpha, "alpha", 0.0
    luma = _luma(mask)
    grey = sum(luma.histogram()[32:224]) / (luma.size[0] * luma.size[1])
    return luma.point(lambda v: 0 if v >= LUMINANCE_THRESHOLD else 255), "luminance", grey


def _resize_alpha(alpha: Image.Image, size: tuple[int, int]) -> Image.Image:
    binary = is_binary(alpha)
    out = alpha.resize(size, Image.Resampling.BILINEAR)
    return threshold(out) if binary else out
