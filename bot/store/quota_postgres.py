"""The quota store's statements that PostgreSQL spells differently from SQLite.

Everything else (rules, usage, commit, refund, reset, the releases) runs there as SQLite
spells it (see bot/store/quota.py); placeholders are rewritten by bot/store/backend.py.
"""

from __future__ import annotations

CAP_ROWS = 9_999_999

# The reservation: one function call (migrations/postgresql/001_initial.sql), which takes
# the member's and the caps' advisory locks, then checks and inserts in a statement of
# its own. Every parameter is typed: NULL means "no such limit".
RESERVE_SQL = """
SELECT retouch_reserve(:guild::bigint, :user::bigint, :model::text, :images::integer, :rule::text,
                       :rule_detail::bigint, :limit::integer, :period::text, :now::float8, :owner::text,
                       :prompt::text, :cost_usd::float8, :rules_version::bigint, :start::float8, :day::integer,
                       :global_limit::integer, :cost::bigint, :budget::bigint, :budget_start::integer,
                       :spend_limit::bigint, :spend_start::integer)
"""

# The bot-wide cap's row, rebuilt from the ledger (see quota._GLOBAL_CAP_SQL); run after
# LOCK TABLE ledger (GLOBAL_CAP_LOCK), so no ledger change of another process falls
# between the sum and the row.
GLOBAL_CAP_SQL = f"""
INSERT INTO ledger_days (day, scope, period, period_start, period_end, spend_micros)
VALUES ({CAP_ROWS}, -1, :period::text, :start::integer, :end::integer,
        (SELECT COALESCE(SUM(spend_micros), 0) FROM ledger
          WHERE id >= COALESCE((SELECT MIN(first_id) FROM ledger_days
                                 WHERE day >= :start::integer AND day < {CAP_ROWS} AND scope BETWEEN -16 AND -1),
                               (SELECT COALESCE(MAX(id), 0) + 1 FROM ledger))
            AND created_at >= :start::integer * 86400.0))
ON CONFLICT (day, scope) DO UPDATE
   SET period = excluded.period, period_start = excluded.period_start,
       period_end = excluded.period_end, spend_micros = excluded.spend_micros
"""

# Changing what the cap rows are computed from (the bot-wide cap's rebuild, a new budget or
# a budget's new period, which sum the ledger in a trigger) waits for every ledger write in
# flight and holds new ones for those few milliseconds: the sum and the running total then
# cannot miss a row another process writes meanwhile. Reads go on.
LEDGER_WRITE_LOCK = "LOCK TABLE ledger IN SHARE ROW EXCLUSIVE MODE"

GLOBAL_CAP_ROW_SQL = f"SELECT period FROM ledger_days WHERE day = {CAP_ROWS} AND scope = -1"

GUILD_SPEND_SQL = """
SELECT COALESCE(SUM(spend_micros), 0)::bigint FROM ledger WHERE guild_id = :guild AND created_at >= :start
"""

TOUCH_SQL = """
UPDATE ledger SET alive_at = :now WHERE id = ANY(:ids::bigint[]) AND status = 'reserved'
"""

# Owners with open reservations other than this process (crash recovery looks at each).
OPEN_OWNERS_SQL = """
SELECT DISTINCT owner FROM ledger
 WHERE status = 'reserved'
   AND id >= (SELECT MIN(first_id) FROM ledger_days WHERE open_reservations > 0)
   AND owner != :owner
"""

RELEASE_OWNERS_SQL = """
UPDATE ledger SET status = 'refunded', images_delivered = 0, refund_reason = :reason, settled_at = :now
 WHERE status = 'reserved'
   AND id >= (SELECT MIN(first_id) FROM ledger_days WHERE open_reservations > 0)
   AND owner = ANY(:owners::text[])
RETURNING id
"""


# A day's images: the sum of its summary slots (migrations/postgresql/001_initial.sql).
DAY_IMAGES = "(SELECT COALESCE(SUM(images), 0) FROM ledger_days WHERE day = :day AND scope BETWEEN -16 AND -1)"
GLOBAL_USAGE_SQL = "SELECT COALESCE(SUM(images), 0) FROM ledger_days WHERE day = :day AND scope BETWEEN -16 AND -1"


def usage_sql(sqlite_usage: str) -> str:
    """quota._USAGE_SQL with the day's images read from the slots."""
    old = "COALESCE((SELECT images FROM ledger_days WHERE day = :day AND scope = -1), 0)"
    assert old in sqlite_usage
    return sqlite_usage.replace(old, DAY_IMAGES)
