"""The one life of an edit, whatever started it.

    checked → reserved → queued → running → delivering → delivered (committed)
          ↘ refused        ↘ cancelled / failed (refunded, the bill kept)

`EditService.submit(order, surface)` owns every step: it checks the order (options,
files, before anything is reserved, so a refusal is the member's private first reply;
`checks`; the content check runs as a screen alongside the file preflight, `safety`), asks first when the member wants a mask preview or the cost needs confirming
(`confirmation`), reserves quota atomically (waiting for the member's own running edits
rather than failing), acknowledges (in time whatever is slow, `first_answer`: a question
not ready by then follows a private acknowledgement), waits its turn in the fair queue
(`queue`), calls the provider, plans the delivery within the upload limit, and hands the result over to be
posted and settled exactly once (`delivery`): what reached the member is committed, the
rest refunded. Entry points only build the `EditOrder` and a surface; nothing here
knows Discord.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import secrets
import time
from typing import Awaitable, Callable, Protocol, Sequence

from bot.config import Settings
from bot.edits import checks
from bot.edits.confirmation import confirmed_surface
from bot.edits.delivery import ResultDelivery
from bot.edits.events import EditEvent, EditListener, Outcome
from bot.edits.first_answer import AnswerInTime
from bot.edits.order import EditOptions, EditOrder, Requester
from bot.edits.queue import EditQueue, QueueClosed
from bot.edits.reservations import ReservationKeeper
from bot.edits.shared_reads import forget, release, with_shared_reads
from bot.edits.state import CancelResult, Edit, EditOutcome, Phase, Waiters, reason_code
from bot.edits.surface import EditSurface, Status
from bot.edits.waiting_inputs import WAITING_MEMORY_BYTES, HeldInput, WaitingInputs
from bot.errors import ShuttingDown, UserFacingError, user_message_for
from bot.freed_memory import FreedMemory
from bot.images.delivery_plan import plan_delivery_async
from bot.images.inputs import PreparedInput
from bot.log_context import edit_id_in_logs
from bot.provider.client import ImageEditClient
from bot.provider.errors import (
    BillingError,
    ProviderAuthError,
    ProviderError,
    ProviderRejected,
    ProviderTimeout,
)
from bot.provider.models import ModelTable
from bot.provider.pricing import Price, estimate_cost
from bot.provider.request import opaque_user_id
from bot.provider.response import PartialImage
from bot.store.quota import CANCELLED_RUNNING_REASON, TIMED_OUT_RUNNING_REASON, QuotaStore, Reservation
from bot.store.results import ResultStore
from bot.text import audit_lines, edit_status, edit_summary, spend_messages
from bot.text.i18n import language, server_language, use_language

__all__ = ["CancelResult", "EditPolicy", "EditService", "Phase"]

log = logging.getLogger("retouch.edit")

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


def _for_server(text: Callable[[], str]) -> str:
    """A reason for the audit channel, in the server's language."""
    with server_language():
        return text()


def _in_english(exc: BaseException) -> str | None:
    """An error's member-facing text for the log, in English where it is written when read
    (provider errors); a refusal raised with its text already written keeps that text."""
    with language(None):
        return user_message_for(exc)


class EditPolicy(Protocol):
    """A server's own rules, checked before anything is reserved (raise UserFacingError)."""

    async def check(self, order: EditOrder, options: EditOptions) -> None: ...


class EditScreen(Protocol):
    """A slower policy (the content check) run alongside the preflight, before anything is
    reserved or confirmed; reads the order's files through shared reads (raise UserFacingError)."""

    async def screen(self, order: EditOrder, options: EditOptions) -> None: ...


