"""One /edit from the member's bytes to the provider's images, without Discord types.

The cog checks options and quota, then calls `prepare_inputs` and `run_edit`; CPU work
(decoding, resizing, re-encoding) runs in worker threads so the event loop stays free.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field, replace
from typing import Awaitable, Callable

from bot.images.delivery_plan import Message, plan_delivery_async
from bot.images.inputs import PreparedInput, prepare_input_async
from bot.images.prepare import DALLE2_LIMITS, GPT_IMAGE_LIMITS, ImageLimits
from bot.provider.client import EditResult, ImageEditClient
from bot.provider.models import ModelSpec
from bot.provider.pricing import Price, estimate_cost
from bot.provider.request import EditRequest, validate
from bot.provider.response import PartialImage

# A 1x1 PNG stands in for the member's image when options are checked before download.
_PLACEHOLDER_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@dataclass(frozen=True)
class EditOptions:
    prompt: str
    model: str
    n: int = 1
    size: str | None = None
    quality: str | None = None
    output_format: str | None = None
    background: str | None = None

    def request(self, image: bytes, mask: bytes | None, user: str | None, *, previews: int = 0) -> EditRequest:
        # Previews are the bot's choice, not the member's: dropped for models that can't stream.
        stream = previews > 0 and self.n == 1
        return EditRequest(
            stream=stream,
            partial_images=previews if stream else None,
            defaulted=frozenset({"stream", "partial_images"}),
            prompt=self.prompt,
            images=[image],
            model=self.model,
            mask=mask,
            n=self.n,
            size=self.size,
            quality=self.quality,
            output_format=self.output_format,
            background=self.background,
            user=user,
        )


@dataclass(frozen=True)
class EditOutcome:
    result: EditResult
    messages: list[Message]
    seconds: float
    cost_usd: float | None
    notes: list[str] = field(default_factory=list)

    @property
    def delivered(self) -> int:
        return sum(len(m.files) for m in self.messages)


def limits_for(spec: ModelSpec) -> ImageLimits:
    """The image presets, narrowed to what this model's table entry says."""
    preset = DALLE2_LIMITS if spec.square_input else GPT_IMAGE_LIMITS
    return replace(
        preset,
        formats=frozenset(spec.input_formats),
        max_bytes=spec.max_image_bytes,
        mask_max_bytes=spec.max_mask_bytes,
    )


def check_options(options: EditOptions, spec: ModelSpec, *, with_mask: bool) -> None:
    """Raises InvalidRequest (naming the option) before anything is downloaded or reserved."""
    validate(options.request(_PLACEHOLDER_PNG, _PLACEHOLDER_PNG if with_mask else None, None), spec)


async def prepare_inputs(image: bytes, mask: bytes | None, spec: ModelSpec) -> PreparedInput:
    """Raises ImageRejected / MaskRejected with a message for the member (work runs in a thread)."""
    return await prepare_input_async(image, mask, limits=limits_for(spec))


async def run_edit(
    client: ImageEditClient,
    options: EditOptions,
    inputs: PreparedInput,
    *,
    user: str | None,
    upload_limit: int,
    prices: dict[str, Price],
    previews: int = 0,
    on_preview: Callable[[PartialImage], Awaitable[None]] | None = None,
) -> EditOutcome:
    started = time.monotonic()
    request = options.request(inputs.image.data, inputs.mask.data if inputs.mask else None, user, previews=previews)
    result = await client.edit(request, on_partial=on_preview if request.stream else None)
    seconds = time.monotonic() - started
    messages = await plan_delivery_async(result.images, limit_bytes=upload_limit)
    notes = inputs.notes + [f.note for m in messages for f in m.files if f.note]
    if len(result.images) < options.n:
        notes.append(f"the provider returned {len(result.images)} of {options.n} images; only those count against your quota")
    notes += [f"the provider does not accept `{name}`, so it was left out" for name in result.dropped_fields]
    return EditOutcome(
        result=result,
        messages=messages,
        seconds=seconds,
        cost_usd=estimate_cost(result.usage, options.model, prices),
        notes=notes,
    )
