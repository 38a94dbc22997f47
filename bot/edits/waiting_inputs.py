"""The prepared files of edits waiting for their turn, within a process-wide memory budget.

An edit's files are downloaded and prepared before it waits in the queue, so a bad file is
refused at once and the provider gets exactly what was checked. `MAX_EDITS_PER_MEMBER`
bounds what one member can have waiting, but not a busy server (30 members × 3 edits ×
four 20 MB inputs is 7 GB). So the bytes held in memory by waiting edits stay within
`WAITING_MEMORY_BYTES` for the whole process: past that, an edit's prepared bytes go to a
private temporary file (0600, in a 0700 folder of this process next to the database) and
are read back, byte for byte, when its turn comes. The file is deleted when the edit ends,
however it ends; the folders a crashed process left behind are removed at the next start
(a folder whose owner's lock is free: two live processes sharing a data folder never touch
each other's files). File I/O runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import itertools
import logging
import os
import secrets
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from bot.images.inputs import PreparedInput
from bot.private_files import PRIVATE_FILE, make_private_dirs

log = logging.getLogger("retouch.edit")

MIB = 1024 * 1024
# What waiting edits may hold in memory in all: a quiet bot never touches the disk, and a
# busy one holds this plus what runs (MAX_CONCURRENT_EDITS) and what is being prepared.
WAITING_MEMORY_BYTES = 128 * MIB
FOLDER_NAME = "waiting-inputs"
LOCK_NAME = "owner.lock"


def input_bytes(prepared: PreparedInput) -> int:
    """The bytes an edit's prepared files hold (images and mask)."""
    return sum(len(data) for data in _parts(prepared))


def _parts(prepared: PreparedInput) -> list[bytes]:
    return [*prepared.images, *([prepared.mask.data] if prepared.mask is not None else [])]


def _without_bytes(prepared: PreparedInput) -> PreparedInput:
    """The same description with every file emptied (what stays in memory of a spilled edit)."""
    return PreparedInput(
        image=replace(prepared.image, data=b""),
        mask=replace(prepared.mask, data=b"") if prepared.mask is not None else None,
        more=tuple(replace(m, data=b"") for m in prepared.more),
    )


def _with_bytes(shell: PreparedInput, parts: list[bytes]) -> PreparedInput:
    image, *rest = parts
    more = rest[: len(shell.more)]
    mask = rest[len(shell.more)] if shell.mask is not None else None
    return PreparedInput(
        image=replace(shell.image, data=image),
        mask=replace(shell.mask, data=mask) if shell.mask is not None and mask is not None else None,
        more=tuple(replace(m, data=d) for m, d in zip(shell.more, more)),
    )


@dataclass(eq=False)
class HeldInput:
    """One edit's prepared files while it waits: in memory (counted) or in its file."""

    owner: "WaitingInputs | None"
    size: int
    _prepared: PreparedInput | None = None
    _shell: PreparedInput | None = None
    _lengths: tuple[int, ...] = ()
    _path: Path | None = None

    @classmethod
    def uncounted(cls, prepared: PreparedInput) -> "HeldInput":
        """Files of an edit that is not waiting (its turn has come): kept as they are."""
        return cls(owner=None, size=input_bytes(prepared), _prepared=prepared)

    @property
    def path(self) -> Path | None:
        """The temporary file, while the bytes are in one."""
        return self._path

    async def peek(self) -> PreparedInput:
        """The prepared files, still held (a mask preview is drawn from them)."""
        if self._prepared is not None:
            return self._prepared
        if self._path is None or self._shell is None:
            raise RuntimeError("the edit's inputs were already let go")
        parts = await asyncio.to_thread(_read_parts, self._path, self._lengths)
        return _with_bytes(self._shell, parts)

    async def take(self) -> PreparedInput:
        """The prepared files for the provider call; no longer counted as waiting."""
        prepared = await self.peek()
        self.discard()
        return prepared

    def discard(self) -> None:
        """Let go of the files: uncounted, the temporary file deleted. Safe to repeat."""
        if self._prepared is not None and self.owner is not None:
            self.owner.in_memory -= self.size
        self._prepared = None
        if self._path is not None:
            _unlink(self._path)
            self._path = None
            if self.owner is not None:
                self.owner.on_disk -= 1


