"""One call for what `/edit` needs before the provider call: the image and its optional mask.

Both are prepared in the same worker thread hop; the mask is matched against the image as
the member saw it and sized to the image actually sent (see `bot.images.mask`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from .mask import PreparedMask, prepare_mask_for
from .prepare import GPT_IMAGE_LIMITS, ImageLimits, PreparedImage, prepare_image


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
    image: bytes, mask: bytes | None = None, *, limits: ImageLimits = GPT_IMAGE_LIMITS
) -> PreparedInput:
    """Raises `ImageRejected` for the image, `MaskRejected` (a subclass) for the mask."""
    prepared = prepare_image(image, limits=limits)
    prepared_mask = None if mask is None else prepare_mask_for(mask, prepared, limits=limits)
    return PreparedInput(image=prepared, mask=prepared_mask)


async def prepare_input_async(
    image: bytes, mask: bytes | None = None, *, limits: ImageLimits = GPT_IMAGE_LIMITS
) -> PreparedInput:
    return await asyncio.to_thread(prepare_input, image, mask, limits=limits)
