"""The ledger side of an edit's life: reservations of live edits stay open, dead ones are
released, and a delivered image is always counted, even when the database is locked.

One `ReservationKeeper` per process. While an edit is alive (queued, running, being
delivered) the service `hold`s its reservation; a background loop refreshes the held
rows' sign of life and releases rows that showed none for the stale bound (left by a
crash or a bug). A queue however long never frees quota a live edit still holds.

Commits of delivered images must not be lost: the images are already on Discord. A
commit that fails (database locked past the busy timeout, disk full) is written to a
small journal file next to the database at once, retried with backoff, and the owner
sees an error line naming the edit. At the next start the journal is applied before
anything else, so such a row is settled as committed, never refunded as abandoned.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bot.private_files import open_private
from bot.provider.usage import Usage
from bot.store.backend import DATABASE_ERRORS
from bot.store.quota import QuotaStore, Reservation

log = logging.getLogger("retouch.reservations")

# Inline commit attempts before the commit is handed to the background loop; each
# attempt already waits out the database's busy timeout.
COMMIT_ATTEMPTS = 3
COMMIT_BACKOFF_SECONDS = (0.25, 1.0)
REFUND_ATTEMPTS = 2


@dataclass(frozen=True)
class Bill:
    """What the provider billed for an edit, recorded whatever the member is charged."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cost_usd: float | None = None

    @classmethod
    def of(cls, usage: Usage | None, cost_usd: float | None) -> "Bill":
        if usage is None:
            return cls(cost_usd=cost_usd)
        return cls(usage.input_tokens, usage.output_tokens, usage.total_tokens, cost_usd)


@dataclass(frozen=True)
class PendingCommit:
    reservation_id: int
    delivered: int
    bill: Bill

    def to_json(self) -> str:
        return json.dumps({"id": self.reservation_id, "delivered": self.delivered, **asdict(self.bill)})

    @classmethod
    def from_json(cls, line: str) -> "PendingCommit":
        raw = json.loads(line)
        bill = Bill(raw.get("input_tokens"), raw.get("output_tokens"), raw.get("total_tokens"), raw.get("cost_usd"))
        return cls(int(raw["id"]), int(raw["delivered"]), bill)