class WaitingInputs:
    """One per process (the edit service's): the budget, the count and the folder."""

    def __init__(self, parent: Path, *, budget_bytes: int = WAITING_MEMORY_BYTES) -> None:
        self.root = Path(parent) / FOLDER_NAME
        self.budget_bytes = budget_bytes
        self.in_memory = 0  # bytes held in memory by waiting edits
        self.on_disk = 0  # waiting edits whose files are on disk (the budget is used up)
        self._folder: Path | None = None
        self._lock_fd: int | None = None
        self._making_folder = asyncio.Lock()
        self._names = itertools.count(1)

    @property
    def folder(self) -> Path | None:
        """This process's folder, once something was written to disk."""
        return self._folder

    async def keep(self, prepared: PreparedInput) -> HeldInput:
        """Hold `prepared` for a waiting edit: in memory within the budget, else in a file."""
        size = input_bytes(prepared)
        if self.in_memory + size <= self.budget_bytes:
            self.in_memory += size
            return HeldInput(owner=self, size=size, _prepared=prepared)
        try:
            folder = await self._own_folder()
        except OSError as exc:
            return self._kept_over_budget(prepared, size, exc)
        path = folder / f"{next(self._names)}-{secrets.token_hex(4)}.input"
        parts = _parts(prepared)
        writing = asyncio.ensure_future(asyncio.to_thread(_write_parts, path, parts))
        try:
            await asyncio.shield(writing)
        except asyncio.CancelledError:
            # The edit ended meanwhile: the file goes once the thread is done with it.
            writing.add_done_callback(lambda _: _unlink(path))
            raise
        except OSError as exc:
            _unlink(path)
            return self._kept_over_budget(prepared, size, exc)
        self.on_disk += 1
        return HeldInput(
            owner=self, size=size, _shell=_without_bytes(prepared), _lengths=tuple(len(p) for p in parts), _path=path
        )

    def _kept_over_budget(self, prepared: PreparedInput, size: int, exc: OSError) -> HeldInput:
        # A full or read-only disk must not fail members' edits: memory over the budget, logged.
        log.warning("could not write a waiting edit's files to %s (%s); keeping them in memory", self.root, exc)
        self.in_memory += size
        return HeldInput(owner=self, size=size, _prepared=prepared)

    async def _own_folder(self) -> Path:
        async with self._making_folder:
            if self._folder is None:
                self._folder, self._lock_fd = await asyncio.to_thread(_make_own_folder, self.root)
            return self._folder

    async def remove_leftovers(self) -> int:
        """Delete the folders of processes that are gone (a crash, a kill); at start."""
        return await asyncio.to_thread(_remove_leftovers, self.root, self._folder)

    def close(self) -> None:
        """This process's folder goes (every edit has ended by now)."""
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def _make_own_folder(root: Path) -> tuple[Path, int]:
    make_private_dirs(root)
    folder = root / f"{os.getpid()}-{secrets.token_hex(6)}"
    folder.mkdir(mode=0o700)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held for this process's life
    return folder, fd


def _remove_leftovers(root: Path, own: Path | None) -> int:
    removed = 0
    with contextlib.suppress(FileNotFoundError):
        for folder in root.iterdir():
            if folder == own or not folder.is_dir():
                continue
            try:
                fd = os.open(folder / LOCK_NAME, os.O_RDWR)
            except FileNotFoundError:
                fd = None  # a folder made and left before its lock was: nobody owns it
            except OSError:
                continue  # not ours to judge (another user's)
            try:
                if fd is not None:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue  # its process is alive
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
            finally:
                if fd is not None:
                    os.close(fd)
    if removed:
        log.info("removed %d folder(s) of waiting edits' files left by a stopped process", removed)
    return removed


def _write_parts(path: Path, parts: list[bytes]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as out:
        for part in parts:
            out.write(part)


def _read_parts(path: Path, lengths: tuple[int, ...]) -> list[bytes]:
    with open(path, "rb") as file:
        parts = [file.read(n) for n in lengths]
    if [len(p) for p in parts] != list(lengths):
        raise OSError(f"a waiting edit's file {path.name} is shorter than written")
    return parts


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
