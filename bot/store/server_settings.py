"""Per-server settings moderators change with /settings: the log channel, the models and
the number of images members may ask for, blocked words.

Every change is one SQL statement (atomic on its own, like the quota store's writes).
Settings are read on every edit, so each server's are cached in memory; every write here
refreshes the cache. With SQLite this process is the only writer (the instance lock).
With PostgreSQL several processes share the database, each running some of Discord's
shards: a server's /settings commands reach the process running its shard, which is the
one whose cache they refresh.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.store.backend import Database, as_database
from bot.store.periods import Clock, utc_now

MAX_IMAGES_PER_EDIT = 10
MAX_BLOCKED_WORDS = 500
MAX_BLOCKED_WORD_CHARS = 100


@dataclass(frozen=True, slots=True)
class BlockedWord:
    key: str  # the normalized form a prompt is matched against
    word: str  # as the moderator typed it


@dataclass(frozen=True, slots=True)
class ServerSettings:
    guild_id: int
    log_channel_id: int | None = None
    allowed_models: tuple[str, ...] = ()  # empty: every model the bot offers
    max_images: int | None = None  # None: the bot's maximum
    blocked_words: tuple[BlockedWord, ...] = ()


_READ_SQL = """
SELECT 'settings', log_channel_id, allowed_models, max_images FROM server_settings WHERE guild_id = :guild
UNION ALL
SELECT 'word', match_key, word, NULL FROM (SELECT match_key, word FROM blocked_words WHERE guild_id = :guild ORDER BY word)
"""

# PostgreSQL: one type per column of a UNION.
_READ_SQL_POSTGRES = """
SELECT 'settings', log_channel_id::text, allowed_models, max_images FROM server_settings WHERE guild_id = :guild
UNION ALL
SELECT 'word', match_key, word, NULL FROM (SELECT match_key, word FROM blocked_words WHERE guild_id = :guild ORDER BY word) AS w
"""

_UPSERT = """
INSERT INTO server_settings (guild_id, {column}, updated_at) VALUES (:guild, :value, :now)
ON CONFLICT (guild_id) DO UPDATE SET {column} = excluded.{column}, updated_at = excluded.updated_at
"""

# The cap on a server's list is part of the insert, so two moderators adding at once
# cannot push it past MAX_BLOCKED_WORDS.
_ADD_WORDS_SQL = f"""
INSERT INTO blocked_words (guild_id, match_key, word, added_by, added_at)
SELECT :guild, json_extract(value, '$[0]'), json_extract(value, '$[1]'), :by, :now
  FROM json_each(:words)
 WHERE (SELECT COUNT(*) FROM blocked_words WHERE guild_id = :guild)
       + (SELECT COUNT(*) FROM json_each(:words) AS adding
           WHERE NOT EXISTS (SELECT 1 FROM blocked_words AS b
                              WHERE b.guild_id = :guild AND b.match_key = json_extract(adding.value, '$[0]')))
       <= {MAX_BLOCKED_WORDS}
ON CONFLICT (guild_id, match_key) DO NOTHING
RETURNING match_key, word
"""

# PostgreSQL: READ COMMITTED would let two statements count the same old list, so the
# insert runs after a per-server advisory lock, in one transaction (fetch_locked).
_ADD_WORDS_LOCK_POSTGRES = "SELECT pg_advisory_xact_lock(hashtextextended('retouch-blocked-words:' || :guild::bigint, 0))"
_ADD_WORDS_SQL_POSTGRES = f"""
INSERT INTO blocked_words (guild_id, match_key, word, added_by, added_at)
SELECT :guild::bigint, value ->> 0, value ->> 1, :by::bigint, :now::float8
  FROM json_array_elements(:words::json) AS value
 WHERE (SELECT COUNT(*) FROM blocked_words WHERE guild_id = :guild::bigint)
       + (SELECT COUNT(*) FROM json_array_elements(:words::json) AS adding
           WHERE NOT EXISTS (SELECT 1 FROM blocked_words AS b
                              WHERE b.guild_id = :guild::bigint AND b.match_key = adding ->> 0))
       <= {MAX_BLOCKED_WORDS}
ON CONFLICT (guild_id, match_key) DO NOTHING
RETURNING match_key, word
"""

_REMOVE_WORDS_SQL_POSTGRES = """
DELETE FROM blocked_words
 WHERE guild_id = :guild AND match_key = ANY(:keys::text[])
RETURNING match_key, word
"""

_REMOVE_WORDS_SQL = """
DELETE FROM blocked_words
 WHERE guild_id = :guild AND match_key IN (SELECT value FROM json_each(:keys))
