"""Delivered results kept for their buttons (Edit again, Re-roll, Delete), after restarts too.

A result is a row in `edit_results` plus a folder `results/<id>/` next to the database:
the inputs exactly as they were sent upstream (`input-1.png`, `mask.png`) and the images
exactly as they were delivered (`edit-1.png`, ...). Both go when the result expires
(RESULT_RETENTION_DAYS) or when the folder outgrows RESULT_STORAGE_MB (oldest first).
File work runs in a worker thread; the row is written after the files, so a row always
points at complete files, and a folder without a row is debris that cleanup removes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Sequence

import aiosqlite

from bot.images.formats import ImageBytes, extension_for, sniff_format
from bot.private_files import make_private_dirs, open_private, write_private
from bot.store.backend import Database, as_database
from bot.store.periods import Clock, utc_now

log = logging.getLogger("retouch.results")


@dataclass(frozen=True)
class ResultFiles:
    """What to keep of one delivered edit."""

    edit_id: int
    guild_id: int | None
    channel_id: int | None
    requester_id: int
    prompt: str
    options: dict[str, Any]
    inputs: Sequence[bytes]
    mask: bytes | None
    results: Sequence[tuple[str, bytes | ImageBytes]]  # (file name as delivered, bytes as delivered)


@dataclass(frozen=True)
class StoredResult:
    edit_id: int
    guild_id: int | None
    channel_id: int | None
    requester_id: int
    prompt: str
    options: dict[str, Any]
    folder: Path
    input_names: list[str]
    mask_name: str | None
    result_names: list[str]
    message_ids: list[int] = field(default_factory=list)
    created_at: datetime = field(default_factory=utc_now)

    def read(self, name: str) -> bytes:
        return (self.folder / name).read_bytes()

    async def inputs(self) -> list[bytes]:
        return await asyncio.to_thread(lambda: [self.read(n) for n in self.input_names])

    async def mask(self) -> bytes | None:
        return None if self.mask_name is None else await asyncio.to_thread(self.read, self.mask_name)

    async def result(self, index: int) -> bytes:
        return await asyncio.to_thread(self.read, self.result_names[index])


class ResultStore:
    def __init__(
        self,
        conn: aiosqlite.Connection | Database,
        root: Path,
        *,
        retention: timedelta,
        max_bytes: int,
        clock: Clock = utc_now,
    ) -> None:
        self._db = as_database(conn)
        self.root = root
        self.retention = retention
        self.max_bytes = max_bytes
        self._clock = clock
        self._lock = asyncio.Lock()  # one cleanup at a time
        self._saving: set[int] = set()  # folders being written: not debris yet

    def folder(self, edit_id: int) -> Path:
        return self.root / str(edit_id)

    async def save(self, result: ResultFiles) -> int:
        """Keep the files and the row; returns the bytes stored (0 when storage is off)."""
        if self.max_bytes <= 0:
            return 0
        folder = self.folder(result.edit_id)
        self._saving.add(result.edit_id)
        try:
            input_names, mask_name, size = await asyncio.to_thread(self._write, folder, result)
            await self._insert(result, len(input_names), mask_name is not None, size)
        except BaseException:
            await asyncio.to_thread(shutil.rmtree, folder, True)
            raise
        finally:
            self._saving.discard(result.edit_id)
        return size

    async def _insert(self, result: ResultFiles, inputs: int, has_mask: bool, size: int) -> None:
        now = self._clock().timestamp()
        await self._db.fetchall(
            "INSERT INTO edit_results (id, guild_id, channel_id, requester_id, prompt, options, inputs, "
            "has_mask, results, bytes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET guild_id = excluded.guild_id, channel_id = excluded.channel_id, "
            "requester_id = excluded.requester_id, prompt = excluded.prompt, options = excluded.options, "
            "inputs = excluded.inputs, has_mask = excluded.has_mask, results = excluded.results, "
            "message_ids = '[]', bytes = excluded.bytes, created_at = excluded.created_at, expires_at = excluded.expires_at",
            (
                result.edit_id,
                result.guild_id or 0,
                result.channel_id,
                result.requester_id,
                result.prompt,
                json.dumps(result.options),
                inputs,
                int(has_mask),
                json.dumps([name for name, _ in result.results]),
                size,
                now,
                now + self.retention.total_seconds(),
            ),
        )

    @staticmethod
    def _write(folder: Path, result: ResultFiles) -> tuple[list[str], str | None, int]:
        make_private_dirs(folder)  # members' pictures and prompts: 0700 folders, 0600 files
        size = 0
        names = []
        for index, data in enumerate(result.inputs, start=1):
            fmt = sniff_format(data)
            name = f"input-{index}.{extension_for(fmt) if fmt else 'bin'}"
            write_private(folder / name, data)
            names.append(name)
            size += len(data)
        mask_name = None
        if result.mask is not None:
            mask_name = "mask.png"
            write_private(folder / mask_name, result.mask)
            size += len(result.mask)
        for name, data in result.results:
            with open_private(folder / Path(name).name, "wb") as out:
                # The provider's decoded pieces as they are: no join into one buffer.
                out.writelines(data.pieces if isinstance(data, ImageBytes) else (data,))
            size += len(data)
        return names, mask_name, size

    async def set_messages(self, edit_id: int, message_ids: Sequence[int]) -> None:
        await self._db.fetchall(
            "UPDATE edit_results SET message_ids = ? WHERE id = ?", (json.dumps(list(message_ids)), edit_id)
        )

    async def get(self, edit_id: int) -> StoredResult | None:
        """The result, or None when it expired, was deleted, or its files are gone."""
        rows = await self._db.fetchall(
            "SELECT guild_id, channel_id, requester_id, prompt, options, inputs, has_mask, results, message_ids, "
            "created_at, expires_at FROM edit_results WHERE id = ?",
            (edit_id,),
        )
        if not rows:
            return None
        guild, channel, requester, prompt, options, inputs, has_mask, results, messages, created, expires = rows[0]
        if expires <= self._clock().timestamp():
            return None
        folder = self.folder(edit_id)
        input_names = await asyncio.to_thread(_input_names, folder, inputs)
        stored = StoredResult(
            edit_id=edit_id,
            guild_id=guild or None,
            channel_id=channel,
            requester_id=requester,
            prompt=prompt,
            options=json.loads(options),
            folder=folder,
            input_names=input_names,
            mask_name="mask.png" if has_mask else None,
            result_names=json.loads(results),
            message_ids=json.loads(messages),
            created_at=datetime.fromtimestamp(created, UTC),
        )
        names = [*stored.input_names, *stored.result_names, *([stored.mask_name] if stored.mask_name else [])]
        present = await asyncio.to_thread(lambda: all((folder / n).is_file() for n in names))
        if len(input_names) != inputs or not present:
            log.warning("result #%d is missing files in %s; treating it as expired", edit_id, folder)
            return None
        return stored

    async def delete(self, edit_id: int) -> None:
        await self._db.fetchall("DELETE FROM edit_results WHERE id = ?", (edit_id,))
        await asyncio.to_thread(shutil.rmtree, self.folder(edit_id), True)

    async def cleanup(self) -> int:
        """Remove expired results, then the oldest until the total fits the bound, then
        folders no row points at. Returns how many results were removed."""
        async with self._lock:
            now = self._clock().timestamp()
            expired = await self._db.fetchall(
                "DELETE FROM edit_results WHERE expires_at <= ? RETURNING id", (now,)
            )
            removed = [r[0] for r in expired]
            rows = await self._db.fetchall("SELECT id, bytes FROM edit_results ORDER BY created_at DESC, id DESC")
            total = 0
            over: list[int] = []
            for edit_id, size in rows:
                total += size
                if total > self.max_bytes:
                    over.append(edit_id)
            if over:
                if self._db.dialect == "sqlite":
                    await self._db.fetchall(
                        "DELETE FROM edit_results WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(over),)
                    )
                else:
                    await self._db.fetchall("DELETE FROM edit_results WHERE id = ANY(?::bigint[])", (over,))
                removed += over
            kept = ({r[0] for r in rows} - set(over)) | self._saving
            await asyncio.to_thread(self._remove_folders, removed, kept)
            return len(removed)

    def _remove_folders(self, removed: list[int], kept: set[int]) -> None:
        for edit_id in removed:
            shutil.rmtree(self.folder(edit_id), ignore_errors=True)
        if not self.root.is_dir():
            return
        for entry in os.scandir(self.root):
            # A folder without a row: a crash between the files and the row, or a deleted row.
            if entry.is_dir() and entry.name.isdigit() and int(entry.name) not in kept:
                shutil.rmtree(entry.path, ignore_errors=True)

    async def usage(self) -> tuple[int, int]:
        """(results kept, bytes on disk)."""
        rows = await self._db.fetchall("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM edit_results")
        return rows[0][0], rows[0][1]


def _input_names(folder: Path, count: int) -> list[str]:
    names = []
    for index in range(1, count + 1):
        match = sorted(folder.glob(f"input-{index}.*"))
        if match:
            names.append(match[0].name)
    return names
