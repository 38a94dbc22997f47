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

Nothing in the journal can stop the bot or hold the others back: every line is checked
when it is read, and a line that is not a commit entry (not JSON, not an object,
negative or non-numeric values, not UTF-8) or an entry the database refuses for good (a
constraint it breaks) is moved aside to `<journal>.quarantined` with one error line
naming the edit, and the rest carry on. A journal that cannot be read at all is renamed
aside whole. Absurd token counts are clamped to what the ledger holds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import secrets
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bot.private_files import PRIVATE_FILE, open_private
from bot.provider.usage import MAX_TOKENS, Usage
from bot.store.backend import DATABASE_ERRORS
from bot.store.quota import QuotaStore, Reservation

log = logging.getLogger("retouch.reservations")

# Inline commit attempts before the commit is handed to the background loop; each
# attempt already waits out the database's busy timeout.
COMMIT_ATTEMPTS = 3
COMMIT_BACKOFF_SECONDS = (0.25, 1.0)
REFUND_ATTEMPTS = 2
# Ledger ids and image counts fit a 64-bit integer; anything beyond is not a real entry.
_MAX_ID = 2**63 - 1


def _never_writable_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [ValueError, TypeError, OverflowError, sqlite3.IntegrityError, sqlite3.DataError]
    try:
        import asyncpg

        errors += [asyncpg.IntegrityConstraintViolationError, asyncpg.DataError]
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        pass
    return tuple(errors)


# What a commit that can never be written raises (a value the store or the schema
# refuses): retrying it would only hold back the commits behind it.
NEVER_WRITABLE = _never_writable_errors()


class BadEntry(ValueError):
    """A journal line that is not a commit entry."""

    def __init__(self, reason: str, edit_id: int | None = None) -> None:
        super().__init__(reason)
        self.edit_id = edit_id


def _tokens(value: int | None) -> int | None:
    return None if value is None else min(max(value, 0), MAX_TOKENS)


def _cost(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) and value >= 0 else None


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
            return cls(cost_usd=_cost(cost_usd))
        return cls(_tokens(usage.input_tokens), _tokens(usage.output_tokens), _tokens(usage.total_tokens), _cost(cost_usd))


@dataclass(frozen=True)
class PendingCommit:
    reservation_id: int
    delivered: int
    bill: Bill

    def to_json(self) -> str:
        return json.dumps({"id": self.reservation_id, "delivered": self.delivered, **asdict(self.bill)})

    @classmethod
    def from_json(cls, line: str | bytes) -> "PendingCommit":
        """One journal line, checked field by field (BadEntry when it is not an entry)."""
        try:
            raw = json.loads(line)
        except (ValueError, RecursionError):
            raise BadEntry("not JSON (or not UTF-8)") from None
        if not isinstance(raw, dict):
            raise BadEntry(f"not a JSON object but {type(raw).__name__}")
        edit_id = _whole(raw, "id", required=True)
        assert edit_id is not None
        if edit_id < 1 or edit_id > _MAX_ID:
            raise BadEntry(f"id {edit_id} is not a ledger row id")
        guess = edit_id
        try:
            delivered = _whole(raw, "delivered", required=True)
            assert delivered is not None
            if delivered > _MAX_ID:
                raise BadEntry(f"delivered {delivered} is not an image count")
            tokens = [_whole(raw, key, required=False) for key in ("input_tokens", "output_tokens", "total_tokens")]
            cost = raw.get("cost_usd")
            if cost is not None and (isinstance(cost, bool) or not isinstance(cost, (int, float)) or not math.isfinite(cost) or cost < 0):
                raise BadEntry(f"cost_usd is not a non-negative number: {cost!r}")
        except BadEntry as exc:
            raise BadEntry(str(exc), guess) from None
        bill = Bill(*(_tokens(t) for t in tokens), None if cost is None else float(cost))
        return cls(edit_id, delivered, bill)


def _whole(raw: dict[str, Any], key: str, *, required: bool) -> int | None:
    value = raw.get(key)
    if value is None:
        if required:
            raise BadEntry(f"no {key}")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadEntry(f"{key} is not a number: {value!r}"[:200])
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise BadEntry(f"{key} is not a whole number: {value!r}")
    if value < 0:
        raise BadEntry(f"{key} is negative: {value!r}")
    return int(value)


