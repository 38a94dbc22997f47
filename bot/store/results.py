"""Delivered results kept for their buttons (Edit again, Re-roll, Delete), after restarts and
on whichever bot process receives the click.

A result is a row in `edit_results` plus its files: the inputs exactly as they were sent
upstream (`input-1.png`, ...) and the mask (`mask.png`), which Re-roll sends again. The
result images are not kept: they are in the result's message on Discord, and Edit again
reads the chosen one back from the clicked message. (Results kept before schema version
10 also have their images, `edit-1.png`, ...: they are read from there until they expire.)

Where the files live (bot/store/result_files.py): with SQLite, in `results/<id>/` next to
the database; with PostgreSQL, in `edit_result_files`, so every process sees them.

The bound is hard: `RESULT_STORAGE_MB` counts the bytes of every kept result (across all
processes with PostgreSQL), and a save first evicts the oldest results until the new one
fits, under a lock (an advisory lock with PostgreSQL: one process at a time saves or
cleans). A result larger than the whole bound, or one that would leave the disk nearly
full (SQLite), is not kept: its row says why, so its buttons can tell the member, and Edit
again still works (it needs only the message). Expired results go in the periodic sweep.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Sequence

import aiosqlite

from bot.images.formats import extension_for, sniff_format
from bot.store.backend import Database, PostgresDatabase, as_database, translate
from bot.store.periods import Clock, utc_now
from bot.store.result_files import DatabaseFiles, DiskFiles, File, FileReader

log = logging.getLogger("retouch.results")

# Why a result's inputs were not kept (edit_results.unkept).
DISK_FULL = "disk_full"
TOO_LARGE = "too_large"

# Stop keeping results when saving one would leave less free disk than this: the database,
# its journal and the logs need the room more than Re-roll does.
MIN_FREE_DISK_BYTES = 512 * 1024 * 1024
# The sweep leaves folders younger than this alone: a save may be between its files and its row.
DEBRIS_GRACE = timedelta(minutes=5)
# PostgreSQL: saves and sweeps of every process take turns on this transaction lock
# (the two-key form: a key space apart from the single-key locks of bot/store/postgres.py).
RESULTS_LOCK = (0x52455455, 3)  # "RETU", 3: kept results

_ROW_COLUMNS = (
    "id, guild_id, channel_id, requester_id, prompt, options, inputs, has_mask, results, "
    "bytes, created_at, expires_at, results_kept, unkept"
)
_INSERT = (
    f"INSERT INTO edit_results ({_ROW_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET guild_id = excluded.guild_id, channel_id = excluded.channel_id, "
    "requester_id = excluded.requester_id, prompt = excluded.prompt, options = excluded.options, "
    "inputs = excluded.inputs, has_mask = excluded.has_mask, results = excluded.results, message_ids = '[]', "
    "bytes = excluded.bytes, created_at = excluded.created_at, expires_at = excluded.expires_at, "
    "results_kept = excluded.results_kept, unkept = excluded.unkept"
)
# The results that do not fit in `room` bytes, keeping the newest (a window sum, newest first).
_OVER = (
    "SELECT id FROM (SELECT id, SUM(bytes) OVER (ORDER BY created_at DESC, id DESC) AS running "
    "FROM edit_results WHERE bytes > 0) AS newest_first WHERE running > ?"
)


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
    result_names: Sequence[str]  # the images' file names as delivered, in order (not kept)

    def files(self) -> list[File]:
        named = []
        for index, data in enumerate(self.inputs, start=1):
            fmt = sniff_format(data)
            named.append((f"input-{index}.{extension_for(fmt) if fmt else 'bin'}", data))
        if self.mask is not None:
            named.append(("mask.png", self.mask))
        return named


@dataclass(frozen=True)
class Kept:
    """What a save did: the bytes it keeps, or why it keeps nothing but the row."""

    bytes: int
    unkept: str | None = None  # DISK_FULL or TOO_LARGE


@dataclass(frozen=True)
class StoredResult:
    edit_id: int
    guild_id: int | None
    channel_id: int | None
    requester_id: int
    prompt: str
    options: dict[str, Any]
    input_names: list[str]
    mask_name: str | None
    result_names: list[str]
    results_kept: bool = False  # the images are kept too (results from before schema 10)
    unkept: str | None = None  # why the inputs were not kept: Re-roll cannot run
    message_ids: list[int] = field(default_factory=list)
    created_at: datetime = field(default_factory=utc_now)
    reader: FileReader | None = field(default=None, repr=False, compare=False)

    async def _read(self, name: str) -> bytes:
        assert self.reader is not None
        return await self.reader.read(self.edit_id, name)

    async def inputs(self) -> list[bytes]:
        return [await self._read(n) for n in self.input_names]

    async def mask(self) -> bytes | None:
        return None if self.mask_name is None else await self._read(self.mask_name)

    async def kept_result(self, index: int) -> bytes | None:
        """The delivered image, when it was kept (older results); else None: read it from
        the result's message."""
        return await self._read(self.result_names[index]) if self.results_kept else None


