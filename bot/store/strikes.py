"""Content safety in the database: each server's safety level, members' strikes and pauses.

A strike is one row (a flagged request, or a provider safety rejection); a pause is one
row per member and server, paused while `paused_until` is in the future. Strikes that
count toward the next pause are those of the last 24 hours made after the member's last
pause began or was lifted, so a member whose pause ends starts again from zero.

Every write is one statement: the automatic pause decides, inside its own INSERT, whether
the member has enough strikes and is not already paused, so two strikes landing at once
(even in two processes sharing PostgreSQL) pause a member once and announce it once. Both
databases take the same SQL text (CAST instead of PostgreSQL's `::` so parameter types
are known). Direct messages are server id 0, as in the quota store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import aiosqlite

from bot.store.backend import Database, as_database
from bot.store.periods import Clock, utc_now

STRIKE_WINDOW_SECONDS = 24 * 3600
LEVELS = ("off", "prompts", "images")

_STANDING_SQL = """
SELECT (SELECT safety_level FROM server_settings WHERE guild_id = :guild),
       (SELECT paused_until FROM safety_pauses WHERE guild_id = :guild AND user_id = :user AND paused_until > :now)
"""

_SET_LEVEL_SQL = """
INSERT INTO server_settings (guild_id, safety_level, updated_at) VALUES (:guild, :level, :now)
ON CONFLICT (guild_id) DO UPDATE SET safety_level = excluded.safety_level, updated_at = excluded.updated_at
"""

_STRIKE_SQL = """
INSERT INTO safety_strikes (guild_id, user_id, source, categories, created_at)
VALUES (:guild, :user, :source, :categories, :now)
"""

# Strikes that count toward the next pause.
_COUNTED = """
(SELECT COUNT(*) FROM safety_strikes AS s
  WHERE s.guild_id = :guild AND s.user_id = :user AND s.created_at > :since
    AND s.created_at > COALESCE((SELECT p.counted_from FROM safety_pauses AS p
                                  WHERE p.guild_id = :guild AND p.user_id = :user), 0))
"""

_PAUSE_AFTER_STRIKES_SQL = f"""
INSERT INTO safety_pauses (guild_id, user_id, paused_at, paused_until, paused_by, counted_from)
SELECT CAST(:guild AS BIGINT), CAST(:user AS BIGINT), CAST(:now AS DOUBLE PRECISION),
       CAST(:until AS DOUBLE PRECISION), NULL, CAST(:now AS DOUBLE PRECISION)
 WHERE {_COUNTED} >= :strikes
ON CONFLICT (guild_id, user_id) DO UPDATE
   SET paused_at = excluded.paused_at, paused_until = excluded.paused_until,
       paused_by = NULL, counted_from = excluded.counted_from
 WHERE safety_pauses.paused_until <= excluded.paused_at
RETURNING paused_until
"""

_PAUSE_SQL = """
INSERT INTO safety_pauses (guild_id, user_id, paused_at, paused_until, paused_by, counted_from)
VALUES (:guild, :user, :now, :until, :by, :now)
ON CONFLICT (guild_id, user_id) DO UPDATE
   SET paused_at = excluded.paused_at, paused_until = excluded.paused_until,
       paused_by = excluded.paused_by, counted_from = excluded.counted_from
"""

# Lifting a pause also forgives the strikes so far (they would pause the member again).
_RESUME_SQL = """
INSERT INTO safety_pauses (guild_id, user_id, paused_at, paused_until, paused_by, counted_from)
VALUES (:guild, :user, :now, :now, :by, :now)
ON CONFLICT (guild_id, user_id) DO UPDATE
   SET paused_until = CASE WHEN safety_pauses.paused_until > excluded.paused_at
                           THEN excluded.paused_at ELSE safety_pauses.paused_until END,
       counted_from = excluded.counted_from
"""

_MEMBER_SQL = f"""
SELECT {_COUNTED},
       (SELECT COUNT(*) FROM safety_strikes WHERE guild_id = :guild AND user_id = :user),
       (SELECT paused_until FROM safety_pauses WHERE guild_id = :guild AND user_id = :user AND paused_until > :now),
       (SELECT paused_by FROM safety_pauses WHERE guild_id = :guild AND user_id = :user AND paused_until > :now)
"""

_REPORT_SQL = """
SELECT user_id, COUNT(*) FROM safety_strikes
 WHERE guild_id = :guild AND created_at >= :start AND created_at < :end
 GROUP BY user_id ORDER BY COUNT(*) DESC, user_id LIMIT :top
"""

_REPORT_TOTAL_SQL = """
SELECT COUNT(*), COUNT(DISTINCT user_id) FROM safety_strikes
 WHERE guild_id = :guild AND created_at >= :start AND created_at < :end
"""

_PAUSED_SQL = """
SELECT user_id, paused_until FROM safety_pauses WHERE guild_id = :guild AND paused_until > :now
 ORDER BY paused_until LIMIT :top
