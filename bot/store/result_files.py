"""Where a kept result's files live: a folder on disk next to the SQLite database, or rows
of `edit_result_files` in PostgreSQL, where every bot process sees them.

Both answer the same questions (which files a result has, a file's bytes, remove them);
the bound, the expiry and which results exist are the rows of `edit_results`, handled by
bot/store/results.py.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from bot.private_files import make_private_dirs, write_private

if TYPE_CHECKING:
    import asyncpg

File = tuple[str, bytes]  # (name, bytes): input-1.png, mask.png, (older results) edit-1.png


class FileReader(Protocol):
    async def read(self, edit_id: int, name: str) -> bytes: ...


class DiskFiles:
    """`results/<id>/<name>`, 0700 folders and 0600 files (members' pictures)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, edit_id: int) -> Path:
        return self.root / str(edit_id)

    async def write(self, edit_id: int, files: Sequence[File]) -> None:
        await asyncio.to_thread(self._write, self.folder(edit_id), files)

    @staticmethod
    def _write(folder: Path, files: Sequence[File]) -> None:
        make_private_dirs(folder)
        for name, data in files:
            write_private(folder / name, data)

    async def names(self, edit_id: int) -> set[str]:
        folder = self.folder(edit_id)

        def listing() -> set[str]:
            try:
                return {entry.name for entry in os.scandir(folder) if entry.is_file()}
            except OSError:
                return set()

        return await asyncio.to_thread(listing)

    async def read(self, edit_id: int, name: str) -> bytes:
        return await asyncio.to_thread((self.folder(edit_id) / Path(name).name).read_bytes)

    async def read_all(self, edit_id: int) -> list[File]:
        folder = self.folder(edit_id)

        def everything() -> list[File]:
            try:
                return [(e.name, Path(e.path).read_bytes()) for e in sorted(os.scandir(folder), key=lambda e: e.name) if e.is_file()]
            except OSError:
                return []

        return await asyncio.to_thread(everything)

    async def remove(self, edit_ids: Iterable[int]) -> None:
        folders = [self.folder(i) for i in edit_ids]
        if folders:
            await asyncio.to_thread(lambda: [shutil.rmtree(f, ignore_errors=True) for f in folders])

    async def folders(self) -> dict[int, float]:
        """Every result folder on disk, with its last change (seconds since the epoch)."""

        def scan() -> dict[int, float]:
            found: dict[int, float] = {}
            try:
                entries = list(os.scandir(self.root))
            except OSError:
                return found
            for entry in entries:
                if entry.name.isdigit() and entry.is_dir():
                    try:
                        found[int(entry.name)] = entry.stat().st_mtime
                    except OSError:
                        continue  # removed meanwhile
            return found

        return await asyncio.to_thread(scan)

    async def remove_debris(self, found: dict[int, float], known: set[int], grace_seconds: float) -> int:
        """Remove the folders `found` (from `folders()`) that no row points at (a crash
        between files and row, a deleted row), except those changed in the last
        `grace_seconds`: a save may be between writing its files and its row."""
        cutoff = time.time() - grace_seconds
        debris = [i for i, changed in found.items() if i not in known and changed < cutoff]
        await self.remove(debris)
        return len(debris)


class DatabaseFiles:
    """Rows of `edit_result_files` (PostgreSQL), removed with their result by the
    foreign key's ON DELETE CASCADE."""

    def __init__(self, pool: "asyncpg.Pool") -> None:
        self.pool = pool

    @staticmethod
    async def write(conn: "asyncpg.Connection", edit_id: int, files: Sequence[File]) -> None:
        """Inside the caller's transaction (the one that writes the result's row)."""
        await conn.execute("DELETE FROM edit_result_files WHERE result_id = $1", edit_id)
        if files:
            await conn.copy_records_to_table(
                "edit_result_files", records=[(edit_id, name, data) for name, data in files], columns=("result_id", "name", "data")
            )

    async def names(self, edit_id: int) -> set[str]:
        rows = await self.pool.fetch("SELECT name FROM edit_result_files WHERE result_id = $1", edit_id)
        return {r["name"] for r in rows}

    async def read(self, edit_id: int, name: str) -> bytes:
        data = await self.pool.fetchval("SELECT data FROM edit_result_files WHERE result_id = $1 AND name = $2", edit_id, name)
        if data is None:
            raise FileNotFoundError(f"result #{edit_id} has no file {name}")
        return bytes(data)
