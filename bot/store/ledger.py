"""The reservation ledger: an edit reserves its images (and its estimated cost) before
the provider is called, then commits what was delivered or is refunded; reservations
whose edit died are released.

Every request is one `ledger` row. Every write is a single SQL statement outside any
explicit transaction, so any number of coroutines can share the connection and each
statement is atomic on its own. Settling only rows still 'reserved' makes commit, refund
and the releases idempotent: whichever settles a row first wins, the rest change nothing.

On SQLite the reservation's check and insert are one statement: SQLite takes the
database's write lock when a writing statement starts, before it reads anything, so no
other statement on any connection or process can slip in between the SUM and the INSERT,
and concurrent reservations can never spend more than the limit. On PostgreSQL, shared
by several processes, it is one function call (migrations/postgresql/006_ledger_writes_only.sql)
that takes advisory locks for the member and each cap before it checks and inserts; there
the reservation, the settle and the releases keep what a cap reads themselves (no triggers
on the ledger), and without a cap in force write the ledger row alone.
Either way the rules_version condition makes the limit part of the same snapshot.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from bot.store.backend import Database
from bot.store.limit_rules import LimitRules
from bot.store.models import (
    ABANDONED_REASON,
    EffectiveLimit,
    MAX_LIMIT,
    STALE_REASON,
    UNLIMITED,
    MemberUsage,
    QuotaExceeded,
    Reservation,
    Rule,
    SpendCapReached,
    to_micros,
    to_usd,
)
from bot.store.periods import Clock, Instant
from bot.store.quota_checks import check_bill, check_usd, guild_key, is_int
from bot.store.ledger_sql import NO_CAPS, SQL
from bot.store.spend_caps import SpendCaps
from bot.store.usage_reports import ATTEMPTS, UsageReports, member_window


# Every PostgreSQL reservation holds this lock's shared side while it draws its id and
# writes its row (migrations/postgresql/006_ledger_writes_only.sql); its exclusive side,
# taken for one transaction, waits until none is half-made.
RESERVING_LOCK = "SELECT pg_advisory_xact_lock(retouch_reserving_key())"

log = logging.getLogger("retouch.store")

# PostgreSQL: a process is gone when nobody holds its liveness lock and its last beat is older
# than the bound (bot/store/postgres.py); a live one that lost its row writes it back at its
# next beat (an upsert).
_FORGET_GONE_PROCESSES = """
DELETE FROM processes
 WHERE owner != :owner AND last_seen < :seen_before AND pg_try_advisory_xact_lock(retouch_owner_key(owner))
