"""Large buffers go back to the operating system when freed.

The bot handles many buffers of several MB (downloaded images, provider answers, files read
back for waiting edits). glibc serves a large allocation with its own mapping at first, but
after the first such free it raises that threshold up to 32 MB, so later 20 MB images come
from its heaps, where a freed block stays counted in the process's memory for as long as
anything after it is in use. On a busy bot that fragmentation alone added ~450 MB to the peak
(bench/memory.py). A fixed threshold keeps every allocation of 1 MiB or more a mapping of its
own, returned when freed; the small objects Python makes by the million are unaffected.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("retouch")

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)
LARGE_BUFFER_BYTES = 1024 * 1024


def return_large_buffers_to_os() -> bool:
    """Set glibc's mmap threshold (fixed, no longer raised); False where there is no glibc
    (musl, macOS): those allocators already behave differently and are left alone."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # glibc only: musl has no mallopt threshold semantics like this
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    if mallopt(M_MMAP_THRESHOLD, LARGE_BUFFER_BYTES) != 1:
        log.debug("mallopt(M_MMAP_THRESHOLD) was refused; large buffers use glibc's default")
        return False
    return True
