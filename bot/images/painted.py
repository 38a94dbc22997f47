"""Derive an edit mask from a *painted copy*: the image with the area to change painted over.

Members paint on a copy of their photo in any phone editor and upload it as `mask`. The
mask is where the copy differs from the image. The copy has usually been through the
editor and the chat app: re-compressed as JPEG, resized (same aspect ratio), stored
rotated with an EXIF orientation tag, colours nudged. So the comparison is made where
those do not matter:

1. Geometry: the copy's EXIF orientation is applied and its shape matched against the
   image as displayed (`mask_shape`). Both are reduced with a box filter to one work
   grid (long edge at most `WORK_EDGE`, and at most half the copy's, so every cell
   averages several pixels: JPEG noise, chroma subsampling and resampling differences
   mostly cancel out), then blurred a touch.
2. Colour: per channel, the most common difference copy − image, when small, is a global
   shift (brightness, white balance); it is subtracted before comparing.
3. Along the photo's own edges a difference must also exceed half the local contrast
   (misalignment by a fraction of a pixel changes a lot there).
4. A pixel changed when a channel still differs by more than `CHANGED_ABOVE`. It matches
   when all differ by at most `MATCH_UP_TO`: a real copy matches that closely almost
   everywhere it was not painted (measured: 99% of pixels within 5 after JPEG q40 and
   resizing), another photo only here and there.
5. Cleaning, on the grid: lone pixels, pairs and one-pixel lines are dropped (noise),
   holes and gaps up to ~2.5% of the long edge are closed (scribbles, spots where the
   paint matched the photo), then the area grows by ~0.8% so the edit covers the edge
   of what was painted.
6. The grid mask is scaled up with a smooth filter and thresholded (smooth contours, not
   blocks), brought to the size of the image sent, and encoded like every other mask
   (`mask_png`).

Refused (`MaskRejected`) when almost nothing changed (`NOTHING_PAINTED`: under
`MIN_CHANGED`) or it is not a copy (`NOT_A_COPY`: over `MAX_CHANGED` changed, or under
`MIN_MATCHING` of the rest matching closely — another photo, a heavy filter).

Pillow only: whole-image C operations on a grid of at most 512×512 (morphology by
shifting, see `morphology`), so the cost is dominated by decoding the two files (JPEGs at
a reduced scale) and encoding the mask at full size.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageChops, ImageFilter

from bot.text import image_errors, image_notes

from .decode import decode
from .errors import ImageRejected, MaskRejected, RejectReason, check_input_bytes
from .mask_png import PreparedMask, make_prepared_mask
from .mask_shape import match_image_shape
from .morphology import close, dilate, erode, majority
from .pixels import has_alpha
from .prepare import GPT_IMAGE_LIMITS, ImageLimits, PreparedImage, prepare_image

WORK_EDGE = 512  # long edge of the comparison grid
MIN_CHANGED = 0.005  # below: "nothing painted"
MAX_CHANGED = 0.90  # above: "a different picture"
MAX_COLOUR_SHIFT = 40  # a larger global difference is not a colour tweak
CHANGED_ABOVE = 28  # a channel differing by more than this (0-255) was painted
MATCH_UP_TO = 10  # differing by at most this is the same picture (JPEG, resizing)
MIN_MATCHING = 0.5  # of the unpainted pixels, at least this share must match closely
CLOSE_FRACTION = 0.012  # closing radius, share of the grid's long edge
GROW_FRACTION = 0.008  # growth radius, share of the grid's long edge
EDGE_ALLOWANCE = 0.5  # share of the photo's local contrast a difference must exceed
SMOOTH_EDGE = 1024  # the mask's contours are smooth at this size, then scaled by whole pixels


@dataclass(frozen=True)
class Comparison:
    """Where the copy differs from the image, on the work grid (255 = changed)."""

    changed: Image.Image  # cleaned of speckles, before closing and growing
    fraction: float  # share of the grid that changed
    matching: float  # of the pixels not changed, the share that match closely
    colour_shift: tuple[int, int, int]  # copy − image, per channel, compensated

    @property
    def is_copy(self) -> bool:
        """A copy matches closely wherever it was not painted; another picture matches
        only by chance, loosely, here and there."""
        return self.fraction <= MAX_CHANGED and self.matching >= MIN_MATCHING


def derive_painted_mask(
    data: bytes,
    image: PreparedImage | bytes,
    *,
    limits: ImageLimits = GPT_IMAGE_LIMITS,
) -> PreparedMask:
    """The mask for `image` derived from the painted copy in `data`.

    `image`: the prepared image (the mask gets its sent size), or the member's original
    bytes (prepared here with `limits` first). Raises `MaskRejected`: unreadable copy,
    other shape, nothing painted, not a copy of this image.
    """
    prepared = image if isinstance(image, PreparedImage) else prepare_image(image, limits=limits)
    check_input_bytes(data, max_input_bytes=limits.max_input_bytes, error=MaskRejected, subject="mask")
    dec = decode(
        data,
        max_decoded_pixels=limits.max_decoded_pixels,
        error=MaskRejected,
        subject="mask",
        draft=lambda stored: work_size(stored),
    )
    return mask_from_copy(dec.display_image, prepared, limits=limits, uploaded=dec.display_size)


def mask_from_copy(
    copy: Image.Image,
    image: PreparedImage,
    *,
    limits: ImageLimits,
    uploaded: tuple[int, int] | None = None,
) -> PreparedMask:
    """`derive_painted_mask` for a copy already decoded and turned upright (possibly at a
    reduced scale: `uploaded` is then its real size, as displayed)."""
    uploaded = uploaded or copy.size
    copy, rotated = match_image_shape(
        copy, target=image.size, display=image.original_size, orientation=image.orientation
    )
    grid = work_size(image.size, limit=min(max(copy.size) // 2, WORK_EDGE))
    comparison = compare(_rgb(copy), reference_pixels(image, grid, limits=limits))
    if comparison.fraction < MIN_CHANGED:
        raise MaskRejected(RejectReason.NOTHING_PAINTED, image_errors.nothing_painted())
    if not comparison.is_copy:
        raise MaskRejected(RejectReason.NOT_A_COPY, image_errors.not_a_copy())
    alpha = to_alpha(grow(comparison.changed), image.size)

    notes: list[str] = []
    if rotated:
        notes.append(image_notes.painted_copy_rotated())
    if max(abs(c) for c in comparison.colour_shift) >= 8:
        notes.append(image_notes.painted_colour_shift())
    mask, _ = make_prepared_mask(
        alpha,
        source="painted",
        max_bytes=limits.mask_max_bytes,
        uploaded=uploaded,
        converted=True,
        resized=uploaded != image.size,
        rotated=rotated,
        notes=notes,
    )
    mask.notes.insert(0, mask.summary)  # "mask derived from your painted copy (covers 23% of the image)"
    return mask


# --- steps ------------------------------------------------------------------------------


def work_size(size: tuple[int, int], limit: int = WORK_EDGE) -> tuple[int, int]:
    """`size` scaled down (never up) so its long edge is at most `limit`."""
    w, h = size
    scale = min(1.0, limit / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


def _rgb(im: Image.Image) -> Image.Image:
    if im.mode == "RGB":
        return im
    if has_alpha(im):  # flatten as viewers show it on a light background
        background = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, im.convert("RGBA")).convert("RGB")
    return im.convert("RGB")


def reference_pixels(image: PreparedImage, grid: tuple[int, int], *, limits: ImageLimits) -> Image.Image:
    """The prepared image as displayed, RGB, at the work grid size.

    `image.data` is upright already (orientation baked in or 1), and a JPEG is decoded
    at a reduced scale straight away (`draft`), which is most of the speed here.
    """
    dec = decode(
        image.data,
        max_decoded_pixels=limits.max_decoded_pixels,
        error=ImageRejected,
        subject="image",
        draft=lambda stored: grid,
    )
    return _to_grid(_rgb(dec.display_image), grid)


def _to_grid(im: Image.Image, grid: tuple[int, int]) -> Image.Image:
    # BOX averages every source pixel (noise, JPEG blocks) into the grid cell; the blur
    # then absorbs sub-cell misalignment between two differently-resized versions.
    return im.resize(grid, Image.Resampling.BOX, reducing_gap=2.0).filter(ImageFilter.BoxBlur(1))


def compare(copy: Image.Image, reference: Image.Image) -> Comparison:
    """Where `copy` (RGB, any size of the same shape) differs from `reference` (RGB, grid)."""
    grid = reference.size
    copy = _to_grid(copy, grid)
    deviations: list[Image.Image] = []
    shifts: list[int] = []
    for c, r in zip(copy.split(), reference.split(), strict=True):
        signed = ImageChops.subtract(c, r, scale=1.0, offset=128)  # copy − ref + 128, clipped
        shift = _common_shift(signed.histogram())
        shifts.append(shift)
        deviations.append(signed.point([min(255, abs(v - 128 - shift)) for v in range(256)]))
    deviation = ImageChops.lighter(ImageChops.lighter(deviations[0], deviations[1]), deviations[2])
    # Along the photo's own edges, resampling and JPEG chroma blur shift colours by a lot
    # over a pixel or two; there a difference only counts beyond half the local contrast.
    allowance = _contrast(reference).point(lambda v: round(v * EDGE_ALLOWANCE))
    deviation = ImageChops.subtract(deviation, allowance)
    hist = deviation.histogram()
    changed = majority(deviation.point(lambda v: 255 if v > CHANGED_ABOVE else 0), at_least=4)
    total = grid[0] * grid[1]
    not_changed = sum(hist[: CHANGED_ABOVE + 1])
    return Comparison(
        changed=changed,
        fraction=changed.histogram()[255] / total,
        matching=sum(hist[: MATCH_UP_TO + 1]) / not_changed if not_changed else 0.0,
        colour_shift=(shifts[0], shifts[1], shifts[2]),
    )


def _contrast(im: Image.Image) -> Image.Image:
    """Per pixel, the largest max − min of any channel over its 3×3 neighbourhood."""
    ranges = [ImageChops.subtract(dilate(ch, 1), erode(ch, 1)) for ch in im.split()]
    return ImageChops.lighter(ImageChops.lighter(ranges[0], ranges[1]), ranges[2])


def _common_shift(hist: list[int]) -> int:
    """The most common copy − image difference of a channel (smoothed), if it is small."""
    lo, hi = 128 - MAX_COLOUR_SHIFT, 128 + MAX_COLOUR_SHIFT
    best, best_count = 128, -1
    for v in range(lo, hi + 1):
        count = sum(hist[v - 2 : v + 3])
        if count > best_count:
            best, best_count = v, count
    return best - 128


def to_alpha(edit: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The grid mask (255 = edit) as the provider's alpha (0 = edit) at `size`.

    A smooth scale-up then a threshold makes contours follow the grid's sub-pixel shape
    rather than its blocks. Done at up to `SMOOTH_EDGE` px (a bilinear resize to 4096² costs
    ~35 ms), then blown up by whole pixels: steps of at most 4 px on a 4096² image.
    """
    scale = min(1.0, SMOOTH_EDGE / max(size))
    smooth = (max(1, round(size[0] * scale)), max(1, round(size[1] * scale)))
    alpha = edit.resize(smooth, Image.Resampling.BILINEAR).point(lambda v: 0 if v >= 128 else 255)
    return alpha if smooth == size else alpha.resize(size, Image.Resampling.NEAREST)


def grow(changed: Image.Image) -> Image.Image:
    """Close holes and gaps, then grow the area a little (radii relative to the grid)."""
    edge = max(changed.size)
    closed = close(changed, max(1, round(edge * CLOSE_FRACTION)))
    return dilate(closed, max(1, round(edge * GROW_FRACTION)))
