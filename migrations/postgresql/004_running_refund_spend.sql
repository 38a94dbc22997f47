-- Retouch PostgreSQL schema version 3 (as SQLite's version 10): a refund whose provider
-- call may be billed still counts.
--
-- A running edit cancelled by its requester, or one that timed out after its upload,
-- gives the member's images back, but the provider may bill the work it started: its
-- estimate keeps counting toward the money caps (spend_micros) until a real bill, if one
-- is ever reported, replaces it. Only these two refund reasons (bot/store/models.py
-- RUNNING_REFUND_REASONS); every other refund counts its bill or nothing, as before.
--
-- PostgreSQL 15 cannot change a generated column's expression: the column is dropped and
-- added again (the triggers' functions read it by name when they run).

ALTER TABLE ledger DROP COLUMN spend_micros;
ALTER TABLE ledger ADD COLUMN spend_micros BIGINT GENERATED ALWAYS AS (
    CAST(ROUND(CAST(CASE status WHEN 'reserved' THEN COALESCE(cost_reserved_usd, 0)
                                WHEN 'committed' THEN COALESCE(cost_usd, cost_reserved_usd, 0)
                                ELSE CASE WHEN refund_reason IN ('cancelled while running', 'timed out while running')
                                          THEN COALESCE(cost_usd, cost_reserved_usd, 0)
                                          ELSE COALESCE(cost_usd, 0) END
                                END * 1000000 AS NUMERIC)) AS BIGINT)
) STORED;

-- The budgets' running totals again, now that earlier running refunds count their
-- estimate (the bot-wide cap's row is rebuilt from the ledger when a bot starts).
UPDATE ledger_days
   SET spend_micros = (SELECT COALESCE(SUM(l.spend_micros), 0) FROM ledger l
                        WHERE l.guild_id = ledger_days.scope
                          AND l.created_at >= ledger_days.period_start * 86400.0
                          AND l.created_at < ledger_days.period_end * 86400.0)
 WHERE day = 9999999 AND scope != -1;