# The model an edit uses when the member picks none (a server may not allow the bot's
# default); None: IMAGE_MODEL.
DefaultModel = Callable[[Requester], Awaitable["str | None"]]


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
        screens: Sequence[EditScreen] = (),
        on_safety_rejection: Callable[[Requester], Awaitable[str]] | None = None,
        waiting_memory_bytes: int = WAITING_MEMORY_BYTES,
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
        self.delivery = ResultDelivery(store=store, keeper=keeper, results=results, emit=self._emit)
        self.default_model = default_model
        self.screens = list(screens)
        # A provider safety rejection is a strike (bot/edits/safety.py): what to tell the member.
        self.on_safety_rejection = on_safety_rejection
        self.queue = EditQueue(settings.max_concurrent_edits)
        self._preparing = asyncio.Semaphore(PREPARE_CONCURRENCY)
        # Prepared files of edits waiting for their turn: in memory within a budget, else on disk.
        self.waiting_inputs = WaitingInputs(settings.database_path.parent, budget_bytes=waiting_memory_bytes)
        self._freed = FreedMemory()
        self._tasks: set[asyncio.Task] = set()
        self._in_flight: collections.Counter[int] = collections.Counter()
        # Edits each member has in progress, from acceptance to settlement (MAX_EDITS_PER_MEMBER).
        self._in_progress: collections.Counter[int] = collections.Counter()
        self._waiters = Waiters()
        self._live: dict[int, Edit] = {}  # by reservation id: what Cancel can reach
        self._accepting = True

    # -- what members may ask for -------------------------------------------------------

    def allowed_models(self) -> list[str]:
        """The capability table plus the owner's IMAGE_MODEL, default first."""
        default = self.settings.image_model
        return [default] + [n for n in self.models.names() if n != default]

    def sizes_for(self, model: str) -> list[str]:
        return self.models.sizes_for(model) if model in self.allowed_models() else []

    @property
    def waiting_bytes(self) -> int:
        """Bytes of prepared files that waiting edits hold in memory (within the budget)."""
        return self.waiting_inputs.in_memory

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

    @property
    def in_progress(self) -> int:
        """Edits accepted and not yet settled (waiting, running or delivering), all members."""
        return sum(self._in_progress.values())

    # -- shutdown -----------------------------------------------------------------------

    async def drain(self) -> None:
        """No new edits; running ones get the grace period; the rest are cancelled,
        refunded and their members told."""
        self._accepting = False
        self.queue.close()
        if not self._tasks:
            self.waiting_inputs.close()
            self._freed.close()
            return
        grace = self.settings.shutdown_grace_seconds
        log.info("waiting up to %.0f s for %d edit(s) to finish", grace, len(self._tasks))
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            # Each cancelled edit refunds and tells its member; give that a moment.
            await asyncio.wait(pending, timeout=DELIVERY_GRACE_SECONDS + 5)
        if not self._tasks:
            self.waiting_inputs.close()  # every edit has deleted its own file; the folder goes
            self._freed.close()

    # -- one edit -----------------------------------------------------------------------

    async def submit(self, order: EditOrder, surface: EditSurface) -> Phase:
        """Run the whole life of `order`, telling the member through `surface`.

        Returns the phase it ended in. Never raises, except CancelledError."""
        # Everything the member reads about this edit in their language (the tasks started
        # below inherit it); the audit channel's reasons in the server's.
        use_language(order.requester.locale, server=order.requester.guild_locale)
        edit = Edit(order, surface)
        user_id = order.requester.user_id
        limit = self.settings.max_edits_per_member
        if self._in_progress[user_id] >= limit:
            # Refused at once, before any download or reservation: each edit in progress
            # holds memory (its inputs) and a place in the queue.
            edit.phase = Phase.FAILED
            log.info("%s refused: member already has %d edits in progress", edit.where, limit)
            self._emit(edit, Outcome.REFUSED, reason=f"{limit} edits already in progress", reason_code="too_many_in_progress")
            await surface.tell(edit_status.too_many_in_progress(limit))
            return edit.phase
        self._in_progress[user_id] += 1
        try:
            return await self._submit(edit)
        finally:
            self._in_progress[user_id] -= 1
            if self._in_progress[user_id] <= 0:
                del self._in_progress[user_id]

    async def _submit(self, edit: Edit) -> Phase:
        order = edit.order
        # Whatever below is slow, the member is answered within the platform's deadline.
        timely = AnswerInTime(edit.surface, asks_first=lambda: self._asks_first(edit))
        surface = edit.surface = timely
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # from here on, shutdown waits for (or cancels) this edit
        preflight: asyncio.Task[HeldInput] | None = None
        screening: list[asyncio.Task[None]] = []
        try:
            try:
                default_model = await self.default_model(order.requester) if self.default_model else None
                if not self.accepting:
                    raise ShuttingDown()
                edit.options = checks.options_for(
                    order, settings=self.settings, models=self.models, allowed_models=self.allowed_models(), default_model=default_model
                )
                # The server's own rules (models, images, blocked words): refused privately
                # before anything is reserved or sent.
                for policy in self.policies:
                    await policy.check(order, edit.options)
                spec = self.models.get(edit.options.model)
                if self.screens:
                    order = with_shared_reads(order)  # the screens and the preflight download once
                # Most bad files are caught here, inside Discord's 3 s, as a private first
                # reply that reserves nothing; slower downloads finish after the defer.
                preflight = asyncio.create_task(self._prepare(edit, order, spec))
                screening = [asyncio.create_task(s.screen(order, edit.options)) for s in self.screens]
                await asyncio.wait({preflight}, timeout=PREFLIGHT_SECONDS)
                if preflight.done() and preflight.exception() is not None:
                    preflight.result()  # a bad file: refused before anything is reserved
                await self._screened(edit, screening)
                if self.screens:
                    # Nobody reads the downloads again once the screens and the preflight
                    # are done: the prepared files are what the edit holds while it waits.
                    read_by_all = order
                    if preflight.done():
                        forget(read_by_all)
                    else:
                        preflight.add_done_callback(lambda _: forget(read_by_all))
                confirmed = await confirmed_surface(
                    edit,
                    preflight,
                    settings=self.settings,
                    store=self.store,
                    cost_usd=self._estimate(edit),
                    waits_for_own_edit=bool(self._in_flight[order.requester.user_id]),
                )
                if confirmed is None:
                    # Cancelled or unanswered: nothing was reserved; the prompt says so.
                    edit.phase = Phase.CANCELLED
                    log.info("%s: not confirmed (mask preview or cost); nothing reserved", edit.where)
                    self._emit(edit, Outcome.CANCELLED, reason=_for_server(lambda: audit_lines.NOT_CONFIRMED), reason_code="not_confirmed")
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
                log.info("%s refused: %s", edit.where, _in_english(exc) or message)
                self._emit(edit, Outcome.REFUSED, reason=_for_server(lambda: user_message_for(exc) or message), reason_code=reason_code(exc))
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
            await timely.stop()
            self._tasks.discard(task)
            for screen in screening:
                if not screen.done():
                    screen.cancel()
                elif not screen.cancelled():
                    screen.exception()  # moot once another refusal was told
            release(order)
            if preflight is not None and not preflight.done():
                preflight.cancel()  # a file it was writing is deleted once written
            elif preflight is not None and not preflight.cancelled():
                if preflight.exception() is None:  # else already reported, or moot after a refusal
                    preflight.result().discard()  # however the edit ended, its files go
            if preflight is not None and self.waiting_inputs.on_disk:
                # Busy enough that waiting edits' files go to disk: give back what this
                # edit's files held (a quiet bot reuses the memory instead, which is cheaper).
                self._freed.released()

    async def _screened(self, edit: Edit, screening: "list[asyncio.Task[None]]") -> None:
        """Wait for the screens (a refusal raises; a slow one is acknowledged in time by
        `AnswerInTime`). A passing edit waits for the slower of the screens and the preflight."""
        for done in asyncio.as_completed(screening):
            await done  # the first refusal raises; the others are cancelled by submit()

    def _asks_first(self, edit: Edit) -> bool:
        """Whether the member is asked before anything runs (a mask preview, a cost above
        CONFIRM_COST_ABOVE_USD). Before the options are known only the preview is certain;
        a cost question found later replaces a public placeholder privately."""
        if edit.order.mask_preview:
            return True
        threshold = self.settings.confirm_cost_above_usd
        if threshold is None or edit.options is None:
            return False
        cost = self._estimate(edit)
        return cost is not None and cost > threshold

    def _estimate(self, edit: Edit) -> float | None:
        assert edit.options is not None
        return checks.estimate(edit.options, prices=self.prices, settings=self.settings)

    async def _prepare(self, edit: Edit, order: EditOrder, spec) -> HeldInput:  # type: ignore[no-untyped-def]
        async with self._preparing:
            prepared = await checks.prepare_inputs(order, spec)
            if edit.phase is Phase.RUNNING:
                return HeldInput.uncounted(prepared)  # its turn came while it was being prepared
            # Spilled, if it comes to that, inside the limit on preparations at once.
            held = await self.waiting_inputs.keep(prepared)
            if held.path is not None:
                self._freed.released()  # the downloads and prepared bytes are on disk now
            return held

    async def _reserve(self, edit: Edit) -> Reservation:
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
                raise UserFacingError(lambda: spend_messages.refusal_message(outcome), reason_code=outcome.reason_code)
            # The member's own running edits hold the quota: queue behind them instead of failing.
            await edit.surface.acknowledge()
            await edit.surface.show_status(Status(edit_status.WAITING_FOR_OWN))
            await self._waiters.wait(requester.user_id, seen)

    async def _run_reserved(self, edit: Edit, preflight: "asyncio.Task[HeldInput]") -> None:
        reservation = edit.reservation
        assert reservation is not None and edit.options is not None
        user_id = edit.order.requester.user_id
        self.keeper.hold(reservation)
        logged_as = edit_id_in_logs.set(reservation.id)  # this edit's log lines carry its id
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
            delivering = asyncio.create_task(self.delivery.deliver_and_settle(edit))
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
                self._emit(edit, Outcome.CANCELLED, reason=_for_server(lambda: audit_lines.RESTARTED), reason_code="shutdown")
                await asyncio.shield(edit.surface.tell(edit_status.RESTART_CANCELLED))
            raise
        except QueueClosed:
            edit.phase = Phase.CANCELLED
            await self._settle_refund(edit, "shutdown")
            self._emit(edit, Outcome.CANCELLED, reason=_for_server(lambda: audit_lines.RESTARTED), reason_code="shutdown")
            await edit.surface.tell(ShuttingDown().message)
        except Exception as exc:
            edit.phase = Phase.FAILED
            # A timeout while the provider worked on the whole request may be billed: the
            # ledger keeps its estimate counting toward the money caps.
            timed_out_running = isinstance(exc, ProviderTimeout) and exc.after_upload
            await self._settle_refund(edit, TIMED_OUT_RUNNING_REASON if timed_out_running else type(exc).__name__)
            self._log_failure(exc, edit)
            message = user_message_for(exc)
            if message is None:
                raise  # a bug: logged with an id by submit()
            reason = _for_server(lambda: user_message_for(exc) or message)  # the provider's, for the audit channel
            rejected = isinstance(exc, ProviderRejected)
            if rejected and exc.content_policy and self.on_safety_rejection is not None:  # type: ignore[union-attr]
                strike = await self.on_safety_rejection(edit.order.requester)
                message += strike
                reason += strike
            self._emit(
                edit,
                Outcome.REJECTED if rejected else Outcome.FAILED,
                reason=reason,
                reason_code="provider_rejected" if rejected else reason_code(exc),
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
            edit_id_in_logs.reset(logged_as)

    async def _cancelled_by_member(self, edit: Edit) -> None:
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()  # we asked for this cancellation and have handled it
        # Billed only once the request left: not while the member's image still downloads.
        running = edit.phase is Phase.RUNNING and edit.inputs is not None
        edit.phase = Phase.CANCELLED
        # A running call may already be billed by the provider: the ledger says so, and its
        # estimate keeps counting toward the money caps (the member's images come back).
        await self._settle_refund(edit, CANCELLED_RUNNING_REASON if running else CANCELLED_QUEUED)
        by_moderator = edit.cancelled_by != edit.order.requester.user_id
        self._emit(edit, Outcome.CANCELLED, reason=_for_server(lambda: audit_lines.cancelled_reason(by_moderator=by_moderator)),
                   reason_code="cancelled_running" if running else "cancelled")
        log.info("%s cancelled by member %s while %s", edit.where, edit.cancelled_by, "running" if running else "queued")
        await edit.surface.tell(edit_status.cancelled(by_moderator=by_moderator))

    async def _settle_refund(self, edit: Edit, reason: str) -> None:
        if edit.settled or edit.reservation is None:
            return
        edit.settled = True
        bill = edit.outcome.bill if edit.outcome is not None else None
        await asyncio.shield(self.keeper.refund(edit.reservation, reason, bill))

    async def _work(self, edit: Edit, preflight: "asyncio.Task[HeldInput]") -> EditOutcome:
        assert edit.options is not None
        options = edit.options
        assert edit.reservation is not None
        cancel_id = edit.reservation.id
        edit.phase = Phase.RUNNING
        edit.started = time.monotonic()
        await edit.surface.show_status(Status(edit_status.running(options.model), cancel_id=cancel_id))
        inputs = edit.inputs = await (await preflight).take()

        async def show_preview(partial: PartialImage) -> None:
            text = edit_status.preview(options.model, partial.index, self._elapsed(edit))
            await edit.surface.show_status(Status(text, preview=partial, cancel_id=cancel_id))

        ticker = asyncio.create_task(self._tick_elapsed(edit, cancel_id))
        try:
            return await self._call_provider(edit, inputs, on_preview=show_preview)
        finally:
            ticker.cancel()

    @staticmethod
    def _elapsed(edit: Edit) -> float:
        return time.monotonic() - edit.started

    async def _tick_elapsed(self, edit: Edit, cancel_id: int) -> None:
        """Show the time the provider has been working, so a long edit looks alive."""
        assert edit.options is not None
        while True:
            await asyncio.sleep(PROGRESS_INTERVAL_SECONDS)
            await edit.surface.show_status(
                Status(edit_status.running(edit.options.model, self._elapsed(edit)), cancel_id=cancel_id, keep_preview=True)
            )

    async def _call_provider(
        self,
        edit: Edit,
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
            opaque_user_id(edit.order.requester.user_id, self.salt) if self.settings.send_end_user_id else None,
            previews=self.settings.stream_previews,
        )
        result = await self.client.edit(request, on_partial=on_preview if request.stream else None)
        seconds = time.monotonic() - started
        cost = estimate_cost(result.usage, options.model, self.prices)
        # Billed from here on: should planning fail, the refund still records the bill.
        edit.outcome = EditOutcome(result=result, messages=[], seconds=seconds, cost_usd=cost)
        # Only what was asked for is delivered and counted (the reservation holds n); the
        # bill above stays the provider's whole one.
        wanted = result.images[: options.n]
        if len(result.images) > options.n:
            log.warning("%s: the provider returned %d images for n=%d; delivering the first %d",
                        edit.where, len(result.images), options.n, options.n)
        messages = await plan_delivery_async(wanted, limit_bytes=edit.surface.upload_limit)
        notes = inputs.notes + [f.note for m in messages for f in m.files if f.note]
        if len(result.images) < options.n:
            notes.append(edit_summary.fewer_images_note(len(result.images), options.n))
        notes += [edit_summary.field_left_out_note(name) for name in result.dropped_fields]
        return EditOutcome(result=result, messages=messages, seconds=seconds, cost_usd=cost, notes=notes)

    def _emit(self, edit: Edit, outcome: Outcome, *, images: int = 0, reason: str | None = None,
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
            seconds=time.monotonic() - edit.started if edit.started else None,
        )
        for listener in self.listeners:
            try:
                listener.edit_ended(event)
            except Exception:
                log.exception("an edit listener failed (the edit is not affected)")

    @staticmethod
    def _log_failure(exc: Exception, edit: Edit) -> None:
        if isinstance(exc, (BillingError, ProviderAuthError)):
            # The owner must act; the member only sees a generic message.
            log.error("%s: image API problem the bot owner must fix: %s", edit.where, exc)
        elif isinstance(exc, ProviderError):
            log.warning("%s failed at the provider: %s", edit.where, exc)
        elif user_message_for(exc) is not None:
            log.info("%s refused: %s", edit.where, _in_english(exc))
