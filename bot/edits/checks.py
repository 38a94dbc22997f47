"""Everything about an order that can be refused before anything is reserved, and reading
and preparing its files.

The option checks need no download; the files are read and prepared in a worker thread,
at most a couple at a time, so a burst of edits does not fight the event loop.
"""

from __future__ import annotations

from bot.config import Settings
from bot.edits.order import (
    EditOptions,
    EditOrder,
    InputSource,
    check_options,
    limits_for,
)
from bot.errors import UserFacingError
from bot.images.inputs import PreparedInput, prepare_input_async
from bot.images.prepare import GPT_IMAGE_LIMITS
from bot.images.regions import RegionError, parse_region
from bot.provider.models import ModelSpec, ModelTable
from bot.provider.pricing import Price, estimate_request_cost
from bot.text import edit_status

# The image code refuses bigger files anyway; checking the declared size saves the download.
MAX_DOWNLOAD_BYTES = GPT_IMAGE_LIMITS.max_input_bytes or 64 * 1024 * 1024


def options_for(
    order: EditOrder,
    *,
    settings: Settings,
    models: ModelTable,
    allowed_models: list[str],
    default_model: str | None = None,
) -> EditOptions:
    """The checked options of `order`, or UserFacingError / InvalidRequest naming what to fix.

    `default_model`: the model when the member picks none (the server's), else IMAGE_MODEL."""
    requester = order.requester
    if requester.guild_id is None and not settings.allow_dms:
        raise UserFacingError(lambda: edit_status.SERVERS_ONLY)
    prompt = order.prompt.strip()
    if not prompt:
        raise UserFacingError(lambda: edit_status.EMPTY_PROMPT)
    model = (order.model or default_model or settings.image_model).strip()
    if model not in allowed_models:
        raise UserFacingError(lambda: edit_status.unknown_model(model, allowed_models))
    options = EditOptions(
        prompt=prompt,
        model=model,
        n=order.n or 1,
        size=(order.size or "").strip().lower().replace("×", "x") or None,
        quality=order.quality,
        output_format=order.output_format,
        background=order.background,
    )
    if order.mask_preview and order.mask is None and order.region is None:
        raise UserFacingError(lambda: edit_status.PREVIEW_NEEDS_MASK, reason_code="invalid_request")
    if order.region is not None and order.mask is not None:
        raise UserFacingError(lambda: edit_status.MASK_AND_REGION, reason_code="invalid_request")
    if order.region is not None:
        try:
            parse_region(order.region)
        except RegionError as exc:
            raise UserFacingError(exc.message, reason_code="invalid_region") from None
    spec = models.get(model)
    if len(order.images) > spec.max_images:
        several = [name for name in allowed_models if models.get(name).max_images > 1]
        raise UserFacingError(lambda: edit_status.one_image_only(model, spec.max_images, several))
    check_options(options, spec, with_mask=order.mask is not None or order.region is not None, images=len(order.images))
    for source in (*order.images, order.mask):
        if source is not None and source.declared_size is not None and source.declared_size > MAX_DOWNLOAD_BYTES:
            raise UserFacingError(lambda: edit_status.file_too_large(source.label, source.declared_size, MAX_DOWNLOAD_BYTES))
    return options


def estimate(options: EditOptions, *, prices: dict[str, Price], settings: Settings) -> float | None:
    """What the edit should cost, from the request alone (None: no price known)."""
    return estimate_request_cost(
        options.model,
        prices,
        size=options.size,
        quality=options.quality,
        n=options.n,
        prompt=options.prompt,
        unpriced_image_usd=settings.unpriced_image_usd,
    )


async def prepare_inputs(order: EditOrder, spec: ModelSpec) -> PreparedInput:
    """Read the order's files and prepare them for the model (ImageRejected / MaskRejected)."""
    image = await read_source(order.image)
    more = [await read_source(source) for source in order.more_images]
    mask = await read_source(order.mask) if order.mask is not None else None
    region = parse_region(order.region) if order.region is not None else None
    return await prepare_input_async(image, mask, more=more, region=region, limits=limits_for(spec))


async def read_source(source: InputSource) -> bytes:
    data = await source.read()
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise UserFacingError(lambda: edit_status.file_over_limit(source.label, MAX_DOWNLOAD_BYTES))
    return data
