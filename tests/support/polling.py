"""The one polling helper of the end-to-end tests.

Prefer waiting on an event. Poll only what has no event to wait on: a fake in another
process, a row another process writes, a file. Every poll is bounded, and a failure says
what was awaited and what was last seen.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Awaitable, Callable

POLL_INTERVAL_SECONDS = 0.02


async def eventually(
    predicate: Callable[[], Any | Awaitable[Any]],
    timeout: float = 10.0,
    *,
    what: str | None = None,
    interval: float = POLL_INTERVAL_SECONDS,
) -> Any:
    """Wait until `predicate()` (plain or async) returns something truthy, and return it.

    Raises AssertionError naming `what` (or the predicate's source) and the last value
    seen when it is still false after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() >= deadline:
            raise AssertionError(f"not true within {timeout:g} s: {what or _describe(predicate)} (last seen: {value!r})")
        await asyncio.sleep(interval)


def _describe(predicate: Callable[..., Any]) -> str:
    try:
        source = inspect.getsource(predicate).strip()
    except (OSError, TypeError):
        return getattr(predicate, "__qualname__", repr(predicate))
    return source if len(source) <= 300 else source[:297] + "…"