class ResultStore:
    def __init__(
        self,
        conn: aiosqlite.Connection | Database,
        root: Path,
        *,
        retention: timedelta,
        max_bytes: int,
        clock: Clock = utc_now,
        min_free_disk: int = MIN_FREE_DISK_BYTES,
        debris_grace: timedelta = DEBRIS_GRACE,
    ) -> None:
        self._db = as_database(conn)
        self.root = root  # SQLite: where the files live; PostgreSQL: older results to move in
        self.retention = retention
        self.max_bytes = max_bytes
        self.min_free_disk = min_free_disk
        self.debris_grace = debris_grace
        self._clock = clock
        self._lock = asyncio.Lock()  # SQLite: one save's eviction and row, or one sweep, at a time
        self._disk = DiskFiles(root)
        self._pg = isinstance(self._db, PostgresDatabase)
        self._files: DiskFiles | DatabaseFiles = DatabaseFiles(self._db.pool) if isinstance(self._db, PostgresDatabase) else self._disk

    @property
    def where(self) -> str:
        return "the database" if self._pg else str(self.root)

    def folder(self, edit_id: int) -> Path:
        return self._disk.folder(edit_id)

    # ----- saving ------------------------------------------------------------------------

    async def save(self, result: ResultFiles) -> Kept:
        """Keep the row and the files, evicting the oldest results until they fit.
        Storage off (max_bytes 0): nothing, Kept(0)."""
        if self.max_bytes <= 0:
            return Kept(0)
        files = result.files()
        size = sum(len(data) for _, data in files)
        unkept = TOO_LARGE if size > self.max_bytes else None
        if unkept is None and not self._pg and not await asyncio.to_thread(self._room_on_disk, size):
            unkept = DISK_FULL
        if unkept is not None:
            log.warning(
                "result #%d: its inputs (%d bytes) are not kept (%s); Re-roll will say so", result.edit_id, size, unkept
            )
            await self._db.fetchall(_INSERT, self._row(result, [], 0, unkept))
            return Kept(0, unkept)
        if self._pg:
            await self._save_postgres(result, files, size)
        else:
            await self._save_disk(result, files, size)
        return Kept(size)

    def _room_on_disk(self, size: int) -> bool:
        where = self.root
        while not where.exists() and where != where.parent:
            where = where.parent
        return shutil.disk_usage(where).free - size >= self.min_free_disk

    def _row(self, result: ResultFiles, files: Sequence[File], size: int, unkept: str | None = None) -> tuple[Any, ...]:
        now = self._clock().timestamp()
        return (
            result.edit_id,
            result.guild_id or 0,
            result.channel_id,
            result.requester_id,
            result.prompt,
            json.dumps(result.options),
            sum(1 for name, _ in files if name.startswith("input-")),
            int(any(name == "mask.png" for name, _ in files)),
            json.dumps(list(result.result_names)),
            size,
            now,
            now + self.retention.total_seconds(),
            0,
            unkept,
        )

    async def _save_disk(self, result: ResultFiles, files: list[File], size: int) -> None:
        # Files first, then the row: a row always points at complete files (a folder
        # without a row is debris the sweep removes once it is older than its grace).
        await self._disk.write(result.edit_id, files)
        try:
            async with self._lock:
                evicted = [r[0] for r in await self._db.fetchall(_OVER, (self.max_bytes - size,))]
                evicted = [i for i in evicted if i != result.edit_id]
                if evicted:
                    await self._delete_rows(evicted)
                await self._db.fetchall(_INSERT, self._row(result, files, size))
        except BaseException:
            await self._disk.remove([result.edit_id])
            raise
        if evicted:
            await self._disk.remove(evicted)
            log.info("made room for result #%d: removed %d older result(s) (RESULT_STORAGE_MB)", result.edit_id, len(evicted))

    async def _save_postgres(self, result: ResultFiles, files: list[File], size: int) -> None:
        assert isinstance(self._db, PostgresDatabase)
        over, _ = translate(_OVER)
        insert, _ = translate(_INSERT)
        async with self._db.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", *RESULTS_LOCK)
            evicted = [r[0] for r in await conn.fetch(over, self.max_bytes - size) if r[0] != result.edit_id]
            if evicted:
                await conn.execute("DELETE FROM edit_results WHERE id = ANY($1::bigint[])", evicted)
            await conn.execute(insert, *self._row(result, files, size))
            await DatabaseFiles.write(conn, result.edit_id, files)
        if evicted:
            log.info("made room for result #%d: removed %d older result(s) (RESULT_STORAGE_MB)", result.edit_id, len(evicted))

    async def _delete_rows(self, edit_ids: list[int]) -> None:
        if self._db.dialect == "sqlite":
            await self._db.fetchall("DELETE FROM edit_results WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(edit_ids),))
        else:
            await self._db.fetchall("DELETE FROM edit_results WHERE id = ANY(?::bigint[])", (edit_ids,))

    async def set_messages(self, edit_id: int, message_ids: Sequence[int]) -> None:
        await self._db.fetchall(
            "UPDATE edit_results SET message_ids = ? WHERE id = ?", (json.dumps(list(message_ids)), edit_id)
        )

    # ----- reading -----------------------------------------------------------------------

    async def get(self, edit_id: int) -> StoredResult | None:
        """The result, or None when it expired, was deleted, or its files are gone."""
        rows = await self._db.fetchall(
            "SELECT guild_id, channel_id, requester_id, prompt, options, inputs, has_mask, results, message_ids, "
            "created_at, expires_at, results_kept, unkept FROM edit_results WHERE id = ?",
            (edit_id,),
        )
        if not rows:
            return None
        guild, channel, requester, prompt, options, inputs, has_mask, results, messages, created, expires, kept, unkept = rows[0]
        if expires <= self._clock().timestamp():
            return None
        result_names = json.loads(results)
        stored = StoredResult(
            edit_id=edit_id,
            guild_id=guild or None,
            channel_id=channel,
            requester_id=requester,
            prompt=prompt,
            options=json.loads(options),
            input_names=[],
            mask_name="mask.png" if has_mask else None,
            result_names=result_names,
            results_kept=bool(kept),
            unkept=unkept,
            message_ids=json.loads(messages),
            created_at=datetime.fromtimestamp(created, UTC),
            reader=self._files,
        )
        if unkept is not None:
            return stored  # nothing on disk to check: its buttons say why
        present = await self._files.names(edit_id)
        input_names = [_first_named(present, f"input-{i}.") for i in range(1, inputs + 1)]
        wanted = [*(result_names if kept else []), *([stored.mask_name] if stored.mask_name else [])]
        if None in input_names or not all(n in present for n in wanted):
            log.warning("result #%d is missing files in %s; treating it as expired", edit_id, self.where)
            return None
        return replace(stored, input_names=[n for n in input_names if n is not None])

    async def delete(self, edit_id: int) -> None:
        await self._db.fetchall("DELETE FROM edit_results WHERE id = ?", (edit_id,))
        if not self._pg:
            await self._disk.remove([edit_id])

    # ----- the sweep ---------------------------------------------------------------------

    async def cleanup(self) -> int:
        """Remove expired results, then the oldest until the total fits the bound (it can
        be over after RESULT_STORAGE_MB was lowered), then folders no row points at.
        Returns how many results were removed."""
        now = self._clock().timestamp()
        expired_sql = "SELECT id FROM edit_results WHERE expires_at <= ?"
        if isinstance(self._db, PostgresDatabase):
            # One process at a time, and never in the middle of another's save.
            async with self._db.pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", *RESULTS_LOCK)
                gone = await conn.fetch(translate("DELETE FROM edit_results WHERE expires_at <= ? RETURNING id")[0], now)
                over = await conn.fetch(translate(_OVER)[0], self.max_bytes)
                if over:
                    await conn.execute("DELETE FROM edit_results WHERE id = ANY($1::bigint[])", [r[0] for r in over])
            return len(gone) + len(over)
        async with self._lock:
            # Read first, write only when there is something to remove: a sweep with
            # nothing to do never waits for the database's write lock.
            removed = [r[0] for r in await self._db.fetchall(expired_sql, (now,))]
            if removed:
                await self._delete_rows(removed)
            over_ids = [r[0] for r in await self._db.fetchall(_OVER, (self.max_bytes,))]
            if over_ids:
                await self._delete_rows(over_ids)
            removed += over_ids
        await self._disk.remove(removed)
        # Rows read after the folders were listed: a save that wrote its row meanwhile is
        # known, one still between its files and its row is younger than the grace.
        listed = await self._disk.folders()
        known = {r[0] for r in await self._db.fetchall("SELECT id FROM edit_results")}
        await self._disk.remove_debris(listed, known, self.debris_grace.total_seconds())
        return len(removed)

    async def usage(self) -> tuple[int, int]:
        """(results kept, bytes kept)."""
        rows = await self._db.fetchall("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM edit_results")
        return rows[0][0], rows[0][1]

    # ----- PostgreSQL: results kept on this process's disk before schema 3 ----------------

    async def adopt_local_files(self) -> int:
        """Move results this process kept on its disk (before the PostgreSQL store kept
        them) into the database, so every process can answer their buttons. Returns how
        many were moved; the folders go once moved (or when no row points at them)."""
        if not isinstance(self._db, PostgresDatabase):
            return 0
        moved = 0
        for edit_id in sorted(await self._disk.folders()):
            row = await self._db.fetchone(
                "SELECT EXISTS (SELECT 1 FROM edit_result_files WHERE result_id = ?) FROM edit_results WHERE id = ?",
                (edit_id, edit_id),
            )
            if row is not None and not row[0]:
                files = await self._disk.read_all(edit_id)
                async with self._db.pool.acquire() as conn, conn.transaction():
                    await DatabaseFiles.write(conn, edit_id, files)
                moved += 1
            await self._disk.remove([edit_id])
        if moved:
            log.info("moved %d kept result(s) from %s into the database", moved, self.root)
        return moved


def _first_named(names: set[str], prefix: str) -> str | None:
    match = sorted(n for n in names if n.startswith(prefix))
    return match[0] if match else None
