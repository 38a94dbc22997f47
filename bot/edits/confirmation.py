"""Asking the member first, before anything is reserved: a mask preview they asked for,
an estimate above CONFIRM_COST_ABOVE_USD, or both in one question."""

from __future__ import annotations

import asyncio

from bot.config import Settings
from bot.edits.state import Edit
from bot.edits.surface import CONFIRM_TIMEOUT_SECONDS, Confirmation, EditSurface
from bot.errors import UserFacingError
from bot.images.inputs import PreparedInput
from bot.images.mask_preview import PREVIEW_FILENAME, render_mask_preview_async
from bot.store.quota import QuotaStore
from bot.text import edit_status, spend_messages


async def confirmed_surface(
    edit: Edit,
    preflight: "asyncio.Task[PreparedInput]",
    *,
    settings: Settings,
    store: QuotaStore,
    cost_usd: float | None,
    waits_for_own_edit: bool,
) -> EditSurface | None:
    """The surface to go on with: the member's own, unless they asked to see the mask first
    or the estimate is above the threshold; then the one they confirmed on (None: not
    confirmed, and the question says nothing was reserved)."""
    cost_question = await _cost_question(edit, settings=settings, store=store, cost_usd=cost_usd, waits_for_own_edit=waits_for_own_edit)
    preview: bytes | None = None
    lines: list[str] = []
    if edit.order.mask_preview:
        inputs = await preflight  # the preview is drawn on the image as it will be sent
        assert inputs.mask is not None  # the checks refuse mask_preview without a mask or region
        preview = await render_mask_preview_async(inputs)
        lines = edit_status.mask_preview_lines(inputs.mask.summary, CONFIRM_TIMEOUT_SECONDS)
    if cost_question is None and preview is None:
        return edit.surface
    title = edit_status.MASK_PREVIEW_TITLE
    if cost_question is not None:
        title, cost_lines = cost_question
        lines = [*lines, *cost_lines] if preview is not None else cost_lines
    minutes = round(CONFIRM_TIMEOUT_SECONDS / 60)
    return await edit.surface.confirm(
        Confirmation(
            title=title,
            lines=lines,
            image=preview,
            image_filename=PREVIEW_FILENAME,
            timed_out_text=spend_messages.not_confirmed(minutes),
            timeout_seconds=CONFIRM_TIMEOUT_SECONDS,
        )
    )


async def _cost_question(
    edit: Edit, *, settings: Settings, store: QuotaStore, cost_usd: float | None, waits_for_own_edit: bool
) -> tuple[str, list[str]] | None:
    """(title, lines) when the estimate is above CONFIRM_COST_ABOVE_USD, else None."""
    threshold = settings.confirm_cost_above_usd
    if threshold is None or cost_usd is None or cost_usd <= threshold:
        return None
    options = edit.options
    assert options is not None
    # Don't ask about an edit the quota or a cap would refuse anyway (a read, nothing held).
    requester = edit.order.requester
    refusal = await store.refusal_for(requester.guild_id, requester.user_id, requester.role_ids, options.n, cost_usd=cost_usd)
    if refusal is not None and not (refusal.blocked_by_in_flight and waits_for_own_edit):
        raise UserFacingError(lambda: spend_messages.refusal_message(refusal), reason_code=refusal.reason_code)
    minutes = round(CONFIRM_TIMEOUT_SECONDS / 60)
    return spend_messages.confirmation_title(cost_usd), spend_messages.confirmation_lines(
        cost_usd=cost_usd, threshold_usd=threshold, model=options.model, size=options.size,
        quality=options.quality, n=options.n, timeout_minutes=minutes,
    )
