"""The ledger's SQL, once per database: SQLite's single statements, PostgreSQL's
statements that also keep what a cap reads (see bot/store/ledger.py)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.quota_sql import statements
from bot.store.sql_template import PerDialect


@dataclass(frozen=True, slots=True)
class LedgerSql:
    reserve: str
    reserve_no_caps: str
    commit: str
    commit_plain: str
    late_commit: str
    reserved_images: str
    refund: str
    refund_plain: str
    touch: str
    reset: str
    release_stale: str
    release_abandoned: str


# SQLite's reservation; the money caps' conditions ride along only while one applies
# (fewer values to bind and conditions to test on the common path).
_RESERVE = """
INSERT INTO ledger (guild_id, user_id, model, images_reserved, status, rule, rule_detail,
                    quota_limit, period, created_at, owner, prompt, alive_at, cost_reserved_usd)
SELECT :guild, :user, :model, :images, 'reserved', :rule, :rule_detail,
       :limit, :period, :now, :owner, :prompt, :now, :cost_usd
 WHERE {rules_current}
   AND (:limit = -1
        OR :images + (SELECT COALESCE(SUM({counted}), 0)
                        FROM ledger
                       WHERE guild_id = :guild AND user_id = :user
                         AND created_at >= :start AND reset_at IS NULL)
           <= :limit)
   AND (:global_limit IS NULL OR :images + {day_images} <= :global_limit)
"""
_WITHIN_CAPS = """
   AND (:budget IS NULL OR :cost + {server_cap_spend} <= :budget)
   AND (:spend_limit IS NULL OR :cost + {bot_cap_spend} <= :spend_limit)
"""
_RETURNING_ID = "RETURNING id"

# PostgreSQL's: every parameter typed, NULL meaning "no such limit".
_RESERVE_POSTGRES = """
SELECT retouch_reserve(:guild::bigint, :user::bigint, :model::text, :images::integer, :rule::text,
                       :rule_detail::bigint, :limit::integer, :period::text, :now::float8, :owner::text,
                       :prompt::text, :cost_usd::float8, :rules_version::bigint, :start::float8, :day::integer,
                       :global_limit::integer, :cost::bigint, :budget::bigint, :budget_start::integer,
                       :spend_limit::bigint, :spend_start::integer)
"""
# PostgreSQL's reservation when no cap applies: the member's check and the row, nothing else.
_RESERVE_MEMBER_POSTGRES = """
SELECT retouch_reserve_member(:guild::bigint, :user::bigint, :model::text, :images::integer, :rule::text,
                              :rule_detail::bigint, :limit::integer, :period::text, :now::float8, :owner::text,
                              :prompt::text, :cost_usd::float8, :rules_version::bigint, :start::float8)
