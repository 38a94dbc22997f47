"""Files only the bot's own user may read.

The database, the commit journal, kept results and backups hold members' ids, usage,
prompts and pictures: each is created 0600, and the folders the bot makes for them 0700,
whatever the umask lets other programs do (other users of a shared host, a web server
serving a home folder). An existing database or folder keeps its mode: an owner may have
opened it to a backup tool on purpose.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO, Any

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def make_private_dirs(path: Path | str) -> None:
    """`path` and each missing parent, created 0700 (`mkdir(parents=True)` would give the
    parents the umask's mode, usually 0755)."""
    missing: list[Path] = []
    folder = Path(path)
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:  # another process made it meanwhile
            if not folder.is_dir():
                raise


def create_private_file(path: Path | str) -> None:
    """An empty file at `path`, 0600, unless one is there already (e.g. the database
    before SQLite opens it: its -wal and -shm files then take the same mode)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return
    os.close(fd)


def open_private(path: Path | str, mode: str = "wb", **kwargs: Any) -> IO[Any]:
    """`open(path, mode)` for writing a new or replaced file that is 0600."""
    if not mode.startswith("w"):
        raise ValueError(f"open_private writes a file anew; mode {mode!r} is not 'w' or 'wb'")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    try:
        with contextlib.suppress(PermissionError):  # another user's file we may write to
            os.fchmod(fd, PRIVATE_FILE)  # a file left over from before would keep its mode
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise


def write_private(path: Path | str, data: bytes) -> None:
    with open_private(path, "wb") as out:
        out.write(data)
