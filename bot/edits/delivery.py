"""The end of an edit's life: keep what its buttons need, post it, settle the reservation.

What reached the member is committed (even when the database is locked: the keeper
journals it), the rest refunded with the bill kept; the member is told privately about
images that could not be posted.
"""

from __future__ import annotations

import logging
from typing import Callable

from bot.edits.events import Outcome
from bot.edits.reservations import ReservationKeeper
from bot.edits.state import Edit, EditOutcome, Phase
from bot.edits.surface import DeliveryReport, ResultPost
from bot.store.quota import QuotaStore
from bot.store.results import ResultFiles, ResultStore
from bot.text import edit_status
from bot.text.edit_summary import EditSummary, QuotaLeft, summary_lines

log = logging.getLogger("retouch.edit")

PROMPT_PREVIEW_CHARS = 300

Emit = Callable[..., None]  # EditService._emit(edit, outcome, **details)


class ResultDelivery:
    def __init__(self, *, store: QuotaStore, keeper: ReservationKeeper, results: ResultStore | None, emit: Emit) -> None:
        self.store = store
        self.keeper = keeper
        self.results = results
        self.emit = emit

    async def deliver_and_settle(self, edit: Edit) -> None:
        reservation, outcome, options = edit.reservation, edit.outcome, edit.options
        assert reservation is not None and outcome is not None and options is not None
        kept = await self._keep(edit)
        post = ResultPost(
            edit_id=reservation.id,
            prompt=_shortened(options.prompt),
            summary_lines=await self._summary(edit, outcome),
            requester_name=edit.order.requester.display_name,
            messages=outcome.messages,
            buttons=kept,
        )
        report = await edit.surface.deliver(post)
        edit.settled = True
        if report.delivered == 0:
            edit.phase = Phase.FAILED
            log.warning("%s: the result could not be posted (%s); refunding", edit.where, report.problem)
            await self.keeper.refund(reservation, "not delivered", outcome.bill)
            await self._after(edit, kept, report)
            self.emit(edit, Outcome.FAILED, reason=report.problem, reason_code="not_delivered")
            await edit.surface.tell(edit_status.NOT_DELIVERED)
            return
        edit.phase = Phase.DELIVERED
        # Never more than were reserved: the ledger refuses it, and a commit it refuses
        # would count nothing at all.
        await self.keeper.commit(reservation, min(report.delivered, reservation.images), outcome.bill)
        await self._after(edit, kept, report)
        self.emit(edit, Outcome.DELIVERED, images=report.delivered, link=report.link)
        if report.delivered < post.images:
            log.warning("%s: only %d of %d image(s) were posted (%s)", edit.where, report.delivered, post.images, report.problem)
            await edit.surface.tell(edit_status.partly_delivered(report.delivered, post.images))
        usage = outcome.result.usage
        log.info(
            "edit #%d (server %s, member %s, %s): %d of %d image(s) delivered in %.1f s, %s tokens",
            reservation.id, reservation.guild_id, reservation.user_id, options.model, report.delivered,
            reservation.images, outcome.seconds, usage.total_tokens if usage else "?",
        )

    async def _keep(self, edit: Edit) -> bool:
        """Store what the result's buttons need, before posting it, so a click that comes
        the moment the message appears finds it. False when nothing was written (buttons
        left off). A result whose inputs could not be kept (disk nearly full, larger than
        the bound) still has its row: its buttons say why."""
        if self.results is None or self.results.max_bytes <= 0:
            return False
        reservation, outcome, options, inputs = edit.reservation, edit.outcome, edit.options, edit.inputs
        assert reservation is not None and outcome is not None and options is not None and inputs is not None
        requester = edit.order.requester
        try:
            await self.results.save(
                ResultFiles(
                    edit_id=reservation.id,
                    guild_id=requester.guild_id,
                    channel_id=edit.order.channel_id,
                    requester_id=requester.user_id,
                    prompt=options.prompt,
                    options=options.as_dict(),
                    inputs=inputs.images,
                    mask=inputs.mask.data if inputs.mask else None,
                    # The images themselves are in the message: Edit again reads them there.
                    result_names=[f.filename for m in outcome.messages for f in m.files],
                )
            )
            return True
        except Exception:
            # The images matter more than their buttons: post them without.
            log.warning("%s: could not keep the result for its buttons", edit.where, exc_info=True)
            return False

    async def _after(self, edit: Edit, kept: bool, report: DeliveryReport) -> None:
        if not kept or self.results is None:
            return
        assert edit.reservation is not None
        try:
            if report.delivered == 0:
                await self.results.delete(edit.reservation.id)
            else:
                await self.results.set_messages(edit.reservation.id, report.message_ids)
        except Exception:
            log.warning("%s: could not update the kept result", edit.where, exc_info=True)

    async def _summary(self, edit: Edit, outcome: EditOutcome) -> list[str]:
        reservation, options = edit.reservation, edit.options
        assert reservation is not None and options is not None
        requester = edit.order.requester
        quota: QuotaLeft | None = None
        try:
            usage = await self.store.usage_for(requester.guild_id, requester.user_id, requester.role_ids)
            undelivered = reservation.images - outcome.images
            quota = QuotaLeft(limit=usage.limit, used=max(usage.used - undelivered, 0), period=usage.period, resets_at=usage.resets_at)
        except Exception:
            # The images matter more than the quota line: post them without it.
            log.warning("%s: could not read the quota for the summary", edit.where, exc_info=True)
        result = outcome.result
        return summary_lines(
            EditSummary(
                model=result.model or options.model,
                size=result.size or options.size or "auto",
                images=outcome.images,
                seconds=outcome.seconds,
                usage=result.usage,
                cost_usd=outcome.cost_usd,
                quota=quota,
                notes=outcome.notes,
            )
        )


def _shortened(prompt: str) -> str:
    return prompt if len(prompt) <= PROMPT_PREVIEW_CHARS else prompt[: PROMPT_PREVIEW_CHARS - 3] + "…"
