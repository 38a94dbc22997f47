"""The settings every process sharing one database must agree on, and where two disagree.

Several processes on one PostgreSQL database count against the same quotas and caps, but
each reads its own environment: one started with another GLOBAL_DAILY_IMAGE_LIMIT, default
quota or SHARD_COUNT quietly breaks the shared count (a process without the daily limit
does not count its images toward it). Each process writes its values with its `processes`
row (bot/store/postgres.py); every process compares them at its start and at each beat,
and `doctor` whenever it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings

UNSET = "unset"
# Kept as "NAME=value" pairs joined by SEPARATOR, so a row is readable in psql too.
SEPARATOR = "; "


def describe(settings: "Settings") -> str:
    """This process's shared settings as stored in its `processes` row."""
    values = {
        "SHARD_COUNT": settings.shard_count,
        "QUOTA_DEFAULT_LIMIT": settings.quota_default_limit,
        "QUOTA_DEFAULT_PERIOD": settings.quota_default_period,
        "GLOBAL_DAILY_IMAGE_LIMIT": settings.global_daily_image_limit,
        "GLOBAL_SPEND_LIMIT_USD": settings.global_spend_limit_usd,
    }
    if settings.global_spend_limit_usd is not None:
        # The period means nothing without the cap: two processes without one agree.
        values["GLOBAL_SPEND_PERIOD"] = settings.global_spend_period
    return SEPARATOR.join(f"{name}={UNSET if value is None else value}" for name, value in values.items())


def parse(text: str) -> dict[str, str]:
    pairs = (item.partition("=") for item in text.split(SEPARATOR) if "=" in item)
    return {name: value for name, _, value in pairs}


@dataclass(frozen=True)
class Difference:
    name: str
    here: str
    there: str

    def __str__(self) -> str:
        return f"{self.name} {self.there} there, {self.here} here"


def differences(here: str, there: str) -> list[Difference]:
    """What `there` (another process's row) sets differently from `here`; nothing when
    either is empty (a process of a Retouch that did not record them)."""
    if not here or not there:
        return []
    mine, theirs = parse(here), parse(there)
    return [
        Difference(name, mine.get(name, UNSET), theirs.get(name, UNSET))
        for name in dict.fromkeys([*mine, *theirs])
        if mine.get(name, UNSET) != theirs.get(name, UNSET)
    ]


@dataclass(frozen=True)
class OtherProcess:
    """Another live process on the same database, as its `processes` row says."""

    owner: str
    host: str
    pid: int
    shards: str
    settings: str

    @property
    def name(self) -> str:
        return f"{self.host} pid {self.pid} (shards {self.shards})"