"""
# Parameters PostgreSQL's capped reservation takes for the caps that do not apply.
NO_CAPS = {"budget": None, "budget_start": 0, "spend_limit": None, "spend_start": 0, "cost": 0}

_COMMIT = """
UPDATE ledger
   SET status = 'committed', images_delivered = :delivered, input_tokens = :input_tokens,
       output_tokens = :output_tokens, total_tokens = :total_tokens, cost_usd = :cost_usd, settled_at = :now
 WHERE id = :id AND :delivered <= images_reserved
   AND """

# PostgreSQL settles a row and, in the same statement, keeps the cap rows and (for a row
# counted in its day's total: migrations/postgresql/006_ledger_writes_only.sql) this
# connection's slot of the row's day; the row was reserved, so what it counted before is
# its reserved images and its estimate.
_SETTLE_ROW = """
UPDATE ledger
   SET status = {status}, images_delivered = :delivered::integer, {reason}
       input_tokens = :input_tokens::integer, output_tokens = :output_tokens::integer,
       total_tokens = :total_tokens::integer, cost_usd = :cost_usd::float8, settled_at = :now::float8
 WHERE id = :id::bigint AND status = 'reserved' AND :delivered::integer <= images_reserved"""
_SETTLE_POSTGRES = """
WITH settled AS (""" + _SETTLE_ROW + """
    RETURNING id, guild_id, created_at, images_reserved, images_delivered, status, in_day_total,
              retouch_spend('reserved', cost_reserved_usd, NULL, NULL) AS old_spend,
              retouch_spend(status, cost_reserved_usd, cost_usd, refund_reason) AS new_spend
), slot AS (
    INSERT INTO ledger_days AS s (day, scope, images, first_id)
    SELECT retouch_day(created_at), retouch_my_slot(),
           retouch_counted(status, images_reserved, images_delivered) - images_reserved, id
      FROM settled
     WHERE in_day_total AND retouch_counted(status, images_reserved, images_delivered) != images_reserved
    ON CONFLICT (day, scope) DO UPDATE SET images = s.images + excluded.images
), caps AS (
    UPDATE ledger_days c SET spend_micros = c.spend_micros - settled.old_spend + settled.new_spend
      FROM settled
     WHERE c.day = {cap_rows} AND c.scope IN (-1, settled.guild_id) AND settled.new_spend != settled.old_spend
       AND settled.created_at >= c.period_start * 86400.0 AND settled.created_at < c.period_end * 86400.0
)
SELECT id FROM settled
"""
# A row no cap can see (reserved without caps, not in its day's total, and no cap row of the
# bot or its server exists now) settles alone: nothing else to keep. Another row is left as
# it is (no row returned), for the statement above.
_SETTLE_PLAIN_POSTGRES = _SETTLE_ROW + """ AND NOT in_day_total
   AND NOT EXISTS (SELECT 1 FROM ledger_days WHERE day = {cap_rows} AND scope IN (-1, ledger.guild_id))
RETURNING id
"""


def _settling(template: str, status: str) -> str:
    """A settle statement for `status`: 'committed', or 'refunded' with its :reason."""
    reason = "refund_reason = :reason::text," if status == "refunded" else ""
    return template.replace("{status}", f"'{status}'").replace("{reason}", reason)


# The late commit (rare) also settles a row released meanwhile: a function that reads what
# the row counted before; it returns the id, or NULL when nothing was settled.
_LATE_COMMIT_POSTGRES = """
SELECT retouch_settle(:id::bigint, 'committed', :delivered::integer, NULL, :input_tokens::integer,
                      :output_tokens::integer, :total_tokens::integer, :cost_usd::float8, :now::float8, true)
"""

# PostgreSQL's releases: the rows refunded, then the cap rows and (for rows counted in their
# day's total) this connection's slot of each day, all in the same statement. A
# released row was reserved: its images and its estimate stop counting (a stale or
# abandoned refund has no bill).
def _release_postgres(which: str, *, first: str = "") -> str:
    """Refund the open rows `which` selects, keeping the summary and cap rows; `first`:
    common table expressions `which` may read (each ending with a comma)."""
    return f"WITH {first}" + _RELEASE_POSTGRES_TAIL.replace("{which}", which)


_RELEASE_POSTGRES_TAIL = """released AS (
    UPDATE ledger SET status = 'refunded', images_delivered = 0, refund_reason = :reason, settled_at = :now
     WHERE {open_rows} AND {which}
    RETURNING id, guild_id, created_at, images_reserved, cost_reserved_usd, in_day_total
), days AS (
    INSERT INTO ledger_days AS s (day, scope, images, first_id)
    SELECT retouch_day(created_at), retouch_my_slot(), -SUM(images_reserved), MIN(id)
      FROM released WHERE in_day_total GROUP BY 1
    ON CONFLICT (day, scope) DO UPDATE SET images = s.images + excluded.images
), caps AS (
    UPDATE ledger_days c SET spend_micros = c.spend_micros - x.spend
      FROM (SELECT cap.scope, SUM(retouch_spend('reserved', r.cost_reserved_usd, NULL, NULL)) AS spend
              FROM released r
              JOIN ledger_days cap ON cap.day = {cap_rows} AND cap.scope IN (-1, r.guild_id)
                                  AND r.created_at >= cap.period_start * 86400.0 AND r.created_at < cap.period_end * 86400.0
             GROUP BY cap.scope) x
     WHERE c.day = {cap_rows} AND c.scope = x.scope AND x.spend != 0
)
SELECT id FROM released
"""

_COMMIT_SQLITE = _COMMIT + "status = 'reserved'\nRETURNING id"

_REFUND = """
UPDATE ledger SET status = 'refunded', images_delivered = 0, refund_reason = :reason, settled_at = :now,
                  input_tokens = :input_tokens, output_tokens = :output_tokens, total_tokens = :total_tokens,
                  cost_usd = :cost_usd
 WHERE id = :id AND status = 'reserved'