"""


@dataclass(frozen=True)
class Standing:
    """What an edit needs to know: the server's own level (None: the bot's) and any pause."""

    level: str | None
    paused_until: datetime | None


@dataclass(frozen=True)
class StrikeResult:
    strikes: int  # that count toward the next pause, this one included (0 once it paused)
    paused_until: datetime | None  # this strike paused the member until then


@dataclass(frozen=True)
class MemberSafety:
    """For /quota show: strikes toward the next pause, all strikes, and the pause."""

    strikes: int  # in the last 24 h, since the last pause began or was lifted
    total_strikes: int
    paused_until: datetime | None
    paused_by: int | None  # the moderator, or None when strikes paused the member


@dataclass(frozen=True)
class StrikeReport:
    strikes: int
    members: int
    top: tuple[tuple[int, int], ...]  # (user id, strikes), most first
    paused: tuple[tuple[int, datetime], ...]  # (user id, until), soonest first


def _dt(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(float(timestamp), timezone.utc)


def _guild(guild_id: int | None) -> int:
    return 0 if guild_id is None else guild_id


class StrikeStore:
    def __init__(self, conn: aiosqlite.Connection | Database, *, clock: Clock = utc_now) -> None:
        self._db = as_database(conn)
        self._clock = clock

    def now(self) -> float:
        return self._clock().timestamp()

    async def standing(self, guild_id: int | None, user_id: int) -> Standing:
        rows = await self._db.fetchall(_STANDING_SQL, {"guild": _guild(guild_id), "user": user_id, "now": self.now()})
        level, until = rows[0]
        return Standing(level if level in LEVELS else None, _dt(until))

    async def level(self, guild_id: int) -> str | None:
        """The server's own level; None: it follows SAFETY_CHECK."""
        return (await self.standing(guild_id, 0)).level

    async def level_anywhere(self) -> bool:
        """Whether any server chose a level other than off (doctor checks the endpoint then)."""
        rows = await self._db.fetchall("SELECT COUNT(*) FROM server_settings WHERE safety_level IN ('prompts', 'images')")
        return bool(rows[0][0])

    async def set_level(self, guild_id: int, level: str | None) -> None:
        """The server's level; None: follow the bot's SAFETY_CHECK."""
        if level is not None and level not in LEVELS:
            raise ValueError(f"safety level must be one of {', '.join(LEVELS)}, not {level!r}")
        await self._db.execute(_SET_LEVEL_SQL, {"guild": guild_id, "level": level, "now": self.now()})

    async def strike(
        self, guild_id: int | None, user_id: int, *, source: str, categories: tuple[str, ...] = (),
        strikes: int, pause_hours: float,
    ) -> StrikeResult:
        """Record a strike; when it makes `strikes` within 24 h, pause the member for
        `pause_hours` (the result says until when; None: not paused by this strike)."""
        now = self.now()
        guild = _guild(guild_id)
        await self._db.execute(
            _STRIKE_SQL, {"guild": guild, "user": user_id, "source": source, "categories": ",".join(categories), "now": now}
        )
        rows = await self._db.fetchall(
            _PAUSE_AFTER_STRIKES_SQL,
            {"guild": guild, "user": user_id, "now": now, "until": now + pause_hours * 3600,
             "since": now - STRIKE_WINDOW_SECONDS, "strikes": strikes},
        )
        if rows:
            return StrikeResult(0, _dt(rows[0][0]))
        return StrikeResult((await self.member(guild_id, user_id)).strikes, None)

    async def pause(self, guild_id: int, user_id: int, *, hours: float, by: int | None) -> datetime:
        now = self.now()
        until = now + hours * 3600
        await self._db.execute(_PAUSE_SQL, {"guild": guild_id, "user": user_id, "now": now, "until": until, "by": by})
        return _dt(until)  # type: ignore[return-value]

    async def resume(self, guild_id: int, user_id: int, *, by: int | None) -> bool:
        """Lift a pause (and forgive the strikes so far); False when there was none."""
        before = await self.member(guild_id, user_id)
        await self._db.execute(_RESUME_SQL, {"guild": guild_id, "user": user_id, "now": self.now(), "by": by})
        return before.paused_until is not None

    async def member(self, guild_id: int | None, user_id: int) -> MemberSafety:
        now = self.now()
        rows = await self._db.fetchall(
            _MEMBER_SQL, {"guild": _guild(guild_id), "user": user_id, "now": now, "since": now - STRIKE_WINDOW_SECONDS}
        )
        counted, total, until, by = rows[0]
        return MemberSafety(int(counted), int(total), _dt(until), None if by is None else int(by))

    async def report(self, guild_id: int, start: datetime, end: datetime, *, top: int = 10) -> StrikeReport:
        params = {"guild": guild_id, "start": start.timestamp(), "end": end.timestamp(), "top": top}
        rows = await self._db.fetchall(_REPORT_SQL, params)
        totals = (await self._db.fetchall(_REPORT_TOTAL_SQL, {k: v for k, v in params.items() if k != "top"}))[0]
        paused = await self._db.fetchall(_PAUSED_SQL, {"guild": guild_id, "now": self.now(), "top": top})
        return StrikeReport(
            strikes=int(totals[0]),
            members=int(totals[1]),
            top=tuple((int(r[0]), int(r[1])) for r in rows),
            paused=tuple((int(r[0]), _dt(r[1])) for r in paused),  # type: ignore[misc]
        )
