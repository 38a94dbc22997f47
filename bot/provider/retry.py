"""When and how long to wait before sending an edit again.

Edits are billed and not idempotent, so only attempts the provider certainly did not
process are retried (`ProviderError.retryable`, decided where the error is built):
429 rate_limit_exceeded, 408/502/503/504/520-524, connection failures before a
response; a 500 or a dropped response only with `retry_unsafe`. Never a 4xx rejection
or a billing 429. Backoff is `min(0.5 * 2**k, 8)` seconds with jitter; `retry-after-ms`
then `Retry-After` (seconds or an HTTP date) take precedence, up to `max_retry_after`:
a server asking for longer makes us give up at once rather than hold a member waiting.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .errors import ProviderError


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asks us to wait, from `retry-after-ms` or `Retry-After`."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            ms = float(value)
            if ms >= 0:
                return ms / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
        return seconds if seconds >= 0 else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def parse_should_retry(headers: Mapping[str, str]) -> bool | None:
    value = (headers.get("x-should-retry") or "").strip().lower()
    return {"true": True, "false": False}.get(value)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    retry_unsafe: bool = False
    max_retry_after: float = 60.0
    base_delay: float = 0.5
    max_delay: float = 8.0
    random: Callable[[], float] = field(default=random.random, compare=False)

    def backoff(self, retries_so_far: int) -> float:
        delay = min(self.base_delay * 2**retries_so_far, self.max_delay)
        return delay * (1 - 0.25 * self.random())  # jitter: spread simultaneous retries

    def delay_for(self, error: ProviderError, attempt: int, retries_so_far: int) -> float | None:
        """Seconds to wait before the next attempt, or None to give up with `error`."""
        if not error.retryable or attempt >= self.max_attempts:
            return None
        if error.retry_after is not None:
            if error.retry_after > self.max_retry_after:
                return None
            return error.retry_after
        return self.backoff(retries_so_far)
