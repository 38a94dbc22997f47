"""One call for what `/edit` needs before the provider call: the image and its optional mask.

Both are prepared in the same worker thread hop. The mask comes from the member's `mask`
upload (a mask or a painted copy of the image, matched against the image as the member
saw it: see `bot.images.mask`) or from a `region` (see `bot.images.regions`), never both,
and is always sized to the image actually sent.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from .mask import PreparedMask, prepare_mask_for
from .prepare import GPT_IMAGE_LIMITS, ImageLimits, PreparedImage, prepare_image
from .regions import Region, prepare_region_mask


@dataclass(frozen=True)
class PreparedInput:
    image: PreparedImage
    mask: PreparedMask | None = None

    @property
    def notes(self) -> list[str]:
        """Image notes, then mask notes prefixed with "mask: " where not already about the mask."""
        mask_notes = [] if self.mask is None else [n if "mask" in n else f"mask: {n}" for n in self.mask.notes]
        return [*self.image.notes, *mask_notes]


def prepare_input(
    image: bytes,
    mask: bytes | None = None,
    *,
    region: Region | None = None,
    limits: ImageLimits = GPT_IMAGE_LIMITS,
) -> PreparedInput:
    """Raises `ImageRejected` for the image, `MaskRejected` (a subclass) for the mask, and
    ValueError for `mask` and `region` together (the cog refuses that before calling)."""
    if mask is not None and region is not None:
        raise ValueError("give either a mask or a region, not both")
    prepared = prepare_image(image, limits=limits)
    if mask is not None:
        prepared_mask: PreparedMask | None = prepare_mask_for(mask, prepared, limits=limits)
    elif region is not None:
        prepared_mask = prepare_region_mask(region, prepared, limits=limits)
    else:
        prepared_mask = None
    return PreparedInput(image=prepared, mask=prepared_mask)


async def prepare_input_async(
    image: bytes,
    mask: bytes | None = None,
    *,
    region: Region | None = None,
    limits: ImageLimits = GPT_IMAGE_LIMITS,
) -> PreparedInput:
    return await asyncio.to_thread(prepare_input, image, mask, region=region, limits=limits)
