"""Prepare the member's input image for a model.

`prepare_image` is plain synchronous CPU work (Pillow); `bot.images.inputs` runs it in a
worker thread.

Rules, in order:
1. Refuse what is not usable: empty, over `max_input_bytes`, not an image by its bytes,
   a recognised but undecodable format (HEIC without a plugin), more pixels than
   `max_decoded_pixels` according to the header (checked before decoding anything), and
   truncated/corrupt data (the first frame is fully decoded to find out; for bytes passed
   through, see 2).
2. Pass the ORIGINAL BYTES through unchanged when the model can take them as they are:
   accepted format, no EXIF orientation to apply, a single frame, a plain pixel mode
   (`passthrough_modes`), within the edge/pixel limits and under `max_bytes`. That is
   decided from the header first, and then the bytes are checked whole without a full
   decode where the format allows (`decode.check_intact`: a PNG's chunk CRCs up to IEND,
   a JPEG decoded at 1/8 scale); otherwise, or when metadata after a PNG's image data
   may change the verdict, the first frame is decoded and the rules are applied to what
   it tells. A PNG passed through always has every chunk intact up to IEND (Pillow
   itself would decode one that lacks its end).
3. Otherwise re-encode once, after: first frame only; pixel mode normalised (palette,
   CMYK, 16-bit, greyscale+alpha... become RGB/RGBA/L; alpha kept); downscale with LANCZOS
   into `max_edge`/`max_pixels`; EXIF orientation baked into the pixels (the tag is not
   written again, nor is any other metadata; a matching ICC profile is kept). The output
   keeps the source format when the model accepts it (PNG stays lossless, JPEG/lossy WebP
   at quality 95), otherwise PNG (then WebP, then JPEG if PNG is not accepted).
4. If the result is over `max_bytes`: lossy fallbacks (WebP when there is transparency,
   else JPEG) at quality 92/85/80, then further downscaling, until it fits; refused only
   when even that fails.

`PreparedImage.original_width/height` are the size as DISPLAYED (EXIF orientation
applied), before downscaling: that is what the member saw and drew a mask on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from PIL import Image

from bot.text import image_errors, image_notes

from .decode import (
    ORIENTATION_TRANSPOSE,
    SWAPS_AXES,
    Intact,
    check_container,
    check_intact,
    decode,
    read_header,
)
from .errors import MIB, ImageRejected, RejectReason, check_input_bytes, dims, format_mb
from .formats import content_type_for, extension_for, label_for, webp_is_lossless
from .pixels import alpha_is_meaningful, encode_to_fit, normalize_mode, resize, scaled

ENCODABLE = ("png", "jpeg", "webp")
_LOSSY_LADDER = (92, 85, 80)


@dataclass(frozen=True)
class ImageLimits:
    """What a model accepts and what the bot is willing to send / decode."""

    formats: frozenset[str] = frozenset({"png", "jpeg", "webp"})  # accepted upload formats
    max_bytes: int = 25_000_000  # per uploaded file (decimal MB: the conservative reading)
    max_edge: int | None = 4096  # longest edge the bot sends
    max_pixels: int | None = 8_294_400  # ~8.3 MP (3840×2160)
    square_required: bool = False  # dall-e-2
    max_decoded_pixels: int = 50_000_000  # decompression-bomb ceiling, checked on the header
    max_input_bytes: int | None = 64 * MIB  # refuse bigger downloads before decoding
    mask_max_bytes: int = 4_000_000  # provider limit for the mask PNG
    # Pixel modes that may be passed through untouched; others are converted.
    passthrough_modes: frozenset[str] = frozenset({"RGB", "RGBA", "L"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "formats", frozenset(f.lower() for f in self.formats))
        object.__setattr__(self, "passthrough_modes", frozenset(self.passthrough_modes))
        if not self.formats & set(ENCODABLE):
            raise ValueError(f"ImageLimits.formats must include one of {ENCODABLE}, got {sorted(self.formats)}")
        for name in ("max_bytes", "max_decoded_pixels", "mask_max_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ImageLimits.{name} must be positive")
        for name in ("max_edge", "max_pixels", "max_input_bytes"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"ImageLimits.{name} must be positive or None")


GPT_IMAGE_LIMITS = ImageLimits()
# dall-e-2: one square PNG under 4 MB; modes RGBA/LA/L (RGB is reportedly refused); outputs ≤ 1024².
DALLE2_LIMITS = ImageLimits(
    formats=frozenset({"png"}),
    max_bytes=4_000_000,
    max_edge=1024,
    max_pixels=None,
    square_required=True,
    passthrough_modes=frozenset({"RGBA", "LA", "L"}),
)


@dataclass(frozen=True)
class PreparedImage:
    data: bytes = field(repr=False)
    format: str  # canonical: png / jpeg / webp
    content_type: str
    width: int
    height: int
    original_width: int  # as displayed (EXIF applied), before any downscale
    original_height: int
    converted: bool  # format or pixel mode changed, or only the first frame kept
    resized: bool
    notes: list[str] = field(default_factory=list)
    source_format: str = ""
    orientation: int = 1  # the EXIF orientation that was applied (1 = none)
    reencoded: bool = False  # False: `data` is the member's original bytes

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)

    @property
    def original_size(self) -> tuple[int, int]:
        return (self.original_width, self.original_height)

    @property
    def extension(self) -> str:
        return extension_for(self.format)

    @property
    def filename(self) -> str:
        return f"image.{self.extension}"


def target_size(size: tuple[int, int], limits: ImageLimits) -> tuple[int, int] | None:
    """The proportional size that fits `max_edge`/`max_pixels`, or None if `size` already fits."""
    w, h = size
    scale = 1.0
    if limits.max_edge is not None and max(w, h) > limits.max_edge:
        scale = min(scale, limits.max_edge / max(w, h))
    if limits.max_pixels is not None and w * h > limits.max_pixels:
        scale = min(scale, math.sqrt(limits.max_pixels / (w * h)))
    if scale >= 1.0:
        return None
    out = max(1, round(w * scale)), max(1, round(h * scale))
    if not _within(out, limits):
        out = scaled(size, scale)
    return out


def _within(size: tuple[int, int], limits: ImageLimits) -> bool:
    if limits.max_edge is not None and max(size) > limits.max_edge:
        return False
    return limits.max_pixels is None or size[0] * size[1] <= limits.max_pixels


def prepare_image(data: bytes, *, limits: ImageLimits = GPT_IMAGE_LIMITS) -> PreparedImage:
    """Validate and, only if needed, convert/downscale/re-orient the member's image."""
    check_input_bytes(data, max_input_bytes=limits.max_input_bytes, error=ImageRejected, subject="image")
    head = read_header(data, max_decoded_pixels=limits.max_decoded_pixels, error=ImageRejected, subject="image")
    intact = Intact.UNKNOWN
    if _sendable_as_is(data, head.format, head.mode, head.orientation, head.animated, head.display_size, limits):
        intact = check_intact(data, head, error=ImageRejected, subject="image")
        if intact is Intact.FINAL:
            return _as_is(data, head.format, head.display_size)

    dec = decode(
        data,
        max_decoded_pixels=limits.max_decoded_pixels,
        error=ImageRejected,
        subject="image",
        draft=lambda stored: target_size(stored, limits),
        header=head,
    )
    display = dec.display_size
    if limits.square_required and display[0] != display[1]:
        raise ImageRejected(
            RejectReason.NOT_SQUARE,
            image_errors.not_square(dims(display)),
        )
    target = target_size(display, limits)
    im = dec.image

    if _sendable_as_is(data, dec.format, im.mode, dec.orientation, dec.animated, display, limits):
        if intact is Intact.UNKNOWN:  # decoded, but a PNG decodes without its last bytes
            check_container(data, dec.format, error=ImageRejected, subject="image")
        return _as_is(data, dec.format, display)

    notes: list[str] = []
    source_mode = im.mode
    im, icc, mode_note = normalize_mode(im, dec.icc_profile)
    if mode_note:
        notes.append(mode_note)
    if dec.animated:
        notes.append(image_notes.first_page_only() if dec.format == "tiff" else image_notes.first_frame_only(label_for(dec.format)))

    if target is not None:  # resize before rotating: fewer pixels to move
        im = resize(im, (target[1], target[0]) if dec.orientation in SWAPS_AXES else target)
    method = ORIENTATION_TRANSPOSE.get(dec.orientation)
    if method is not None:
        im = im.transpose(method)
        notes.append(image_notes.exif_applied(dec.orientation))

    alpha = alpha_is_meaningful(im)
    out_fmt, quality = _primary_encoding(dec.format, data, limits)
    if out_fmt == "jpeg" and alpha:
        im = _flatten(im)
        alpha = False
        notes.append(image_notes.transparency_flattened())
    im = _fit_mode(im, limits.passthrough_modes)

    ladder = [(out_fmt, quality), *_lossy_fallbacks(limits, alpha)]
    fitted = encode_to_fit(im, ladder, limits.max_bytes, icc=icc)
    if fitted is None:
        raise ImageRejected(
            RejectReason.CANNOT_FIT,
            image_errors.cannot_fit(format_mb(limits.max_bytes)),
        )
    out, (final_fmt, final_q), final_im = fitted
    reduced = (final_fmt, final_q) != (out_fmt, quality)  # a lossy fallback was needed for bytes
    limit = format_mb(limits.max_bytes)
    if final_fmt != dec.format:
        notes.append(image_notes.converted(
            label_for(dec.format), label_for(final_fmt), quality=final_q, limit=limit if reduced else None,
        ))
    elif reduced:
        notes.append(image_notes.reencoded(label_for(final_fmt), quality=final_q, limit=limit))
    if final_im.size != display:
        notes.append(image_notes.downscaled(dims(display), dims(final_im.size), limit=limit if final_im.size != im.size else None))

    return PreparedImage(
        data=out,
        format=final_fmt,
        content_type=content_type_for(final_fmt),
        width=final_im.size[0],
        height=final_im.size[1],
        original_width=display[0],
        original_height=display[1],
        converted=dec.animated or final_fmt != dec.format or final_im.mode != source_mode,
        resized=final_im.size != display,
        notes=notes,
        source_format=dec.format,
        orientation=dec.orientation,
        reencoded=True,
    )


