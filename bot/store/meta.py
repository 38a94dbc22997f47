"""Small facts the bot keeps about itself (`meta`: key -> text), on either backend."""

from __future__ import annotations

import aiosqlite

from bot.store.backend import Database, as_database


class MetaStore:
    def __init__(self, conn: aiosqlite.Connection | Database) -> None:
        self._db = as_database(conn)

    async def get(self, key: str) -> str | None:
        row = await self._db.fetchone("SELECT value FROM meta WHERE key = ?", (key,))
        return row[0] if row else None

    async def set(self, key: str, value: str) -> None:
        await self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value)
        )
