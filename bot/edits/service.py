"""The one life of an edit, whatever started it.

    checked → reserved → queued → running → delivering → delivered (committed)
          ↘ refused        ↘ cancelled / failed (refunded, the bill kept)

`EditService.submit(order, surface)` owns every step: it checks the order (options,
files, before anything is reserved, so a refusal is the member's private first reply),
prepares the inputs, reserves quota atomically (waiting for the member's own running
edits rather than failing), acknowledges, waits its turn in the fair queue, calls the
provider, plans the delivery within the upload limit, hands the result to the surface,
and settles the reservation exactly once: what reached the member is committed, the
rest refunded. Entry points only build the `EditOrder` and a surface; nothing here
knows Discord.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import secrets
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Awaitable, Callable, Protocol, Sequence

from bot.config import Settings
from bot.edits.events import EditEvent, EditListener, Outcome
from bot.edits.order import (
    EditOptions,
    EditOrder,
    InputSource,
    Requester,
    check_options,
    limits_for,
)
from bot.edits.queue import EditQueue, QueueClosed
from bot.edits.reservations import Bill, ReservationKeeper
from bot.edits.surface import (
    CONFIRM_TIMEOUT_SECONDS,
    Confirmation,
    DeliveryReport,
    EditSurface,
    ResultPost,
    Status,
)
from bot.errors import ShuttingDown, UserFacingError, user_message_for
from bot.images.delivery_plan import Message, plan_delivery_async
from bot.images.errors import ImageRejected, MaskRejected
from bot.images.inputs import PreparedInput, prepare_input_async
from bot.images.mask_preview import PREVIEW_FILENAME, render_mask_preview_async
from bot.images.prepare import GPT_IMAGE_LIMITS
from bot.images.regions import RegionError, parse_region
from bot.provider.client import EditResult, ImageEditClient
from bot.provider.errors import (
    BillingError,
    InvalidRequest,
    ProviderAuthError,
    ProviderError,
    ProviderRejected,
)
from bot.provider.models import ModelTable
from bot.provider.pricing import Price, estimate_cost, estimate_request_cost
from bot.provider.request import opaque_user_id
from bot.provider.response import PartialImage
from bot.store.quota import (
    CANCELLED_RUNNING_REASON,
    QuotaExceeded,
    QuotaStore,
    Reservation,
    SpendCapReached,
)
from bot.store.results import ResultFiles, ResultStore
from bot.text import edit_status, spend_messages
from bot.text.edit_summary import EditSummary, QuotaLeft, summary_lines
from bot.text.quota_messages import refusal_text

log = logging.getLogger("retouch.edit")

# The image code refuses bigger files anyway; checking the declared size saves the download.
MAX_DOWNLOAD_BYTES = GPT_IMAGE_LIMITS.max_input_bytes or 64 * 1024 * 1024
# How long the file check may delay the acknowledgement: long enough to catch a typical
# bad file before reserving anything, short enough to ack well inside Discord's 3 s.
PREFLIGHT_SECONDS = 0.4
# Downloads and decodes at once; a burst of 20 would otherwise fight the event loop for the CPU.
PREPARE_CONCURRENCY = 2
# How often the placeholder's elapsed time moves while the provider works (surfaces
# also throttle their own updates to what the platform's rate limits allow).
PROGRESS_INTERVAL_SECONDS = 3.0
CANCELLED_QUEUED = "cancelled"
# After shutdown cancels an edit that is posting its result, how long the post may finish.
DELIVERY_GRACE_SECONDS = 10.0
PROMPT_PREVIEW_CHARS = 300


class EditPolicy(Protocol):
    """A server's own rules, checked before anything is reserved (raise UserFacingError)."""

    async def check(self, order: EditOrder, options: EditOptions) -> None: ...


class CancelResult(StrEnum):
    CANCELLED = "cancelled"
    NOT_RUNNING = "not_running"  # finished, failed, or from before a restart
    NOT_ALLOWED = "not_allowed"  # only the requester or a moderator
    TOO_LATE = "too_late"  # already being delivered


# The model an edit uses when the member picks none (a server may not allow the bot's
# default); None: IMAGE_MODEL.
DefaultModel = Callable[[Requester], Awaitable["str | None"]]


