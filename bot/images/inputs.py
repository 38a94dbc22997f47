"""One call for what an edit needs before the provider call: its images and optional mask.

All are prepared in the same worker thread hop. The mask belongs to the first image and comes
from the member's `mask` upload (a mask or a painted copy of the image, matched against the
image as the member saw it: see `bot.images.mask`) or from a `region` (see
`bot.images.regions`), never both, and is always sized to the image actually sent. Further
images (models that take several inputs) are prepared alone.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Sequence

from bot.text import image_errors

from .errors import ImageRejected
from .mask import PreparedMask, prepare_mask_for
from .prepare import GPT_IMAGE_LIMITS, ImageLimits, PreparedImage, prepare_image
from .regions import Region, prepare_region_mask


@dataclass(frozen=True)
class PreparedInput:
    image: PreparedImage
    mask: PreparedMask | None = None
    more: tuple[PreparedImage, ...] = ()

    @property
    def images(self) -> list[bytes]:
        return [self.image.data, *(m.data for m in self.more)]

    @property
    def notes(self) -> list[str]:
        """Image notes, then mask notes prefixed with "mask: " where not already about the mask."""
        mask_notes = [] if self.mask is None else [n if "mask" in n else f"mask: {n}" for n in self.mask.notes]
        more_notes = [f"image {i}: {n}" for i, p in enumerate(self.more, start=2) for n in p.notes]
        return [*self.image.notes, *mask_notes, *more_notes]


def prepare_input(
    image: bytes,
    mask: bytes | None = None,
    *,
    more: Sequence[bytes] = (),
    region: Region | None = None,
    limits: ImageLimits = GPT_IMAGE_LIMITS,
) -> PreparedInput:
    """Raises `ImageRejected` for an image, `MaskRejected` (a subclass) for the mask, and
    ValueError for `mask` and `region` together (the service refuses that before calling)."""
    if mask is not None and region is not None:
        raise ValueError("give either a mask or a region, not both")
    prepared = prepare_image(image, limits=limits)
    if mask is not None:
        prepared_mask: PreparedMask | None = prepare_mask_for(mask, prepared, limits=limits)
    elif region is not None:
        prepared_mask = prepare_region_mask(region, prepared, limits=limits)
    else:
        prepared_mask = None
    others = []
    for number, data in enumerate(more, start=2):
        try:
            others.append(prepare_image(data, limits=limits))
        except ImageRejected as exc:
            raise type(exc)(exc.reason_code, image_errors.numbered(number, exc.message)) from None
    return PreparedInput(image=prepared, mask=prepared_mask, more=tuple(others))


async def prepare_input_async(
    image: bytes,
    mask: bytes | None = None,
    *,
    more: Sequence[bytes] = (),
    region: Region | None = None,
    limits: ImageLimits = GPT_IMAGE_LIMITS,
) -> PreparedInput:
    return await asyncio.to_thread(prepare_input, image, mask, more=more, region=region, limits=limits)