# --- helpers ----------------------------------------------------------------------------


def _sendable_as_is(
    data: bytes,
    fmt: str,
    mode: str,
    orientation: int,
    animated: bool,
    display: tuple[int, int],
    limits: ImageLimits,
) -> bool:
    return (
        fmt in limits.formats
        and orientation == 1
        and not animated
        and target_size(display, limits) is None
        and not (limits.square_required and display[0] != display[1])
        and mode in limits.passthrough_modes
        and len(data) <= limits.max_bytes
    )


def _as_is(data: bytes, fmt: str, size: tuple[int, int]) -> PreparedImage:
    return PreparedImage(
        data=data,
        format=fmt,
        content_type=content_type_for(fmt),
        width=size[0],
        height=size[1],
        original_width=size[0],
        original_height=size[1],
        converted=False,
        resized=False,
        notes=[],
        source_format=fmt,
        orientation=1,
        reencoded=False,
    )


def _primary_encoding(src: str, data: bytes, limits: ImageLimits) -> tuple[str, int | None]:
    """Keep the source format when the model takes it; else PNG, WebP (lossless), JPEG."""
    if src in limits.formats and src in ENCODABLE:
        if src == "png":
            return "png", None
        if src == "jpeg":
            return "jpeg", 95
        return "webp", (None if webp_is_lossless(data) else 95)
    for fmt in ENCODABLE:
        if fmt in limits.formats:
            return fmt, (95 if fmt == "jpeg" else None)
    raise AssertionError("ImageLimits guarantees an encodable format")


def _lossy_fallbacks(limits: ImageLimits, alpha: bool) -> list[tuple[str, int | None]]:
    if alpha:
        fmt = "webp" if "webp" in limits.formats else None
    elif "jpeg" in limits.formats:
        fmt = "jpeg"
    else:
        fmt = "webp" if "webp" in limits.formats else None
    if fmt is None:
        return []
    return [(fmt, q) for q in _LOSSY_LADDER]


def _flatten(im: Image.Image) -> Image.Image:
    rgba = im.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


_UPGRADES = {"L": ("RGB", "RGBA", "LA"), "RGB": ("RGBA",), "RGBA": ()}


def _fit_mode(im: Image.Image, allowed: frozenset[str]) -> Image.Image:
    """Move to a mode the model takes when the normalised one is not (dall-e-2: RGB -> RGBA)."""
    if im.mode in allowed:
        return im
    for mode in _UPGRADES.get(im.mode, ()):
        if mode in allowed:
            return im.convert(mode)
    return im