RETURNING id
"""

SQL = statements(
    LedgerSql,
    {
        "reserve": PerDialect(sqlite=_RESERVE + _WITHIN_CAPS + _RETURNING_ID, postgresql=_RESERVE_POSTGRES),
        "reserve_no_caps": PerDialect(sqlite=_RESERVE + _RETURNING_ID, postgresql=_RESERVE_MEMBER_POSTGRES),
        "commit": PerDialect(
            sqlite=_COMMIT_SQLITE,
            postgresql=_settling(_SETTLE_POSTGRES, "committed"),
        ),
        # SQLite keeps everything in its triggers: the plain settles are the same statements.
        "commit_plain": PerDialect(
            sqlite=_COMMIT_SQLITE,
            postgresql=_settling(_SETTLE_PLAIN_POSTGRES, "committed"),
        ),
        # A commit recorded late (from the commit journal, after a restart or a long lock)
        # also settles a row that crash recovery or the stale release refunded meanwhile:
        # the images reached Discord, so they count (never a refund for an image a member got).
        "late_commit": PerDialect(
            sqlite=_COMMIT
            + "(status = 'reserved' OR (status = 'refunded' AND refund_reason IN ({stale_or_abandoned})))\nRETURNING id",
            postgresql=_LATE_COMMIT_POSTGRES,
        ),
        "reserved_images": "SELECT images_reserved FROM ledger WHERE id = ?",
        # A refund gives the images back but keeps what the provider billed, if anything:
        # spend reports and caps must see the real bill even when the member pays nothing.
        "refund": PerDialect(
            sqlite=_REFUND,
            postgresql=_settling(_SETTLE_POSTGRES, "refunded"),
        ),
        "refund_plain": PerDialect(
            sqlite=_REFUND,
            postgresql=_settling(_SETTLE_PLAIN_POSTGRES, "refunded"),
        ),
        # Signs of life for the reservations of edits still alive in this process.
        "touch": "UPDATE ledger SET alive_at = :now WHERE {ids_match} AND status = 'reserved'",
        "reset": """
UPDATE ledger SET reset_at = :now
 WHERE guild_id = :guild AND user_id = :user AND created_at >= :start
   AND reset_at IS NULL AND status != 'refunded' AND {rules_current}
RETURNING {counted}
""",
        "release_stale": PerDialect(
            sqlite="""
UPDATE ledger SET status = 'refunded', images_delivered = 0, refund_reason = :reason, settled_at = :now
 WHERE {open_rows} AND COALESCE(alive_at, created_at) < :cutoff
RETURNING id
""",
            postgresql=_release_postgres("COALESCE(alive_at, created_at) < :cutoff"),
        ),
        "release_abandoned": PerDialect(
            sqlite="""
UPDATE ledger SET status = 'refunded', images_delivered = 0, refund_reason = :reason, settled_at = :now
 WHERE {open_rows} AND owner != :owner
RETURNING id
""",
            # Another process is gone only when nobody holds its liveness lock AND its last
            # beat is older than the bound (bot/store/postgres.py ProcessLiveness): a free
            # lock alone may be a live process's dropped connection. The lock is tried for
            # the length of this statement (transaction scoped), so a process taking its
            # lock back waits for it, and rows are never released under a lock it holds.
            # The release itself is the shared one, which keeps the summary and cap rows.
            postgresql=_release_postgres(
                "owner IN (SELECT owner FROM gone)",
                first="""candidates AS MATERIALIZED (
    SELECT DISTINCT owner FROM ledger WHERE {open_rows} AND owner != :owner
), gone AS MATERIALIZED (
    SELECT c.owner FROM candidates c LEFT JOIN processes p ON p.owner = c.owner
     WHERE (p.last_seen IS NULL OR p.last_seen < :seen_before)
       AND pg_try_advisory_xact_lock(retouch_owner_key(c.owner))
), """,
            ),
        ),
    },
)