RETURNING match_key, word
"""


class TooManyBlockedWords(Exception):
    def __init__(self, have: int, adding: int) -> None:
        super().__init__(f"a server may block at most {MAX_BLOCKED_WORDS} words; it has {have}, adding {adding}")
        self.have = have
        self.adding = adding


class ServerSettingsStore:
    def __init__(self, conn: aiosqlite.Connection | Database, *, clock: Clock = utc_now) -> None:
        self._db = as_database(conn)
        self._postgres = self._db.dialect == "postgresql"
        self._clock = clock
        self._cache: dict[int, ServerSettings] = {}

    async def _fetchall(self, sql: str, params: dict[str, Any]) -> list[Any]:
        return list(await self._db.fetchall(sql, params))

    async def get(self, guild_id: int) -> ServerSettings:
        cached = self._cache.get(guild_id)
        if cached is not None:
            return cached
        return await self._load(guild_id)

    async def _load(self, guild_id: int) -> ServerSettings:
        rows = await self._fetchall(_READ_SQL_POSTGRES if self._postgres else _READ_SQL, {"guild": guild_id})
        settings = ServerSettings(guild_id)
        words = tuple(BlockedWord(r[1], r[2]) for r in rows if r[0] == "word")
        for kind, channel, models, max_images in rows:
            if kind == "settings":
                settings = ServerSettings(
                    guild_id,
                    log_channel_id=None if channel is None else int(channel),
                    allowed_models=tuple(json.loads(models)) if models else (),
                    max_images=max_images,
                )
        settings = ServerSettings(
            guild_id, settings.log_channel_id, settings.allowed_models, settings.max_images, words
        )
        self._cache[guild_id] = settings
        return settings

    async def _set(self, guild_id: int, column: str, value: object) -> ServerSettings:
        params = {"guild": guild_id, "value": value, "now": self._clock().timestamp()}
        try:
            await self._fetchall(_UPSERT.format(column=column), params)
        finally:
            self._cache.pop(guild_id, None)
        return await self._load(guild_id)

    async def set_log_channel(self, guild_id: int, channel_id: int | None) -> ServerSettings:
        return await self._set(guild_id, "log_channel_id", channel_id)

    async def set_allowed_models(self, guild_id: int, models: Sequence[str]) -> ServerSettings:
        """Members may use only `models`; an empty list allows every model again."""
        unique = list(dict.fromkeys(models))
        return await self._set(guild_id, "allowed_models", json.dumps(unique) if unique else None)

    async def set_max_images(self, guild_id: int, n: int | None) -> ServerSettings:
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_IMAGES_PER_EDIT):
            raise ValueError(f"max images must be from 1 to {MAX_IMAGES_PER_EDIT}, not {n!r}")
        return await self._set(guild_id, "max_images", n)

    async def add_blocked_words(
        self, guild_id: int, words: Iterable[BlockedWord], *, added_by: int | None = None
    ) -> list[BlockedWord]:
        """Add words (ones already blocked are left as they are); returns those added.

        Raises TooManyBlockedWords, adding nothing, past MAX_BLOCKED_WORDS."""
        unique: dict[str, BlockedWord] = {}
        for w in words:
            if w.key:
                unique.setdefault(w.key, w)  # the first spelling typed is the one kept
        if not unique:
            return []
        payload = json.dumps([[w.key, w.word] for w in unique.values()], ensure_ascii=False)
        params = {"guild": guild_id, "words": payload, "by": added_by, "now": self._clock().timestamp()}
        try:
            if self._postgres:
                rows = list(await self._db.fetch_locked(_ADD_WORDS_LOCK_POSTGRES, {"guild": guild_id}, _ADD_WORDS_SQL_POSTGRES, params))  # type: ignore[attr-defined]
            else:
                rows = await self._fetchall(_ADD_WORDS_SQL, params)
        finally:
            self._cache.pop(guild_id, None)
        if not rows:
            current = await self.get(guild_id)
            new = [k for k in unique if k not in {w.key for w in current.blocked_words}]
            if new:
                raise TooManyBlockedWords(len(current.blocked_words), len(new))
        return [BlockedWord(r[0], r[1]) for r in rows]

    async def remove_blocked_words(self, guild_id: int, keys: Iterable[str]) -> list[BlockedWord]:
        unique = sorted(set(keys))
        try:
            if self._postgres:
                rows = await self._fetchall(_REMOVE_WORDS_SQL_POSTGRES, {"guild": guild_id, "keys": unique})
            else:
                rows = await self._fetchall(_REMOVE_WORDS_SQL, {"guild": guild_id, "keys": json.dumps(unique, ensure_ascii=False)})
        finally:
            self._cache.pop(guild_id, None)
        return [BlockedWord(r[0], r[1]) for r in rows]