class Phase(StrEnum):
    CHECKED = "checked"
    RESERVED = "reserved"
    QUEUED = "queued"
    RUNNING = "running"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    FAILED = "failed"


@dataclass(frozen=True)
class EditOutcome:
    """What the provider made and how it will be posted."""

    result: EditResult
    messages: list[Message]
    seconds: float
    cost_usd: float | None
    notes: list[str] = field(default_factory=list)

    @property
    def images(self) -> int:
        return sum(len(m.files) for m in self.messages)

    @property
    def bill(self) -> Bill:
        return Bill.of(self.result.usage, self.cost_usd)


@dataclass(eq=False)
class _Edit:
    """One edit in flight: the service's own bookkeeping, never shared with a surface."""

    order: EditOrder
    surface: EditSurface
    phase: Phase = Phase.CHECKED
    options: EditOptions | None = None
    reservation: Reservation | None = None
    inputs: PreparedInput | None = None
    outcome: EditOutcome | None = None
    settled: bool = False
    task: asyncio.Task | None = None
    cancelled_by: int | None = None  # a member pressed Cancel (else a cancel is a shutdown)
    started: float = 0.0  # monotonic time the provider call began

    @property
    def where(self) -> str:
        r = self.order.requester
        ident = f"edit #{self.reservation.id}" if self.reservation else "edit"
        model = self.options.model if self.options else "?"
        return f"{ident} ({self.order.entry}, server {r.guild_id}, member {r.user_id}, {model})"


class _Waiters:
    """Wake-ups for members waiting on their own running edits.

    A waiter reads the member's generation BEFORE it tries to reserve; any edit of theirs
    that settles afterwards bumps it, so a settle landing between the failed reservation
    and the wait can never be missed."""

    def __init__(self) -> None:
        self._generation: collections.Counter[int] = collections.Counter()
        self._events: dict[int, asyncio.Event] = {}

    def generation(self, user_id: int) -> int:
        return self._generation[user_id]

    def settled(self, user_id: int) -> None:
        self._generation[user_id] += 1
        event = self._events.pop(user_id, None)
        if event is not None:
            event.set()

    async def wait(self, user_id: int, seen: int) -> None:
        while self._generation[user_id] == seen:
            event = self._events.setdefault(user_id, asyncio.Event())
            await event.wait()