def quarantine_path_for(journal: Path) -> Path:
    """Where journal entries that can never be written are kept for the owner to look at."""
    return journal.with_name(journal.name + ".quarantined")


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
        entries, dropped = self._read_journal()
        for pending in entries:
            self._pending[pending.reservation_id] = pending
            self._journaled = True
        if dropped:
            self._rewrite_journal()  # without the lines moved aside
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
            try:
                await self.sweep()
            except Exception:
                # A dead loop would stop refreshing live edits and releasing dead ones: log, go on.
                log.exception("the reservation keeper hit an unexpected error; it carries on")

    async def sweep(self) -> None:
        """Refresh the live, then release the dead: in that order, in one place, so a
        live edit's row is never older than the bound when the release runs."""
        if self.liveness is not None:
            try:
                await self.liveness.beat(self.store.now())
            except Exception as exc:  # the rows below may still be reachable through the pool
                log.error("could not prove this process alive to PostgreSQL (%s: %s); retrying in %.0f s",
                          type(exc).__name__, exc, self.interval)
            else:
                try:
                    await self.liveness.tell_of_disagreements(self.store.now())
                except Exception as exc:  # noqa: BLE001 - a courtesy to the owner; the next beat asks again
                    log.debug("could not compare settings with the other processes: %s", exc)
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
        pending = PendingCommit(reservation.id, delivered, _clamped(bill))
        # Known before the first attempt: if this task is cancelled (shutdown), close()
        # still writes it, or journals it for the next start.
        self._pending[pending.reservation_id] = pending
        error: BaseException | None = None
        for attempt in range(COMMIT_ATTEMPTS):
            try:
                # Late from the start: the images reached Discord, so they count even if
                # the row was released meanwhile (stale, or abandoned by another process
                # that wrongly judged this one gone).
                await self._write_commit(pending)
                self._forget_pending(pending.reservation_id)
                return
            except NEVER_WRITABLE as exc:
                self._set_aside(pending, exc)
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
            except NEVER_WRITABLE as exc:
                self._set_aside(pending, exc)  # and on to the next: it must not hold them back
                continue
            except DATABASE_ERRORS as exc:
                # The database itself is unavailable (locked, full, unreachable): the
                # others would fail the same way; the next sweep tries again.
                if log_failures:
                    log.error("edit #%d: still cannot record its delivered images (%s)", pending.reservation_id, exc)
                return
            log.info("edit #%d: recorded %d delivered image(s) that could not be written earlier", pending.reservation_id, pending.delivered)
            self._forget_pending(pending.reservation_id)

    # -- the journal -----------------------------------------------------------------

    def _forget_pending(self, reservation_id: int) -> None:
        if self._pending.pop(reservation_id, None) is not None and self._journaled:
            self._rewrite_journal()

    def _set_aside(self, pending: PendingCommit, exc: BaseException) -> None:
        self._quarantine(pending.to_json(), f"the database refuses it: {type(exc).__name__}: {exc}"[:300], pending.reservation_id)
        self._forget_pending(pending.reservation_id)

    def _quarantine(self, line: str | bytes, reason: str, edit_id: int | None) -> None:
        """Keep a journal entry that can never be written where the owner can look at it,
        with one error line that names the edit."""
        text = line.decode("utf-8", "backslashreplace") if isinstance(line, bytes) else line
        record = json.dumps({"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "edit": edit_id, "reason": reason, "entry": text[:2000]})
        where = quarantine_path_for(self.journal)
        try:
            fd = os.open(where, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
            with open(fd, "a", encoding="utf-8") as out:
                out.write(record + "\n")
        except OSError as exc:
            where = Path(f"(not kept: {exc})")
        log.error(
            "%s: a pending commit that can never be recorded (%s) was moved aside to %s; its images are not counted",
            f"edit #{edit_id}" if edit_id is not None else "an unreadable journal line", reason, where,
        )

    def _rewrite_journal(self) -> None:
        tmp: Path | None = None
        try:
            if not self._pending:
                self.journal.unlink(missing_ok=True)
                self._journaled = False
                return
            # A name no other process can pick (several may share a data folder): two
            # writers never share a temporary file.
            tmp = self.journal.with_name(f"{self.journal.name}.{os.getpid()}-{secrets.token_hex(6)}.tmp")
            with open_private(tmp, "w", encoding="utf-8") as out:  # 0600: members' usage
                out.writelines(p.to_json() + "\n" for p in self._pending.values())
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.journal)
            tmp = None
            self._journaled = True
        except OSError as exc:
            # The disk may be as full as the database; the commit is still retried from memory.
            log.error("could not write the pending-commit journal %s: %s", self.journal, exc)
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)

    def _read_journal(self) -> tuple[list[PendingCommit], int]:
        """The journal's entries, and how many lines were moved aside."""
        try:
            data = self.journal.read_bytes()
        except FileNotFoundError:
            return [], 0
        except OSError as exc:
            # Unreadable (a directory in its place, permissions, an I/O error): renamed aside
            # whole, so the bot starts and the owner can look at it.
            aside = self.journal.with_name(f"{self.journal.name}.unreadable-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
            try:
                os.replace(self.journal, aside)
                where = str(aside)
            except OSError as move_error:
                where = f"nowhere ({move_error}); it stays where it is"
            log.error("cannot read the pending-commit journal %s (%s); moved aside to %s, its commits are not applied", self.journal, exc, where)
            return [], 0
        entries: dict[int, PendingCommit] = {}
        dropped = 0
        for line in data.splitlines():
            if not line.strip():
                dropped += 1
                continue
            try:
                entry = PendingCommit.from_json(line.decode("utf-8"))
            except UnicodeDecodeError:
                self._quarantine(line, "not UTF-8", None)
                dropped += 1
                continue
            except BadEntry as exc:
                self._quarantine(line, str(exc), exc.edit_id)
                dropped += 1
                continue
            entries[entry.reservation_id] = entry
        return list(entries.values()), dropped


def _clamped(bill: Bill) -> Bill:
    return Bill(_tokens(bill.input_tokens), _tokens(bill.output_tokens), _tokens(bill.total_tokens), _cost(bill.cost_usd))