"""


class Ledger:
    """`owner` identifies this process (a boot id) on the rows it reserves. Prompts are
    stored only with `store_prompts=True`."""

    def __init__(
        self,
        db: Database,
        *,
        owner: str,
        rules: LimitRules,
        caps: SpendCaps,
        usage: UsageReports,
        clock: Clock,
        store_prompts: bool = False,
    ) -> None:
        if not owner:
            raise ValueError("owner must be a non-empty string identifying this process")
        self._db = db
        self._sql = SQL[db.dialect]
        self.owner = owner
        self._rules = rules
        self._caps = caps
        self._usage = usage
        self._clock = clock
        self.store_prompts = store_prompts
        # PostgreSQL counts a day's images only while the daily limit applies: the rows made
        # without it are counted once, before this process's first reservation under it.
        self._day_total_ready = db.dialect == "sqlite"
        # PostgreSQL: this process's open reservations made without any cap, which settle
        # with their row alone (forgotten at settle; a restart's are settled the full way).
        self._plain: set[int] = set()

    # -- reserving -------------------------------------------------------------------

    async def reserve(
        self,
        guild_id: int | None,
        user_id: int,
        role_ids: Iterable[int],
        images: int,
        *,
        model: str,
        prompt: str | None = None,
        cost_usd: float | None = None,
    ) -> Reservation | QuotaExceeded | SpendCapReached:
        """Hold `images` of the member's quota and `cost_usd` of the money caps, or explain why not.

        Refused (QuotaExceeded, returned not raised): not enough quota left, a request
        larger than the whole limit, a blocked member (limit 0), or the bot-wide daily
        budget. Refused (SpendCapReached): the estimate does not fit the server's budget
        or the bot-wide spend cap, or there is no estimate (`cost_usd` None: the model has
        no price) while a money cap applies. `prompt` is kept only with store_prompts=True.
        """
        if not is_int(images) or not 1 <= images <= MAX_LIMIT:
            raise ValueError(f"images must be an integer from 1 to {MAX_LIMIT}, not {images!r}")
        if cost_usd is not None:
            check_usd("cost_usd", cost_usd)
        caps = self._caps
        await self._prepare()
        cost = None if cost_usd is None else to_micros(cost_usd)
        guild = guild_key(guild_id)
        role_ids = tuple(role_ids)
        refusal: QuotaExceeded | SpendCapReached | None = None
        for _ in range(ATTEMPTS):
            now = Instant.read(self._clock)
            rules = await self._rules.rule_set(guild)
            effective = self._rules.effective(rules, user_id, role_ids)
            params = member_window(guild, user_id, rules, effective, now)
            capped = rules.budget is not None or caps.global_limit is not None
            if capped:
                params.update(caps.window(rules, now))
                params["cost"] = cost or 0
                if cost is None:
                    # A cap we cannot check this request against: refuse rather than
                    # guess (after making sure the cached rules still hold).
                    current = await self._rules.rule_set(guild, fresh=True)
                    if current.version != rules.version:
                        continue
                    refusal = caps.refusal(await caps.caps(guild, current, now), None)
                    if refusal is not None:
                        return refusal
                    continue
            params.update(
                images=images, model=model, rule=effective.rule.value, rule_detail=effective.rule_detail,
                limit=effective.limit, period=effective.period, owner=self.owner,
                prompt=prompt if self.store_prompts else None, global_limit=self._usage.global_daily_limit,
                cost_usd=None if cost is None else to_usd(cost),
            )
            if capped:
                row = await self._db.fetchone(self._sql.reserve, params)
            elif self._db.dialect == "sqlite":
                row = await self._db.fetchone(self._sql.reserve_no_caps, params)
            elif params["global_limit"] is None:
                # PostgreSQL's answers in one round trip: [id], [NULL, used, in flight] when
                # the images do not fit, NULL when the rules changed or room was freed.
                answer = (await self._db.fetchone(self._sql.reserve_no_caps, params))[0]
                if answer is None:
                    await self._rules.rule_set(guild, fresh=True)
                    continue
                if answer[0] is None:
                    return _over_limit(effective, used=answer[1], in_flight=answer[2], images=images, now=now)
                self._plain.add(answer[0])
                row = (answer[0],)
            else:
                # PostgreSQL's reservation without caps leaves the day's images alone.
                params.update(NO_CAPS)
                row = await self._db.fetchone(self._sql.reserve, params)
            if row is not None and row[0] is not None:
                return Reservation(
                    id=row[0],
                    guild_id=guild,
                    user_id=user_id,
                    images=images,
                    model=model,
                    created_at=now.at,
                    limit=effective.limit,
                    period=effective.period,
                    rule=effective.rule,
                    rule_detail=effective.rule_detail,
                    resets_at=now.resets_at(effective.period),
                )
            # Nothing was inserted: the rules changed, or the quota or a budget is spent.
            # A second read tells which; if quota was freed in between (a refund landed),
            # the request may fit after all: try again.
            usage, global_used = await self._usage.read(guild, user_id, rules, effective, now)
            if usage is None:
                await self._rules.rule_set(guild, fresh=True)
                continue
            refusal = self._image_refusal(usage, global_used, images, now)
            if refusal is None:
                refusal = caps.refusal(await caps.caps(guild, rules, now), cost)
            if refusal is not None:
                return refusal
        if refusal is None:
            # The rules kept changing under us; explain with whatever holds now.
            usage_now = await self._usage.usage_for(guild, user_id, role_ids)
            rules = await self._rules.rule_set(guild, fresh=True)
            refusal = (
                self._image_refusal(usage_now, 0, images, now)
                or caps.refusal(await caps.caps(guild, rules, now), cost)
                or _member_refusal(usage_now, images)
            )
        return refusal

    async def _prepare(self) -> None:
        """Once, before the first check: the bot-wide cap's row, and on PostgreSQL under
        GLOBAL_DAILY_IMAGE_LIMIT the day's rows made without it."""
        if not self._caps.ready:
            await self._caps.prepare()
        if not self._day_total_ready and self._usage.global_daily_limit is not None:
            await self._count_day_rows()

    async def _count_day_rows(self) -> None:
        """PostgreSQL, with GLOBAL_DAILY_IMAGE_LIMIT: count today's rows made while no daily
        limit applied (by this process before a restart, or another process), once, with no
        reservation half-made meanwhile, so the limit counts every image of the day."""
        today = Instant.read(self._clock).day
        counted = await self._db.fetch_locked(  # type: ignore[attr-defined]
            RESERVING_LOCK, (), "SELECT retouch_count_day_rows(:day::integer)", {"day": today}
        )
        if counted[0][0]:
            log.info("counted %d earlier ledger row(s) of today toward GLOBAL_DAILY_IMAGE_LIMIT", counted[0][0])
        self._day_total_ready = True

    async def refusal_for(
        self, guild_id: int | None, user_id: int, role_ids: Iterable[int], images: int, *, cost_usd: float | None = None
    ) -> QuotaExceeded | SpendCapReached | None:
        """Why `reserve` would refuse this request now, or None when it would fit.

        Only reads: nothing is held, so the answer can change before a reservation (which
        decides for real); used to spare a member a question about an edit that cannot
        run anyway."""
        guild = guild_key(guild_id)
        role_ids = tuple(role_ids)
        cost = None if cost_usd is None else to_micros(cost_usd)
        await self._prepare()
        for attempt in range(ATTEMPTS):
            now = Instant.read(self._clock)
            rules = await self._rules.rule_set(guild, fresh=attempt > 0)
            effective = self._rules.effective(rules, user_id, role_ids)
            usage, global_used = await self._usage.read(guild, user_id, rules, effective, now)
            if usage is None:
                continue
            return self._image_refusal(usage, global_used, images, now) or self._caps.refusal(
                await self._caps.caps(guild, rules, now), cost
            )
        return None

    def _image_refusal(self, usage: MemberUsage, global_used: int, images: int, now: Instant) -> QuotaExceeded | None:
        """Why `images` more do not fit the member's quota or the bot's day, or None."""
        if usage.limit != UNLIMITED and usage.used + images > usage.limit:
            return _member_refusal(usage, images)
        budget = self._usage.global_daily_limit
        if budget is not None and global_used + images > budget:
            return QuotaExceeded(
                limit=budget,
                used=global_used,
                remaining=max(0, budget - global_used),
                resets_at=now.resets_at("day"),
                rule=Rule.GLOBAL_BUDGET,
                images_requested=images,
                period="day",
            )
        return None

    # -- settling --------------------------------------------------------------------

    async def commit(
        self,
        reservation_id: int,
        delivered_images: int,
        *,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        total_tokens: int | None = None,
        cost_usd: float | None = None,
        late: bool = False,
    ) -> bool:
        """Record what was delivered (at most what was reserved: ValueError otherwise);
        reserved images not delivered stop counting.

        Returns False, changing nothing, if the reservation was already settled
        (committed, refunded, or released as stale or abandoned). `late=True` (the commit
        journal, recording a delivery made before a restart or a long lock) also settles a
        row released as stale or abandoned meanwhile."""
        if not is_int(reservation_id):
            raise TypeError(f"commit takes the reservation's id (reservation.id), not {reservation_id!r}")
        if not is_int(delivered_images) or delivered_images < 0:
            raise ValueError(f"delivered_images must be a non-negative integer, not {delivered_images!r}")
        check_bill(cost_usd, input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=total_tokens)
        params = {
            "id": reservation_id,
            "delivered": delivered_images,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": total_tokens,
            "cost_usd": cost_usd,
            "now": self._clock().timestamp(),
        }
        if await self._settle(self._sql.late_commit if late else self._sql.commit, self._sql.commit_plain, params, late=late):
            return True
        # Nothing settled: already settled, or more delivered than reserved (asked only
        # now, off the common path).
        row = await self._db.fetchone(self._sql.reserved_images, (reservation_id,))
        if row is not None and delivered_images > row[0]:
            raise ValueError(f"delivered_images must be from 0 to the {row[0]} reserved, not {delivered_images}")
        return False

    async def refund(
        self,
        reservation: Reservation,
        reason: str,
        *,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        total_tokens: int | None = None,
        cost_usd: float | None = None,
    ) -> bool:
        """Give all reserved images back, recording what the provider billed if it did.

        Returns False if already settled."""
        check_bill(cost_usd, input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=total_tokens)
        params = {
            "reason": reason,
            "now": self._clock().timestamp(),
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": total_tokens,
            "cost_usd": cost_usd,
            "id": reservation.id,
            "delivered": 0,
        }
        return await self._settle(self._sql.refund, self._sql.refund_plain, params)

    async def _settle(self, full: str, plain: str, params: dict[str, Any], *, late: bool = False) -> bool:
        """One settle: a row this process reserved without caps by the statement that writes
        it alone, when no cap or day total needs it since; any other by the full statement."""
        plain_first = not late and params["id"] in self._plain
        self._plain.discard(params["id"])
        if plain_first and _settled(await self._db.fetchall(plain, params)):
            return True
        return _settled(await self._db.fetchall(full, params))

    async def touch(self, reservation_ids: Iterable[int]) -> None:
        """Record a sign of life for open reservations whose edits are still alive."""
        ids = sorted(set(reservation_ids))
        if ids:
            listed: Any = json.dumps(ids) if self._db.dialect == "sqlite" else ids
            await self._db.fetchall(self._sql.touch, {"now": self._clock().timestamp(), "ids": listed})

    async def release_stale(self, older_than_seconds: float) -> int:
        """Refund reservations with no sign of life for longer than any request can run:
        their edit died without settling (a crash, a bug). Live edits refresh theirs with
        `touch`. The bot passes STALE_RESERVATION_SECONDS (IMAGE_API_TIMEOUT + 60 by
        default). Returns how many."""
        if self._db.dialect != "sqlite":
            # Open rows are found from ledger_open_from's id: moved up to the first open row
            # once no reservation is half-made (its id drawn, its row not yet visible).
            await self._db.fetch_locked(RESERVING_LOCK, (), "SELECT retouch_advance_open_from()")  # type: ignore[attr-defined]
        now = self._clock().timestamp()
        params = {"reason": STALE_REASON, "now": now, "cutoff": now - older_than_seconds}
        return len(await self._db.fetchall(self._sql.release_stale, params))

    async def release_abandoned(self, current_owner: str | None = None) -> int:
        """Refund every open reservation made by a process that is gone. Returns how many.

        SQLite: every other owner's, which is only safe while this process holds the
        exclusive lock on the database (bot/ops/instance_lock.py): it proves that no other
        instance is still working on them. PostgreSQL, shared by several processes: only
        the rows of owners whose liveness lock nobody holds and whose last beat is older
        than DEAD_AFTER_SECONDS (bot/store/postgres.py); a running process's reservations
        are never touched, even while its liveness connection is being re-established.
        """
        now = self._clock().timestamp()
        params: dict[str, Any] = {"reason": ABANDONED_REASON, "now": now, "owner": current_owner or self.owner}
        if self._db.dialect != "sqlite":
            from bot.store.postgres import DEAD_AFTER_SECONDS

            params["seen_before"] = now - DEAD_AFTER_SECONDS
        released = len(await self._db.fetchall(self._sql.release_abandoned, params))
        if self._db.dialect != "sqlite":
            # The processes that are gone (by the same verdict) leave the table too, so
            # doctor lists only the processes that run.
            await self._db.fetchall(_FORGET_GONE_PROCESSES, params)
        return released

    async def reset_user(self, guild_id: int | None, user_id: int, role_ids: Iterable[int] = ()) -> int:
        """Clear the member's usage in the current period of their effective rule.

        Rows stay in the ledger and in reports but are marked reset and stop counting,
        including requests still running. Returns the images given back.
        """
        guild = guild_key(guild_id)
        role_ids = tuple(role_ids)
        for _ in range(ATTEMPTS):
            now = Instant.read(self._clock)
            rules = await self._rules.rule_set(guild, fresh=True)
            effective = self._rules.effective(rules, user_id, role_ids)
            rows = await self._db.fetchall(self._sql.reset, member_window(guild, user_id, rules, effective, now))
            if rows or await self._rules.version() == rules.version:
                return sum(r[0] or 0 for r in rows)
        raise RuntimeError("quota rules kept changing during reset; try again")


def _settled(rows: list[Any]) -> bool:
    """Whether a settle changed its row: the statements return the id or no row,
    PostgreSQL's late commit (retouch_settle()) one row holding the id or NULL."""
    return bool(rows) and rows[0][0] is not None


def _over_limit(effective: EffectiveLimit, *, used: int, in_flight: int, images: int, now: Instant) -> QuotaExceeded:
    """The refusal for a member whose `used` images (`in_flight` of them still reserved)
    leave no room for `images` more under `effective`."""
    return QuotaExceeded(
        limit=effective.limit,
        used=used,
        remaining=max(0, effective.limit - used),
        resets_at=now.resets_at(effective.period),
        rule=effective.rule,
        images_requested=images,
        rule_detail=effective.rule_detail,
        period=effective.period,
        reserved_in_flight=in_flight,
    )


def _member_refusal(usage: MemberUsage, images: int) -> QuotaExceeded:
    return QuotaExceeded(
        limit=usage.limit,
        used=usage.used,
        remaining=usage.remaining or 0,
        resets_at=usage.resets_at,
        rule=usage.rule,
        images_requested=images,
        rule_detail=usage.rule_detail,
        period=usage.period,
        reserved_in_flight=usage.reserved_in_flight,
    )
