"""`/edit region:` — the area to edit given as words or numbers; the bot builds the mask.

Accepted (case-insensitive, spaces anywhere, `%` signs optional):

- a preset, in percent of the image:
  ``top``    the upper half      (rect 0,0,100,50)
  ``bottom`` the lower half      (rect 0,50,100,50)
  ``left``   the left half       (rect 0,0,50,100)
  ``right``  the right half      (rect 50,0,50,100)
  ``center`` the middle quarter  (rect 25,25,50,50: the middle half of each side; ``centre`` too)
  ``border`` a frame along all four edges, 10% of the shorter side thick (the middle is
             kept: for extending or restyling the surroundings of a subject)
- a custom area ``rect:X,Y,W,H`` or ``ellipse:X,Y,W,H`` (the ellipse inside that box):
  X,Y = top-left corner, W,H = width and height, all in percent of the image as displayed,
  from its top-left corner; decimals allowed (``rect:12.5,0,25,100``).

X and Y must be in 0–100 (below 100: an area starting at the right or bottom edge covers
nothing), W and H in 0–100 and above 0. An area reaching past the right or bottom edge
is cut at the edge (the ellipse keeps its shape, only its part inside the image counts)
and the note says so; since X,Y >= 0 and W,H > 0 it always keeps some of the image.

`parse_region` raises `RegionError` (a ValueError) whose `message` is for the member:
what is wrong, then the accepted forms with an example. Nothing about the image is needed
to parse, so the cog can refuse a malformed value before anything is reserved.

Pixels: percent edges are rounded to the nearest pixel edge (halves up), so ``top`` and
``bottom`` split an odd height without gap or overlap; any area keeps at least one pixel.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageDraw

from bot.text import image_errors

from .mask_png import PreparedMask, make_prepared_mask
from .prepare import GPT_IMAGE_LIMITS, ImageLimits, PreparedImage

RegionShape = Literal["rect", "ellipse", "border"]

REGION_EXAMPLE = "rect:10,20,50,40"
BORDER_PERCENT = 10.0  # thickness of the `border` frame, percent of the shorter side

# name -> (shape, x, y, w, h); for Discord choices / autocomplete use REGION_PRESETS.
_PRESETS: dict[str, tuple[RegionShape, float, float, float, float]] = {
    "top": ("rect", 0, 0, 100, 50),
    "bottom": ("rect", 0, 50, 100, 50),
    "left": ("rect", 0, 0, 50, 100),
    "right": ("rect", 50, 0, 50, 100),
    "center": ("rect", 25, 25, 50, 50),
    "border": ("border", 0, 0, 100, 100),
}
REGION_PRESETS: tuple[str, ...] = tuple(_PRESETS)
PRESET_DESCRIPTIONS: dict[str, str] = {
    "top": "the upper half",
    "bottom": "the lower half",
    "left": "the left half",
    "right": "the right half",
    "center": "the middle of the image (a quarter of it)",
    "border": "a frame along the edges (the middle is kept)",
}
_ALIASES = {"centre": "center", "middle": "center"}


# the shape, then a colon (or straight the numbers), then the numbers
_CUSTOM = re.compile(r"(rectangle|rect|ellipse)(?::|(?=[\d.-])|$)(.*)")
_NUMBER = re.compile(r"(\d+(?:\.\d*)?|\.\d+)%?")


class RegionError(ValueError):
    """A `region` value that cannot be used; `message` is safe to show to the member."""

    def __init__(self, problem: str) -> None:
        self.message = image_errors.region_error(problem, list(REGION_PRESETS), REGION_EXAMPLE)
        super().__init__(self.message)


@dataclass(frozen=True)
class Region:
    """An area of the image in percent of its displayed size, origin top-left."""

    shape: RegionShape
    x: float
    y: float
    w: float
    h: float
    preset: str | None = None  # the preset's name when it came from one

    @property
    def clipped(self) -> bool:
        """The area reaches past the right or bottom edge and is cut there."""
        return self.x + self.w > 100 or self.y + self.h > 100

    @property
    def spec(self) -> str:
        """The canonical text form: ``top`` or ``rect:10,20,50,40``."""
        if self.preset is not None:
            return self.preset
        return f"{self.shape}:{_numbers(self)}"

    @property
    def label(self) -> str:
        """How notes name it: ``region top``, ``region rect 10,20,50,40``."""
        if self.preset is not None:
            return f"region {self.preset}"
        cut = ", cut at the image edge" if self.clipped else ""
        return f"region {self.shape} {_numbers(self)}{cut}"


def _numbers(region: Region) -> str:
    return ",".join(f"{v:g}" for v in (region.x, region.y, region.w, region.h))


def parse_region(text: str) -> Region:
    """A `Region` from what the member typed. Raises `RegionError`."""
    compact = re.sub(r"\s+", "", text or "").lower()
    if not compact:
        raise RegionError(image_errors.region_empty())
    name = _ALIASES.get(compact, compact)
    if name in _PRESETS:
        shape, x, y, w, h = _PRESETS[name]
        return Region(shape, float(x), float(y), float(w), float(h), preset=name)
    match = _CUSTOM.fullmatch(compact)
    if match is None:
        raise RegionError(image_errors.region_unknown())
    shape: RegionShape = "ellipse" if match.group(1) == "ellipse" else "rect"
    items = match.group(2).split(",") if match.group(2) else []
    if len(items) != 4:
        raise RegionError(image_errors.region_needs_four(len(items)))
    values: list[float] = []
    for item in items:
        number = _NUMBER.fullmatch(item)
        if number is None:
            shown = item if len(item) <= 12 else item[:12] + "…"
            raise RegionError(image_errors.region_not_a_number(shown, negative=item.startswith("-")))
        values.append(float(number.group(1)))
    x, y, w, h = values
    for v in values:
        if v > 100:
            raise RegionError(image_errors.region_too_big(f"{v:g}"))
    if w <= 0 or h <= 0:
        raise RegionError(image_errors.region_no_size())
    if x >= 100 or y >= 100:
        raise RegionError(image_errors.region_at_edge())
    return Region(shape, x, y, w, h)


def region_mask(region: Region, size: tuple[int, int]) -> Image.Image:
    """Mode L alpha of `size` in the provider's sense: 0 inside the region (edit), 255 outside."""
    w, h = size
    if w < 1 or h < 1:
        raise ValueError(f"bad size {size!r}")
    alpha = Image.new("L", size, 255)
    if region.shape == "border":
        thickness = max(1, _px(BORDER_PERCENT, min(w, h)))
        alpha.paste(0, (0, 0, w, h))
        if w > 2 * thickness and h > 2 * thickness:
            alpha.paste(255, (thickness, thickness, w - thickness, h - thickness))
        return alpha
    left, top = min(_px(region.x, w), w - 1), min(_px(region.y, h), h - 1)
    right = max(left + 1, _px(region.x + region.w, w))  # unclipped: an ellipse keeps its shape
    bottom = max(top + 1, _px(region.y + region.h, h))
    if region.shape == "ellipse":
        ImageDraw.Draw(alpha).ellipse((left, top, right - 1, bottom - 1), fill=0)
    else:
        alpha.paste(0, (left, top, min(right, w), min(bottom, h)))
    return alpha


def _px(percent: float, length: int) -> int:
    """The pixel edge nearest to `percent` of `length` (halves round up, not to even)."""
    return math.floor(percent * length / 100 + 0.5)


def prepare_region_mask(
    region: Region,
    image: PreparedImage | tuple[int, int],
    *,
    limits: ImageLimits = GPT_IMAGE_LIMITS,
) -> PreparedMask:
    """The provider mask for `region` at the size of the image sent (a `PreparedImage` or a size).

    Percentages are of the image as displayed; the prepared image has the same shape
    (EXIF orientation applied, downscaled proportionally), so they apply to it unchanged.
    """
    size = image.size if isinstance(image, PreparedImage) else (int(image[0]), int(image[1]))
    mask, _ = make_prepared_mask(
        region_mask(region, size),
        source="region",
        max_bytes=limits.mask_max_bytes,
        label=region.label,
    )
    mask.notes.append(mask.summary)  # "mask: region rect 10,20,50,40 (covers 20% of the image)"
    return mask