class ReservationKeeper:
    def __init__(self, store: QuotaStore, *, stale_after: float, journal: Path, liveness: Any = None) -> None:
        self.store = store
        # With a database shared by several processes (PostgreSQL): this process's
        # presence there, refreshed by the loop below (bot/store/postgres.py).
        self.liveness = liveness
        self.stale_after = stale_after
        self.journal = journal
        self._live: dict[int, Reservation] = {}
        self._pending: dict[int, PendingCommit] = {}
        self._journaled = False  # whether the journal file holds entries (the happy path writes no file)
        self._task: asyncio.Task[None] | None = None
        self._failing = False  # the last sweep failed (its traceback was logged once)

    @property
    def interval(self) -> float:
        # Several signs of life within one stale bound, so one missed beat never releases a
        # live edit; with a shared database, at least as often as the liveness beat.
        interval = max(0.05, min(60.0, self.stale_after / 3))
        if self.liveness is not None:
            interval = min(interval, self.liveness.beat_seconds)
        return interval

    def _judges_others(self) -> bool:
        """Whether this process may release other processes' reservations as abandoned:
        always with SQLite (the instance lock), with PostgreSQL once its own liveness
        connection has been steady for the liveness bound (after an outage, live
        processes need a few beats to take their locks back)."""
        return self.liveness is None or self.liveness.steady

    # -- start and stop -------------------------------------------------------------

    async def recover(self, owner: str) -> None:
        """At start, before any edit: settle what a previous process left behind.

        Journaled commits first (they count even if their row was released meanwhile),
        then the reservations of processes that are gone: with SQLite every other
        owner's (the instance lock proves no other process runs), with PostgreSQL only
        those of owners whose liveness lock nobody holds and who stopped beating (see
        QuotaStore.release_abandoned), and only once this process has been steady for a
        while: the keeper's loop does it then."""
        for pending in self._read_journal():
            self._pending[pending.reservation_id] = pending
            self._journaled = True
        if self._pending:
            await self._flush_pending(log_failures=True)
        if not self._judges_others():
            return
        abandoned = await self.store.release_abandoned(owner)
        if abandoned:
            log.warning("refunded %d reservation(s) left open by a previous run that did not shut down cleanly", abandoned)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="reservation-keeper")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._pending:
            await self._flush_pending(log_failures=False)
        if self._pending:
            self._rewrite_journal()
            log.error(
                "%d delivered edit(s) could not be recorded before stopping; they are kept in %s and recorded at the next start",
                len(self._pending), self.journal,
            )
        if self.liveness is not None:
            await self.liveness.stop()

    # -- live edits ------------------------------------------------------------------

    def hold(self, reservation: Reservation) -> None:
        self._live[reservation.id] = reservation

    def let_go(self, reservation: Reservation) -> None:
        self._live.pop(reservation.id, None)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.sweep()

    async def sweep(self) -> None:
        """Refresh the live, then release the dead: in that order, in one place, so a
        live edit's row is never older than the bound when the release runs."""
        if self.liveness is not None:
            try:
                await self.liveness.beat(self.store.now())
            except Exception as exc:  # the rows below may still be reachable through the pool
                log.error("could not prove this process alive to PostgreSQL (%s: %s); retrying in %.0f s",
                          type(exc).__name__, exc, self.interval)
        try:
            await self.store.touch([*self._live, *self._pending])
            released = await self.store.release_stale(self.stale_after)
            if released:
                log.warning("refunded %d reservation(s) whose edit showed no sign of life for %.0f s", released, self.stale_after)
            if self.store.shared and self._judges_others():
                # Another process sharing the database died: its reservations go once its
                # lock is free and its beats stopped, not only once they are stale.
                abandoned = await self.store.release_abandoned(self.store.owner)
                if abandoned:
                    log.warning("refunded %d reservation(s) of a bot process that stopped running", abandoned)
            if self._failing:
                log.info("reservations are refreshed and released again")
            self._failing = False
        except Exception as exc:
            if self._failing:  # one traceback per outage, then one line per attempt
                log.error("could not refresh or release reservations (%s: %s); retrying in %.0f s", type(exc).__name__, exc, self.interval)
            else:
                log.exception("could not refresh or release reservations (retrying in %.0f s)", self.interval)
            self._failing = True
        if self._pending:
            await self._flush_pending(log_failures=False)

    # -- settling --------------------------------------------------------------------

    async def commit(self, reservation: Reservation, delivered: int, bill: Bill) -> None:
        """Count `delivered` images. Never raises: a commit that cannot be written now
        is journaled and retried until it lands (here or at the next start)."""
        pending = PendingCommit(reservation.id, delivered, bill)
        # Known before the first attempt: if this task is cancelled (shutdown), close()
        # still writes it, or journals it for the next start.
        self._pending[pending.reservation_id] = pending
        error: Exception | None = None
        for attempt in range(COMMIT_ATTEMPTS):
            try:
                # Late from the start: the images reached Discord, so they count even if
                # the row was released meanwhile (stale, or abandoned by another process
                # that wrongly judged this one gone).
                await self._write_commit(pending)
                self._forget_pending(pending.reservation_id)
                return
            except DATABASE_ERRORS as exc:
                error = exc
                if attempt == 0:
                    self._rewrite_journal()  # from now on a crash cannot lose it either
                if attempt < len(COMMIT_BACKOFF_SECONDS):
                    await asyncio.sleep(COMMIT_BACKOFF_SECONDS[attempt])
        log.error(
            "edit #%d: could not record %d delivered image(s) (%s); kept in %s and retried until it is written",
            reservation.id, delivered, error, self.journal,
        )

    async def refund(self, reservation: Reservation, reason: str, bill: Bill | None = None) -> None:
        """Give the images back (keeping the bill). Never raises: a refund that cannot
        be written is left to the stale release once the edit is let go."""
        bill = bill or Bill()
        for attempt in range(REFUND_ATTEMPTS):
            try:
                await self.store.refund(
                    reservation,
                    reason,
                    input_tokens=bill.input_tokens,
                    output_tokens=bill.output_tokens,
                    total_tokens=bill.total_tokens,
                    cost_usd=bill.cost_usd,
                )
                return
            except Exception as exc:
                if attempt + 1 == REFUND_ATTEMPTS:
                    log.error("edit #%d: could not refund (%s); it will be released as stale", reservation.id, exc)
                else:
                    await asyncio.sleep(0.5)

    async def _write_commit(self, pending: PendingCommit) -> None:
        # Always the late rule: a commit is only ever written for images that reached
        # Discord, so it settles a row released as stale or abandoned meanwhile too.
        bill = pending.bill
        await self.store.commit(
            pending.reservation_id,
            pending.delivered,
            input_tokens=bill.input_tokens,
            output_tokens=bill.output_tokens,
            total_tokens=bill.total_tokens,
            cost_usd=bill.cost_usd,
            late=True,
        )

    async def _flush_pending(self, *, log_failures: bool) -> None:
        for pending in list(self._pending.values()):
            try:
                # Late: the row may have been released as stale or abandoned meanwhile
                # (by this process or, with PostgreSQL, another); the images were delivered.
                await self._write_commit(pending)
            except DATABASE_ERRORS as exc:
                if log_failures:
                    log.error("edit #%d: still cannot record its delivered images (%s)", pending.reservation_id, exc)
                return
            log.info("edit #%d: recorded %d delivered image(s) that could not be written earlier", pending.reservation_id, pending.delivered)
            self._forget_pending(pending.reservation_id)

    # -- the journal -----------------------------------------------------------------

    def _forget_pending(self, reservation_id: int) -> None:
        if self._pending.pop(reservation_id, None) is not None and self._journaled:
            self._rewrite_journal()

    def _rewrite_journal(self) -> None:
        try:
            if not self._pending:
                self.journal.unlink(missing_ok=True)
                self._journaled = False
                return
            tmp = self.journal.with_name(self.journal.name + ".tmp")
            with open_private(tmp, "w", encoding="utf-8") as out:  # 0600: members' usage
                out.writelines(p.to_json() + "\n" for p in self._pending.values())
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.journal)
            self._journaled = True
        except OSError as exc:
            # The disk may be as full as the database; the commit is still retried from memory.
            log.error("could not write the pending-commit journal %s: %s", self.journal, exc)

    def _read_journal(self) -> list[PendingCommit]:
        try:
            lines = self.journal.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        entries = []
        for line in lines:
            try:
                entries.append(PendingCommit.from_json(line))
            except (ValueError, KeyError, TypeError):
                log.error("ignoring an unreadable line in %s: %r", self.journal, line[:200])
        return entries

