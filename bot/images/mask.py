"""Prepare an edit mask for a prepared image.

Output: always a PNG, mode RGBA, exactly the size of the image that is sent, where
alpha = 0 marks the area to edit (OpenAI semantics). The colour channels are written as
the inverse of alpha (white where alpha is 0, black where it is 255), so a provider that
reads masks by luminance ("white = edit") sees the same area.

How the alpha is obtained:
- The mask has a meaningful alpha channel (RGBA/LA/palette or colour-key transparency,
  with at least one pixel below 255): that alpha is kept as is, soft edges included.
- Otherwise (no alpha, or fully opaque alpha) it is read as a black/white mask by
  luminance with a hard threshold: pixels at least 50% grey (L >= 128) become alpha 0
  (edit), darker ones alpha 255 (keep). A threshold rather than inverted luminance as
  alpha, because the provider only treats fully transparent (alpha 0) pixels as editable;
  a note is added when the mask has a noticeable amount of grey.

Geometry: the mask's own EXIF orientation is applied first (as viewers show it). The
member drew it on the image as Discord DISPLAYED it, i.e. with the image's EXIF
orientation applied and before our downscaling, so it is compared with that displayed
size (`original_size`): the same size or the same aspect ratio (within 1%) is accepted and
resized to the prepared image's size (`image_size`). As a courtesy, a mask that instead
matches the image's stored (unrotated) pixels of a 90°-rotated photo — drawn in a tool that
ignores EXIF — is rotated the same way as the image. Anything else is refused with both
sizes in the message. Binary masks are resized smoothly then re-thresholded so edges stay
hard; soft masks are resized bilinearly.

Size: the PNG must be under `limits.mask_max_bytes` (4 MB). If it is not: maximum zlib
compression, then soft alpha posterized to 16 levels (0 and 255 kept exact), then a hard
0/255 threshold; refused only if still too large.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from PIL import Image

from .decode import ORIENTATION_TRANSPOSE, SWAPS_AXES, decode
from .errors import MaskRejected, RejectReason, check_input_bytes, dims, format_mb
from .pixels import has_alpha, normalize_mode
from .prepare import GPT_IMAGE_LIMITS, ImageLimits, PreparedImage

RATIO_TOLERANCE = 0.01
LUMINANCE_THRESHOLD = 128  # L >= 128 (white-ish) = edit


@dataclass(frozen=True)
class PreparedMask:
    data: bytes = field(repr=False)
    format: str  # always "png"
    content_type: str  # always "image/png"
    width: int
    height: int
    original_width: int  # the uploaded mask (its own EXIF orientation applied)
    original_height: int
    converted: bool  # alpha derived from a black/white mask
    resized: bool
    notes: list[str] = field(default_factory=list)
    source: str = "alpha"  # "alpha" (kept) or "luminance" (converted from black/white)
    edit_fraction: float = 0.0  # share of pixels marked for editing (alpha == 0)
    rotated: bool = False  # turned like the image (mask matched its unrotated pixels)

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)

    @property
    def filename(self) -> str:
        return "mask.png"


def prepare_mask(
    data: bytes,
    *,
    image_size: tuple[int, int],
    limits: ImageLimits = GPT_IMAGE_LIMITS,
    original_size: tuple[int, int] | None = None,
    orientation: int = 1,
) -> PreparedMask:
    """Validate and convert a member's mask.

    `image_size`: size of the image actually sent (the mask will have exactly this size).
    `original_size`: the member's image as displayed, before downscaling (defaults to
    `image_size`). `orientation`: the EXIF orientation applied to the image. With a
    `PreparedImage` at hand, `prepare_mask_for` fills the three in.
    """
    target = (int(image_size[0]), int(image_size[1]))
    if target[0] < 1 or target[1] < 1:
        raise ValueError(f"bad image_size {image_size!r}")
    display = tuple(original_size) if original_size is not None else target

    check_input_bytes(data, max_input_bytes=limits.max_input_bytes, error=MaskRejected, subject="mask")
    dec = decode(data, max_decoded_pixels=limits.max_decoded_pixels, error=MaskRejected, subject="mask")
    mask = dec.display_image
    uploaded = mask.size
    notes: list[str] = []

    alpha, source, grey_share = _alpha_of(mask)
    if source == "luminance":
        notes.append("converted the black-and-white mask: white areas will be edited")
        if grey_share > 0.02:
            notes.append("the mask has grey areas: those lighter than 50% grey will be edited")

    rotated = False
    if uploaded != target and not (_same_shape(uploaded, display) or _same_shape(uploaded, target)):
        turned = (display[1], display[0])
        if orientation in SWAPS_AXES and _same_shape(uploaded, turned):
            alpha = alpha.transpose(ORIENTATION_TRANSPOSE[orientation])
            rotated = True
            notes.append("rotated the mask like the photo (it matched the photo's unrotated pixels)")
        else:
            raise MaskRejected(
                RejectReason.MASK_SHAPE_MISMATCH,
                f"The mask is {dims(uploaded)} but the image is {dims(display)}; they need the same "
                "shape (aspect ratio). Draw the mask on the same image and try again.",
            )

    resized = alpha.size != target
    if resized:
        notes.append(f"resized the mask {dims(alpha.size)} → {dims(target)} to match the image")
        alpha = _resize_alpha(alpha, target)

    out, alpha, shrink_note = _encode_mask(alpha, limits.mask_max_bytes)
    if shrink_note:
        notes.append(shrink_note)

    edit = alpha.histogram()[0]
    total = target[0] * target[1]
    if edit == 0:
        notes.append("the mask marks nothing for editing (no transparent or white area)")
    elif edit == total:
        notes.append("the mask marks the whole image for editing")

    return PreparedMask(
        data=out,
        format="png",
        content_type="image/png",
        width=target[0],
        height=target[1],
        original_width=uploaded[0],
        original_height=uploaded[1],
        converted=source == "luminance",
        resized=resized,
        notes=notes,
        source=source,
        edit_fraction=edit / total,
        rotated=rotated,
    )


def prepare_mask_for(data: bytes, image: PreparedImage, *, limits: ImageLimits = GPT_IMAGE_LIMITS) -> PreparedMask:
    """`prepare_mask` against a `PreparedImage` (its sent size, displayed size, orientation)."""
    return prepare_mask(
        data,
        image_size=image.size,
        original_size=image.original_size,
        orientation=image.orientation,
        limits=limits,
    )



# --- helpers ----------------------------------------------------------------------------


def _same_shape(a: tuple[int, int], b: tuple[int, int]) -> bool:
    ra, rb = a[0] / a[1], b[0] / b[1]
    return abs(ra / rb - 1.0) <= RATIO_TOLERANCE


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


def _is_binary(alpha: Image.Image) -> bool:
    hist = alpha.histogram()
    return sum(hist[1:255]) == 0


def _threshold(alpha: Image.Image) -> Image.Image:
    return alpha.point(lambda v: 0 if v < 128 else 255)


def _resize_alpha(alpha: Image.Image, size: tuple[int, int]) -> Image.Image:
    binary = _is_binary(alpha)
    out = alpha.resize(size, Image.Resampling.BILINEAR)
    return _threshold(out) if binary else out


def _png(alpha: Image.Image, compress_level: int) -> bytes:
    inverse = alpha.point(lambda v: 255 - v)
    rgba = Image.merge("RGBA", (inverse, inverse, inverse, alpha))
    buf = io.BytesIO()
    rgba.save(buf, "PNG", compress_level=compress_level)
    return buf.getvalue()


def _encode_mask(alpha: Image.Image, max_bytes: int) -> tuple[bytes, Image.Image, str | None]:
    out = _png(alpha, 6)
    if len(out) <= max_bytes:
        return out, alpha, None
    out = _png(alpha, 9)
    if len(out) <= max_bytes:
        return out, alpha, None
    limit = format_mb(max_bytes)
    if not _is_binary(alpha):
        levels = alpha.point(lambda v: v if v in (0, 255) else min(254, (v // 16) * 16 + 8))
        out = _png(levels, 9)
        if len(out) <= max_bytes:
            return out, levels, f"reduced the mask's soft edges to 16 levels to fit the {limit} mask limit"
        hard = _threshold(alpha)
        out = _png(hard, 9)
        if len(out) <= max_bytes:
            return out, hard, f"made the mask's soft edges hard to fit the {limit} mask limit"
    raise MaskRejected(
        RejectReason.MASK_TOO_LARGE,
        f"The mask is too detailed to fit the provider's {limit} mask limit even after compression. "
        "Use a simpler mask (solid areas) and try again.",
    )
