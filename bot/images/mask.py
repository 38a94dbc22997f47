"""Prepare an edit mask for a prepared image from the member's `mask` upload.

Output: always a PNG, mode RGBA, exactly the size of the image that is sent, where
alpha = 0 marks the area to edit (OpenAI semantics). The colour channels are written as
the inverse of alpha (white where alpha is 0, black where it is 255), so a provider that
reads masks by luminance ("white = edit") sees the same area (`mask_png`).

What the upload is (`prepare_mask_for` decides; `prepare_mask`, which knows only sizes,
takes the first two):
- A mask with a meaningful alpha channel (RGBA/LA/palette or colour-key transparency,
  with at least one pixel below 255): that alpha is kept as is, soft edges included.
- A black/white mask (no colour, nearly all pixels near black or white): read by
  luminance with a hard threshold: pixels at least 50% grey (L >= 128) become alpha 0
  (edit), darker ones alpha 255 (keep). A threshold rather than inverted luminance as
  alpha, because the provider only treats fully transparent (alpha 0) pixels as editable;
  a note is added when the mask has a noticeable amount of grey.
- Anything else (a colourful picture, a grey one with many mid-tones) is taken for a
  *painted copy* of the image and the mask is derived from the differences (`painted`).
  If it turns out not to be a copy of the image, a grey mask or a two-tone one is read by
  luminance after all (as before painted copies existed); a colourful one is refused.

Geometry (`mask_shape`): the mask's own EXIF orientation is applied first; it must have
the shape of the image as the member saw it (or of its unrotated pixels, then it is
turned like the image); it is then resized to the prepared image's size. Binary masks
are resized smoothly then re-thresholded so edges stay hard; soft masks bilinearly.

Size: the PNG must be under `limits.mask_max_bytes` (4 MB); see `mask_png.encode_mask`.
"""

from __future__ import annotations

from PIL import Image, ImageChops

from bot.text import image_notes

from .decode import Decoded, decode
from .errors import MaskRejected, RejectReason, check_input_bytes, dims
from .mask_png import PreparedMask, is_binary, make_prepared_mask, threshold
from .mask_shape import RATIO_TOLERANCE, match_image_shape
from .painted import mask_from_copy, work_size
from .pixels import alpha_is_meaningful, has_alpha, normalize_mode
from .prepare import GPT_IMAGE_LIMITS, ImageLimits, PreparedImage

__all__ = ["LUMINANCE_THRESHOLD", "RATIO_TOLERANCE", "PreparedMask", "prepare_mask", "prepare_mask_for"]

LUMINANCE_THRESHOLD = 128  # L >= 128 (white-ish) = edit
MAX_MIDTONES = 0.10  # a black/white mask has at most this share of mid-grey pixels
COLOURFUL_SHARE = 0.02  # a picture is colourful when this share of it has clear colour
_CLEAR_COLOUR = 40  # max − min of R, G, B above this is a colour, not a tinted grey


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
    `PreparedImage` at hand, use `prepare_mask_for`, which also accepts painted copies.
    """
    target = (int(image_size[0]), int(image_size[1]))
    if target[0] < 1 or target[1] < 1:
        raise ValueError(f"bad image_size {image_size!r}")
    display = (int(original_size[0]), int(original_size[1])) if original_size is not None else target
    dec = _decode_mask(data, limits)
    return _from_upload(dec.display_image, target=target, display=display, orientation=orientation, limits=limits)


def prepare_mask_for(data: bytes, image: PreparedImage, *, limits: ImageLimits = GPT_IMAGE_LIMITS) -> PreparedMask:
    """The mask for a `PreparedImage`, whatever the member uploaded: a mask with
    transparency, a black-and-white mask, or a painted copy of the image."""
    # A JPEG is decoded at a reduced scale first: enough to tell what it is, and all a
    # painted copy needs. Anything read as a mask is decoded again at full size.
    dec = _decode_mask(data, limits, draft=True)
    upright = dec.display_image
    geometry = {"target": image.size, "display": image.original_size, "orientation": image.orientation}

    def as_upload() -> PreparedMask:
        full = dec if dec.image.size == dec.stored_size else _decode_mask(data, limits)
        return _from_upload(full.display_image, limits=limits, **geometry)

    if alpha_is_meaningful(upright):
        return as_upload()
    colourful, two_tone = _colourful(upright), _two_tone(upright)
    if two_tone and not colourful:
        return as_upload()
    try:
        return mask_from_copy(upright, image, limits=limits, uploaded=dec.display_size)
    except MaskRejected as exc:
        if exc.reason_code == RejectReason.NOT_A_COPY and (two_tone or not colourful):
            return as_upload()
        raise


# --- an uploaded mask -------------------------------------------------------------------


def _decode_mask(data: bytes, limits: ImageLimits, *, draft: bool = False) -> Decoded:
    check_input_bytes(data, max_input_bytes=limits.max_input_bytes, error=MaskRejected, subject="mask")
    return decode(
        data,
        max_decoded_pixels=limits.max_decoded_pixels,
        error=MaskRejected,
        subject="mask",
        draft=(lambda stored: work_size(stored)) if draft else None,
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
        notes.append(image_notes.mask_from_black_and_white())
        if grey_share > 0.02:
            notes.append(image_notes.mask_has_grey())

    alpha, rotated = match_image_shape(alpha, target=target, display=display, orientation=orientation)
    if rotated:
        notes.append(image_notes.mask_rotated())

    resized = alpha.size != target
    if resized:
        notes.append(image_notes.mask_resized(dims(alpha.size), dims(target)))
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
        mask_out.notes.append(image_notes.mask_marks_nothing())
    elif mask_out.edit_fraction == 1:
        mask_out.notes.append(image_notes.mask_marks_everything())
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


def _two_tone(im: Image.Image) -> bool:
    """Nearly every pixel near black or near white (JPEG ringing and soft edges allowed)."""
    hist = _luma(im).histogram()
    return sum(hist[48:208]) <= MAX_MIDTONES * sum(hist)


def _colourful(im: Image.Image) -> bool:
    """Whether a clear colour (not a grey with a tint) covers a noticeable share."""
    if im.mode in ("L", "1", "LA", "I", "I;16", "F"):
        return False
    small = im.convert("RGB")
    small.thumbnail((256, 256), Image.Resampling.BOX)
    r, g, b = small.split()
    highest = ImageChops.lighter(ImageChops.lighter(r, g), b)
    lowest = ImageChops.darker(ImageChops.darker(r, g), b)
    spread = ImageChops.subtract(highest, lowest)
    hist = spread.histogram()
    return sum(hist[_CLEAR_COLOUR + 1 :]) > COLOURFUL_SHARE * sum(hist)


def _resize_alpha(alpha: Image.Image, size: tuple[int, int]) -> Image.Image:
    binary = is_binary(alpha)
    out = alpha.resize(size, Image.Resampling.BILINEAR)
    return threshold(out) if binary else out