class EditService:
    """Owned by the bot, one per process, like the HTTP session."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: QuotaStore,
        client: ImageEditClient,
        models: ModelTable,
        prices: dict[str, Price],
        keeper: ReservationKeeper,
        salt: str,
        policies: Sequence[EditPolicy] = (),
        listeners: Sequence[EditListener] = (),
        results: ResultStore | None = None,
        default_model: DefaultModel | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.client = client
        self.models = models
        self.prices = prices
        self.keeper = keeper
        self.salt = salt
        self.policies = list(policies)
        self.listeners = list(listeners)
        self.results = results
        self.default_model = default_model
        self.queue = EditQueue(settings.max_concurrent_edits)
        self._preparing = asyncio.Semaphore(PREPARE_CONCURRENCY)
        self._tasks: set[asyncio.Task] = set()
        self._in_flight: collections.Counter[int] = collections.Counter()
        self._waiters = _Waiters()
        self._live: dict[int, _Edit] = {}  # by reservation id: what Cancel can reach
        self._accepting = True

    # -- what members may ask for -------------------------------------------------------

    def allowed_models(self) -> list[str]:
        """The capability table plus the owner's IMAGE_MODEL, default first."""
        default = self.settings.image_model
        return [default] + [n for n in self.models.names() if n != default]

    def _multi_image_models(self) -> list[str]:
        return [name for name in self.allowed_models() if self.models.get(name).max_images > 1]

    def sizes_for(self, model: str) -> list[str]:
        return self.models.sizes_for(model) if model in self.allowed_models() else []

    @property
    def accepting(self) -> bool:
        return self._accepting and not self.queue.closed

    # -- cancel -------------------------------------------------------------------------

    def requester_of(self, edit_id: int) -> int | None:
        """Who asked for a live edit (None once it has ended)."""
        edit = self._live.get(edit_id)
        return edit.order.requester.user_id if edit is not None else None

    def cancel(self, edit_id: int, *, user_id: int, is_moderator: bool) -> CancelResult:
        """A member's Cancel: a queued edit stops at once, a running one abandons the
        provider call; either is refunded and its member told (by the edit itself)."""
        edit = self._live.get(edit_id)
        if edit is None or edit.task is None:
            return CancelResult.NOT_RUNNING
        if user_id != edit.order.requester.user_id and not is_moderator:
            return CancelResult.NOT_ALLOWED
        if edit.phase not in (Phase.RESERVED, Phase.QUEUED, Phase.RUNNING):
            return CancelResult.TOO_LATE
        if edit.cancelled_by is None:
            edit.cancelled_by = user_id
            edit.task.cancel()
        return CancelResult.CANCELLED

    # -- shutdown -----------------------------------------------------------------------

    async def drain(self) -> None:
        """No new edits; running ones get the grace period; the rest are cancelled,
        refunded and their members told."""
        self._accepting = False
        self.queue.close()
        if not self._tasks:
            return
        grace = self.settings.shutdown_grace_seconds
        log.info("waiting up to %.0f s for %d edit(s) to finish", grace, len(self._tasks))
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            # Each cancelled edit refunds and tells its member; give that a moment.
            await asyncio.wait(pending, timeout=DELIVERY_GRACE_SECONDS + 5)

    # -- one edit -----------------------------------------------------------------------

    async def submit(self, order: EditOrder, surface: EditSurface) -> Phase:
        """Run the whole life of `order`, telling the member through `surface`.

        Returns the phase it ended in. Never raises, except CancelledError."""
        edit = _Edit(order, surface)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # from here on, shutdown waits for (or cancels) this edit
        preflight: asyncio.Task[PreparedInput] | None = None
        try:
            try:
                default_model = await self.default_model(order.requester) if self.default_model else None
                edit.options = self._check(order, default_model)
                # The server's own rules (models, images, blocked words): refused privately
                # before anything is reserved or sent.
                for policy in self.policies:
                    await policy.check(order, edit.options)
                spec = self.models.get(edit.options.model)
                # Most bad files are caught here, inside Discord's 3 s, as a private first
                # reply that reserves nothing; slower downloads finish after the defer.
                preflight = asyncio.create_task(self._prepare(order, spec))
                await asyncio.wait({preflight}, timeout=PREFLIGHT_SECONDS)
                if preflight.done() and preflight.exception() is not None:
                    preflight.result()  # a bad file: refused before anything is reserved
                confirmed = await self._confirm(edit, preflight)
                if confirmed is None:
                    # Cancelled or unanswered: nothing was reserved; the prompt says so.
                    edit.phase = Phase.CANCELLED
                    log.info("%s: not confirmed (mask preview or cost); nothing reserved", edit.where)
                    self._emit(edit, Outcome.CANCELLED, reason="the member did not confirm", reason_code="not_confirmed")
                    return edit.phase
                surface = edit.surface = confirmed
                edit.reservation = await self._reserve(edit)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                message = user_message_for(exc)
                if message is None:
                    raise
                edit.phase = Phase.FAILED
                log.info("%s refused: %s", edit.where, message)
                self._emit(edit, Outcome.REFUSED, reason=message, reason_code=_reason_code(exc))
                await surface.tell(message)
                return edit.phase
            await self._run_reserved(edit, preflight)
            return edit.phase
        except asyncio.CancelledError:
            if edit.reservation is None:
                # Stopped while checking or waiting for the member's other edit: nothing was reserved.
                edit.phase = Phase.CANCELLED
                await asyncio.shield(surface.tell(edit_status.RESTART_BEFORE_START))
            raise
        except Exception as exc:  # a bug: the member gets an id the owner can find in the log
            edit.phase = Phase.FAILED
            error_id = secrets.token_hex(4)
            log.error("unexpected error %s in %s", error_id, edit.where, exc_info=exc)
            self._emit(edit, Outcome.FAILED, reason=f"unexpected error {error_id}", reason_code="bug")
            await surface.tell(edit_status.unexpected_error(error_id))
            return edit.phase
        finally:
            self._tasks.discard(task)
            if preflight is not None and not preflight.done():
                preflight.cancel()
            elif preflight is not None and not preflight.cancelled():
                preflight.exception()  # already reported to the member, or moot after a refusal

    def _check(self, order: EditOrder, default_model: str | None = None) -> EditOptions:
        """Everything that can be refused before a byte is downloaded or reserved.

        `default_model`: the model when the member picks none (the server's), else IMAGE_MODEL."""
        if not self.accepting:
            raise ShuttingDown()
        requester = order.requester
        if requester.guild_id is None and not self.settings.allow_dms:
            raise UserFacingError(edit_status.SERVERS_ONLY)
        prompt = order.prompt.strip()
        if not prompt:
            raise UserFacingError(edit_status.EMPTY_PROMPT)
        model = (order.model or default_model or self.settings.image_model).strip()
        allowed = self.allowed_models()
        if model not in allowed:
            raise UserFacingError(edit_status.unknown_model(model, allowed))
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
            raise UserFacingError(edit_status.PREVIEW_NEEDS_MASK, reason_code="invalid_request")
        if order.region is not None and order.mask is not None:
            raise UserFacingError(edit_status.MASK_AND_REGION, reason_code="invalid_request")
        if order.region is not None:
            try:
                parse_region(order.region)
            except RegionError as exc:
                raise UserFacingError(exc.message, reason_code="invalid_region") from None
        spec = self.models.get(model)
        if len(order.images) > spec.max_images:
            raise UserFacingError(edit_status.one_image_only(model, spec.max_images, self._multi_image_models()))
        check_options(options, spec, with_mask=order.mask is not None or order.region is not None, images=len(order.images))
        for source in (*order.images, order.mask):
            if source is not None and source.declared_size is not None and source.declared_size > MAX_DOWNLOAD_BYTES:
                raise UserFacingError(edit_status.file_too_large(source.label, source.declared_size, MAX_DOWNLOAD_BYTES))
        return options

    def _estimate(self, edit: _Edit) -> float | None:
        """What the edit should cost, from the request alone (None: no price known)."""
        options = edit.options
        assert options is not None
        return estimate_request_cost(
            options.model,
            self.prices,
            size=options.size,
            quality=options.quality,
            n=options.n,
            prompt=options.prompt,
            unpriced_image_usd=self.settings.unpriced_image_usd,
        )

    async def _confirm(self, edit: _Edit, preflight: "asyncio.Task[PreparedInput]") -> EditSurface | None:
        """The surface to go on with: the member's own, unless they asked to see the mask
        first or the estimate is above CONFIRM_COST_ABOVE_USD; then the one they confirmed
        on (None: not confirmed). One question covers both, before anything is reserved."""
        cost_question = await self._cost_question(edit)
        preview: bytes | None = None
        lines: list[str] = []
        if edit.order.mask_preview:
            inputs = await preflight  # the preview is drawn on the image as it will be sent
            assert inputs.mask is not None  # _check refuses mask_preview without a mask or region
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

    async def _cost_question(self, edit: _Edit) -> tuple[str, list[str]] | None:
        """(title, lines) when the estimate is above CONFIRM_COST_ABOVE_USD, else None."""
        threshold = self.settings.confirm_cost_above_usd
        cost = self._estimate(edit) if threshold is not None else None
        if threshold is None or cost is None or cost <= threshold:
            return None
        options = edit.options
        assert options is not None
        # Don't ask about an edit the quota or a cap would refuse anyway (a read, nothing held).
        requester = edit.order.requester
        refusal = await self.store.refusal_for(
            requester.guild_id, requester.user_id, requester.role_ids, options.n, cost_usd=cost
        )
        if refusal is not None and not (refusal.blocked_by_in_flight and self._in_flight[requester.user_id]):
            raise UserFacingError(self._refusal_text(refusal), reason_code=refusal.reason_code)
        minutes = round(CONFIRM_TIMEOUT_SECONDS / 60)
        return spend_messages.confirmation_title(cost), spend_messages.confirmation_lines(
            cost_usd=cost, threshold_usd=threshold, model=options.model, size=options.size,
            quality=options.quality, n=options.n, timeout_minutes=minutes,
        )

    @staticmethod
    def _refusal_text(refusal: QuotaExceeded | SpendCapReached) -> str:
        if isinstance(refusal, SpendCapReached):
            return spend_messages.spend_refusal_text(refusal)
        return refusal_text(refusal)

    async def _prepare(self, order: EditOrder, spec) -> PreparedInput:  # type: ignore[no-untyped-def]
        async with self._preparing:
            image = await self._read(order.image)
            more = [await self._read(source) for source in order.more_images]
            mask = await self._read(order.mask) if order.mask is not None else None
            region = parse_region(order.region) if order.region is not None else None
            return await prepare_input_async(image, mask, more=more, region=region, limits=limits_for(spec))

    @staticmethod
    async def _read(source: InputSource) -> bytes:
        data = await source.read()
        if len(data) > MAX_DOWNLOAD_BYTES:
            raise UserFacingError(
                f"Your {source.label} is larger than {MAX_DOWNLOAD_BYTES // 1_048_576} MB. Save it smaller and try again."
            )
        return data

    async def _reserve(self, edit: _Edit) -> Reservation:
        assert edit.options is not None
        requester = edit.order.requester
        options = edit.options
        prompt = options.prompt if self.settings.store_prompts else None
        # The estimate is held against the money caps in the same statement as the images.
        cost = self._estimate(edit)
        while True:
            seen = self._waiters.generation(requester.user_id)
            outcome = await self.store.reserve(
                requester.guild_id, requester.user_id, requester.role_ids, options.n,
                model=options.model, prompt=prompt, cost_usd=cost,
            )
            if isinstance(outcome, Reservation):
                edit.phase = Phase.RESERVED
                return outcome
            if not (outcome.blocked_by_in_flight and self._in_flight[requester.user_id]):
                raise UserFacingError(self._refusal_text(outcome), reason_code=outcome.reason_code)
            # The member's own running edits hold the quota: queue behind them instead of failing.
            await edit.surface.acknowledge()
            await edit.surface.show_status(Status(edit_status.WAITING_FOR_OWN))
            await self._waiters.wait(requester.user_id, seen)

    async def _run_reserved(self, edit: _Edit, preflight: "asyncio.Task[PreparedInput]") -> None:
        reservation = edit.reservation
        assert reservation is not None and edit.options is not None
        user_id = edit.order.requester.user_id
        self.keeper.hold(reservation)
        self._in_flight[user_id] += 1
        edit.task = asyncio.current_task()
        self._live[reservation.id] = edit
        try:
            await edit.surface.acknowledge()
            edit.phase = Phase.QUEUED

            async def show_position(position: int) -> None:
                ahead = position - 1 + self.queue.running
                await edit.surface.show_status(Status(edit_status.queued(position, ahead), cancel_id=reservation.id))

            edit.outcome = await self.queue.run(user_id, lambda: self._work(edit, preflight), on_position=show_position)
            edit.phase = Phase.DELIVERING
            delivering = asyncio.create_task(self._deliver_and_settle(edit))
            try:
                await asyncio.shield(delivering)
            except asyncio.CancelledError:
                # Images may be on their way to the member: let the post finish and settle.
                await asyncio.wait({delivering}, timeout=DELIVERY_GRACE_SECONDS)
                raise
        except asyncio.CancelledError:
            if edit.cancelled_by is not None and not edit.settled:
                await self._cancelled_by_member(edit)
                return  # the member's cancel ends this edit; it does not stop the caller
            if not edit.settled and edit.phase is not Phase.DELIVERING:
                edit.phase = Phase.CANCELLED
                await self._settle_refund(edit, "shutdown")
                self._emit(edit, Outcome.CANCELLED, reason="the bot restarted", reason_code="shutdown")
                await asyncio.shield(edit.surface.tell(edit_status.RESTART_CANCELLED))
            raise
        except QueueClosed:
            edit.phase = Phase.CANCELLED
            await self._settle_refund(edit, "shutdown")
            self._emit(edit, Outcome.CANCELLED, reason="the bot restarted", reason_code="shutdown")
            await edit.surface.tell(ShuttingDown().message)
        except Exception as exc:
            edit.phase = Phase.FAILED
            await self._settle_refund(edit, type(exc).__name__)
            self._log_failure(exc, edit)
            message = user_message_for(exc)
            if message is None:
                raise  # a bug: logged with an id by submit()
            rejected = isinstance(exc, ProviderRejected)
            self._emit(
                edit,
                Outcome.REJECTED if rejected else Outcome.FAILED,
                reason=message,
                reason_code="provider_rejected" if rejected else _reason_code(exc),
            )
            await edit.surface.tell(edit_status.with_refund(message))
        finally:
            if not edit.settled and edit.phase is not Phase.DELIVERING:
                await self._settle_refund(edit, "not delivered")
            self._live.pop(reservation.id, None)
            self.keeper.let_go(reservation)
            self._in_flight[user_id] -= 1
            if self._in_flight[user_id] <= 0:
                del self._in_flight[user_id]
            self._waiters.settled(user_id)

    async def _cancelled_by_member(self, edit: _Edit) -> None:
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()  # we asked for this cancellation and have handled it
        running = edit.phase is Phase.RUNNING
        edit.phase = Phase.CANCELLED
        # A running call may already be billed by the provider: the ledger says so.
        await self._settle_refund(edit, CANCELLED_RUNNING_REASON if running else CANCELLED_QUEUED)
        by_moderator = edit.cancelled_by != edit.order.requester.user_id
        self._emit(edit, Outcome.CANCELLED, reason="cancelled by a moderator" if by_moderator else "cancelled by the member",
                   reason_code="cancelled_running" if running else "cancelled")
        log.info("%s cancelled by member %s while %s", edit.where, edit.cancelled_by, "running" if running else "queued")
        await edit.surface.tell(edit_status.cancelled(by_moderator=by_moderator))

    async def _settle_refund(self, edit: _Edit, reason: str) -> None:
        if edit.settled or edit.reservation is None:
            return
        edit.settled = True
        bill = edit.outcome.bill if edit.outcome is not None else None
        await asyncio.shield(self.keeper.refund(edit.reservation, reason, bill))

    async def _work(self, edit: _Edit, preflight: "asyncio.Task[PreparedInput]") -> EditOutcome:
        assert edit.options is not None
        options = edit.options
        assert edit.reservation is not None
        cancel_id = edit.reservation.id
        edit.phase = Phase.RUNNING
        edit.started = time.monotonic()
        await edit.surface.show_status(Status(edit_status.running(options.model), cancel_id=cancel_id))
        inputs = edit.inputs = await preflight

        async def show_preview(partial: PartialImage) -> None:
            text = edit_status.preview(options.model, partial.index, self._elapsed(edit))
            await edit.surface.show_status(Status(text, preview=partial, cancel_id=cancel_id))

        ticker = asyncio.create_task(self._tick_elapsed(edit, cancel_id))
        try:
            return await self._call_provider(edit, inputs, on_preview=show_preview)
        finally:
            ticker.cancel()

    @staticmethod
    def _elapsed(edit: _Edit) -> float:
        return time.monotonic() - edit.started

    async def _tick_elapsed(self, edit: _Edit, cancel_id: int) -> None:
        """Show the time the provider has been working, so a long edit looks alive."""
        assert edit.options is not None
        while True:
            await asyncio.sleep(PROGRESS_INTERVAL_SECONDS)
            await edit.surface.show_status(
                Status(edit_status.running(edit.options.model, self._elapsed(edit)), cancel_id=cancel_id, keep_preview=True)
            )

    async def _call_provider(
        self,
        edit: _Edit,
        inputs: PreparedInput,
        *,
        on_preview: Callable[[PartialImage], Awaitable[None]],
    ) -> EditOutcome:
        options = edit.options
        assert options is not None
        started = time.monotonic()
        request = options.request(
            inputs.images,
            inputs.mask.data if inputs.mask else None,
            opaque_user_id(edit.order.requester.user_id, self.salt),
            previews=self.settings.stream_previews,
        )
        result = await self.client.edit(request, on_partial=on_preview if request.stream else None)
        seconds = time.monotonic() - started
        cost = estimate_cost(result.usage, options.model, self.prices)
        # Billed from here on: should planning fail, the refund still records the bill.
        edit.outcome = EditOutcome(result=result, messages=[], seconds=seconds, cost_usd=cost)
        messages = await plan_delivery_async(result.images, limit_bytes=edit.surface.upload_limit)
        notes = inputs.notes + [f.note for m in messages for f in m.files if f.note]
        if len(result.images) < options.n:
            notes.append(f"the provider returned {len(result.images)} of {options.n} images; only those count against your quota")
        notes += [f"the provider does not accept `{name}`, so it was left out" for name in result.dropped_fields]
        return EditOutcome(result=result, messages=messages, seconds=seconds, cost_usd=cost, notes=notes)

    async def _deliver_and_settle(self, edit: _Edit) -> None:
        reservation, outcome, options = edit.reservation, edit.outcome, edit.options
        assert reservation is not None and outcome is not None and options is not None
        kept = await self._keep_result(edit)
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
            await self._after_delivery(edit, kept, report)
            self._emit(edit, Outcome.FAILED, reason=report.problem, reason_code="not_delivered")
            await edit.surface.tell(edit_status.NOT_DELIVERED)
            return
        edit.phase = Phase.DELIVERED
        await self.keeper.commit(reservation, report.delivered, outcome.bill)
        await self._after_delivery(edit, kept, report)
        self._emit(edit, Outcome.DELIVERED, images=report.delivered, link=report.link)
        if report.delivered < post.images:
            log.warning("%s: only %d of %d image(s) were posted (%s)", edit.where, report.delivered, post.images, report.problem)
            await edit.surface.tell(edit_status.partly_delivered(report.delivered, post.images))
        usage = outcome.result.usage
        log.info(
            "edit #%d (server %s, member %s, %s): %d of %d image(s) delivered in %.1f s, %s tokens",
            reservation.id, reservation.guild_id, reservation.user_id, options.model, report.delivered,
            reservation.images, outcome.seconds, usage.total_tokens if usage else "?",
        )

    async def _keep_result(self, edit: _Edit) -> bool:
        """Store what the result's buttons need, before posting it, so a click that comes
        the moment the message appears finds it. False when not kept (buttons left off)."""
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
                    results=[(f.filename, f.data) for m in outcome.messages for f in m.files],
                )
            )
            return True
        except Exception:
            # The images matter more than their buttons: post them without.
            log.warning("%s: could not keep the result for its buttons", edit.where, exc_info=True)
            return False

    async def _after_delivery(self, edit: _Edit, kept: bool, report: DeliveryReport) -> None:
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

    async def _summary(self, edit: _Edit, outcome: EditOutcome) -> list[str]:
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

    def _emit(self, edit: _Edit, outcome: Outcome, *, images: int = 0, reason: str | None = None,
              reason_code: str | None = None, link: str | None = None) -> None:
        result = edit.outcome.result if edit.outcome is not None else None
        usage = result.usage if result is not None else None
        event = EditEvent(
            outcome=outcome,
            requester=edit.order.requester,
            entry=edit.order.entry,
            model=edit.options.model if edit.options else edit.order.model,
            size=(result.size if result is not None else None) or (edit.options.size if edit.options else None),
            images=images,
            total_tokens=usage.total_tokens if usage is not None else None,
            cost_usd=edit.outcome.cost_usd if edit.outcome is not None else None,
            reason=reason,
            reason_code=reason_code,
            edit_id=edit.reservation.id if edit.reservation else None,
            link=link,
        )
        for listener in self.listeners:
            try:
                listener.edit_ended(event)
            except Exception:
                log.exception("an edit listener failed (the edit is not affected)")

    @staticmethod
    def _log_failure(exc: Exception, edit: _Edit) -> None:
        if isinstance(exc, (BillingError, ProviderAuthError)):
            # The owner must act; the member only sees a generic message.
            log.error("%s: image API problem the bot owner must fix: %s", edit.where, exc)
        elif isinstance(exc, ProviderError):
            log.warning("%s failed at the provider: %s", edit.where, exc)
        elif user_message_for(exc) is not None:
            log.info("%s refused: %s", edit.where, user_message_for(exc))


def _reason_code(exc: BaseException) -> str:
    if isinstance(exc, UserFacingError):
        return exc.reason_code
    if isinstance(exc, ImageRejected):
        return "bad_mask" if isinstance(exc, MaskRejected) else "bad_image"
    if isinstance(exc, InvalidRequest):
        return "invalid_request"
    if isinstance(exc, ProviderError):
        return "provider_" + type(exc).__name__.lower()
    return type(exc).__name__


def _shortened(prompt: str) -> str:
    return prompt if len(prompt) <= PROMPT_PREVIEW_CHARS else prompt[: PROMPT_PREVIEW_CHARS - 3] + "…"

