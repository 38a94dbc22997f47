"""The SQL fragments the quota store's statements share, for each database.

The ledger has one row per edit; `ledger_days` keeps a summary row per UTC day (the first
ledger id of the day, its images, open reservations) and the money caps' running totals,
kept inside the statements that change the ledger: by triggers on SQLite (migrations/), by
the statements themselves on PostgreSQL, which keep only what a cap reads (the day's images
while GLOBAL_DAILY_IMAGE_LIMIT applies, the money caps' totals) and find open rows from
ledger_open_from instead (migrations/postgresql/006_ledger_writes_only.sql). The
statements themselves live with the code that runs them
(limit_rules, ledger, spend_caps, usage_reports); `statements()` fills them for both
databases through bot/store/sql_template.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from bot.store.backend import Dialect
from bot.store.models import ABANDONED_REASON, CANCELLED_RUNNING_REASON, STALE_REASON, TIMED_OUT_RUNNING_REASON
from bot.store.sql_template import DIALECTS, PerDialect, build

# The day number under which ledger_days keeps the money caps' running totals (after
# every real day, so they share a page with today's row; see migration 007): scope -1 for
# the bot-wide cap, the server's id for a budget.
CAP_ROWS = 9_999_999

_SHARED = {
    "cap_rows": str(CAP_ROWS),
    # What one ledger row counts against its member's quota.
    "counted": "CASE status WHEN 'reserved' THEN images_reserved WHEN 'committed' THEN images_delivered ELSE 0 END",
    # The rules a statement was given are still the database's (bot/store/limit_rules.py).
    "rules_current": "(SELECT version FROM rules_version) = :rules_version",
    # A cap's running total for its current period (a total of an earlier period, when no
    # edit was made yet in this one, reads as 0).
    "server_cap_spend": (
        "COALESCE((SELECT CASE WHEN period_start = :budget_start THEN spend_micros ELSE 0 END"
        " FROM ledger_days WHERE day = {cap_rows} AND scope = :guild), 0)"
    ),
    "bot_cap_spend": (
        "COALESCE((SELECT CASE WHEN period_start = :spend_start THEN spend_micros ELSE 0 END"
        " FROM ledger_days WHERE day = {cap_rows} AND scope = -1), 0)"
    ),
    "stale_or_abandoned": f"'{STALE_REASON}', '{ABANDONED_REASON}'",
    "cancelled_running": f"'{CANCELLED_RUNNING_REASON}'",
    "timed_out_running": f"'{TIMED_OUT_RUNNING_REASON}'",
}

_DIALECT = {
    "sqlite": {
        # Open rows can only lie at or after the first id of the oldest day that still has
        # open reservations (normally today), so crash recovery reads that id range of the
        # primary key, not the whole ledger, without an index every reservation would keep.
        "open_rows": "status = 'reserved' AND id >= (SELECT MIN(first_id) FROM ledger_days WHERE open_reservations > 0)",
        # What one ledger row counts against the money caps (a generated column).
        "row_spend": "spend_micros",
        # The bot's images per day: one summary row per day.
        "bot_day_rows": "scope = -1",
        "day_images": "COALESCE((SELECT images FROM ledger_days WHERE day = :day AND scope = -1), 0)",
        "ids_match": "id IN (SELECT value FROM json_each(:ids))",
        # A row's UTC day number (created_at is Unix seconds, never negative: CAST
        # truncating is a floor).
        "created_day": "CAST(created_at / 86400 AS INTEGER)",
    },
    "postgresql": {
        # No row below ledger_open_from's id is open: the sweeps move it up (Ledger.release_stale,
        # migrations/postgresql/006_ledger_writes_only.sql), so a settle writes nothing but its row.
        "open_rows": "status = 'reserved' AND id >= (SELECT first_id FROM ledger_open_from)",
        # Computed where it is read (an inlined SQL function), not stored with every write.
        "row_spend": "retouch_spend(status, cost_reserved_usd, cost_usd, refund_reason)",
        # Split into 64 slots, one per connection, so concurrent transactions never wait on
        # one row's lock (migrations/postgresql/005_summary_in_statements.sql); kept only for the rows
        # reserved under GLOBAL_DAILY_IMAGE_LIMIT (006_ledger_writes_only.sql).
        "bot_day_rows": "scope BETWEEN -64 AND -1",
        "day_images": "(SELECT COALESCE(SUM(images), 0) FROM ledger_days WHERE day = :day AND {bot_day_rows})",
        "ids_match": "id = ANY(:ids::bigint[])",
        # Each server's id, one index probe apiece (ledger_guild_time), for statements that read
        # every server's rows of a period by that index instead of the whole ledger: a recursive
        # common table expression `guilds (g)` (the last g is NULL).
        "each_server": (
            "guilds (g) AS (SELECT MIN(guild_id) FROM ledger UNION ALL"
            " SELECT (SELECT MIN(guild_id) FROM ledger WHERE guild_id > g) FROM guilds WHERE g IS NOT NULL)"
        ),
        # PostgreSQL's CAST would round: the schema's own floor.
        "created_day": "retouch_day(created_at)",
    },
}

FRAGMENTS: dict[Dialect, Mapping[str, str]] = {d: {**_SHARED, **_DIALECT[d]} for d in DIALECTS}

S = TypeVar("S")


def statements(cls: type[S], templates: Mapping[str, str | PerDialect]) -> dict[Dialect, S]:
    """`cls` filled for each database, once (at import of the module that runs them)."""
    return {dialect: build(cls, templates, dialect, FRAGMENTS[dialect]) for dialect in DIALECTS}
