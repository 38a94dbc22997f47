"""Usage per day and model over a report's period, for the chart in `/quota report`.

Counted as the report counts (bot/store/usage_reports.py, `report_rows`): images are
delivered images, spend is the provider's billed cost (`cost_usd`) of every row,
refunded ones included. Days are UTC, as the quota periods are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.store.backend import Database
from bot.store.quota_sql import statements


@dataclass(frozen=True, slots=True)
class SeriesSql:
    series: str


SQL = statements(
    SeriesSql,
    {
        "series": """
SELECT {created_day} AS day, model,
       COALESCE(SUM(CASE WHEN status = 'committed' THEN images_delivered END), 0),
       COALESCE(SUM(cost_usd), 0.0)
  FROM ledger
 WHERE guild_id = :guild AND created_at >= :start AND created_at < :end
 GROUP BY day, model
 ORDER BY day, model
""",
    },
)

_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class DayUsage:
    day: date
    model: str
    images: int
    cost_usd: float


async def daily_usage(db: Database, guild_id: int, start: datetime, end: datetime) -> list[DayUsage]:
    """One row per (UTC day, model) with any request in [start, end), oldest first."""
    rows = await db.fetchall(SQL[db.dialect].series, {"guild": guild_id, "start": start.timestamp(), "end": end.timestamp()})
    return [DayUsage(_EPOCH + timedelta(days=int(r[0])), str(r[1]), int(r[2]), float(r[3])) for r in rows]


def days_between(start: datetime, end: datetime) -> list[date]:
    """Every UTC day of [start, end)."""
    first, last = start.astimezone(UTC).date(), (end.astimezone(UTC) - timedelta(microseconds=1)).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
