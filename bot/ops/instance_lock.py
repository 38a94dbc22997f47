"""One bot process per database, enforced by an OS lock the kernel drops on a crash.

Holding the lock proves no other Retouch is using the database, so every reservation
still open from an earlier process was abandoned by a crash and can be refunded at once.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from bot.private_files import make_private_dirs


class AlreadyRunning(Exception):
    pass


class InstanceLock:
    def __init__(self, database_path: Path) -> None:
        self.path = database_path.with_name(database_path.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        make_private_dirs(self.path.parent)  # the database's folder, made before the database
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunning(
                f"another Retouch process is already using {self.path.with_suffix('')}: stop it first, "
                "or give this one its own DATABASE_PATH"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
