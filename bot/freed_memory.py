"""Freed memory goes back to the operating system after large buffers are let go.

The bot handles many buffers of several MB (downloaded images, provider answers, waiting
edits' files read back). glibc serves those from its heaps once its adaptive threshold has
risen (up to 32 MB), and a freed block in the middle of a heap stays counted in the
process's memory for as long as anything after it is in use: on a busy bot that
fragmentation alone added ~500 MB to the peak (bench/memory.py). `malloc_trim` hands the
whole free pages inside the heaps back; it runs in a worker thread, at most once a second,
a moment after an edit let go of its files, and only while the bot is busy enough that
waiting edits' files go to disk: pages given back are faulted in afresh when reused, which
cost ~16% more CPU per edit on a quiet burst (bench/edit.py). Allocation itself is left as
it is (a lower mmap threshold cost ~25%). Without glibc (musl, macOS) this does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import time
from typing import Callable

log = logging.getLogger("retouch")

# How long after a release the trim runs (the buffers are freed once the edit's frames end),
# and how often at most.
TRIM_DELAY_SECONDS = 0.2
TRIM_INTERVAL_SECONDS = 1.0


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.gnu_get_libc_version  # glibc only
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = (ctypes.c_size_t,)
    trim.restype = ctypes.c_int
    return trim


class FreedMemory:
    """One per process (the edit service's). `released()` after large buffers were let go."""

    def __init__(self) -> None:
        self._trim = _malloc_trim()
        self._last = 0.0
        self._pending: asyncio.Task[None] | None = None

    @property
    def available(self) -> bool:
        return self._trim is not None

    def released(self) -> None:
        """Trim soon (coalesced: one pending trim at a time)."""
        if self._trim is None or (self._pending is not None and not self._pending.done()):
            return
        wait = max(TRIM_DELAY_SECONDS, self._last + TRIM_INTERVAL_SECONDS - time.monotonic())
        self._pending = asyncio.create_task(self._trim_after(wait))

    async def _trim_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self._last = time.monotonic()
        assert self._trim is not None
        try:
            await asyncio.to_thread(self._trim, 0)
        except Exception:  # never worth failing anything for
            log.debug("malloc_trim failed", exc_info=True)

    def close(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
