"""Another program holding a SQLite database's write lock, for failures made for real."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path


class WriteLock:
    """Another program holding the SQLite database's write lock (a sqlite3 shell in the
    middle of a transaction), until the test lets go."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._release = threading.Event()
        self._taken = threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        db = sqlite3.connect(self.path, isolation_level=None, timeout=10)
        try:
            db.execute("BEGIN IMMEDIATE")
            self._taken.set()
            self._release.wait(timeout=60)  # bounded even if a test forgets to let go
            db.execute("ROLLBACK")
        finally:
            db.close()

    async def take(self) -> "WriteLock":
        self._thread.start()
        assert await asyncio.to_thread(self._taken.wait, 10), "could not take the write lock"
        return self

    async def let_go(self) -> None:
        self._release.set()
        await asyncio.to_thread(self._thread.join, 15)

    async def __aenter__(self) -> "WriteLock":
        return await self.take()

    async def __aexit__(self, *exc: object) -> None:
        await self.let_go()
