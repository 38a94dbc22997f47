-- Retouch schema version 10: a refund whose provider call may be billed still counts.
--
-- A running edit cancelled by its requester, or one that timed out after its upload,
-- gives the member's images back, but the provider may bill the work it started: its
-- estimate keeps counting toward the money caps (spend_micros) until a real bill, if one
-- is ever reported, replaces it. Only these two refund reasons (bot/store/models.py
-- RUNNING_REFUND_REASONS); every other refund counts its bill or nothing, as before.
--
-- SQLite cannot change a generated column's expression: the column is dropped and added
-- again, and the triggers that read it are dropped first and made again as in version 8
-- (the update trigger also watches refund_reason, which the spend now depends on).

DROP TRIGGER ledger_caps_insert;
DROP TRIGGER ledger_caps_update;
DROP TRIGGER ledger_caps_delete;
DROP TRIGGER guild_budgets_cap_insert;
DROP TRIGGER guild_budgets_cap_period;

ALTER TABLE ledger DROP COLUMN spend_micros;
ALTER TABLE ledger ADD COLUMN spend_micros INTEGER GENERATED ALWAYS AS (
    CAST(ROUND(CASE status WHEN 'reserved' THEN COALESCE(cost_reserved_usd, 0)
                           WHEN 'committed' THEN COALESCE(cost_usd, cost_reserved_usd, 0)
                           ELSE CASE WHEN refund_reason IN ('cancelled while running', 'timed out while running')
                                     THEN COALESCE(cost_usd, cost_reserved_usd, 0)
                                     ELSE COALESCE(cost_usd, 0) END
                           END * 1000000) AS INTEGER)
) VIRTUAL;

CREATE TRIGGER guild_budgets_cap_insert AFTER INSERT ON guild_budgets
BEGIN
    INSERT INTO ledger_days (day, scope, period, period_start, period_end)
    SELECT 9999999, NEW.guild_id, NEW.period,
           CASE NEW.period
               WHEN 'day' THEN d
               WHEN 'week' THEN d - (d + 3) % 7
               ELSE CAST(julianday(d * 86400, 'unixepoch', 'start of month') - 2440587.5 AS INTEGER) END,
           CASE NEW.period
               WHEN 'day' THEN d + 1
               WHEN 'week' THEN d - (d + 3) % 7 + 7
               ELSE CAST(julianday(d * 86400, 'unixepoch', 'start of month', '+1 month') - 2440587.5 AS INTEGER) END
      FROM (SELECT CAST(NEW.updated_at / 86400 AS INTEGER) AS d)
     WHERE true
    ON CONFLICT (day, scope) DO NOTHING;
    UPDATE ledger_days
       SET spend_micros = (SELECT COALESCE(SUM(spend_micros), 0) FROM ledger
                            WHERE guild_id = NEW.guild_id AND created_at >= ledger_days.period_start * 86400)
     WHERE day = 9999999 AND scope = NEW.guild_id;
END;

CREATE TRIGGER guild_budgets_cap_period AFTER UPDATE OF period ON guild_budgets
WHEN NEW.period != OLD.period
BEGIN
    DELETE FROM ledger_days WHERE day = 9999999 AND scope = NEW.guild_id;
    INSERT INTO ledger_days (day, scope, period, period_start, period_end)
    SELECT 9999999, NEW.guild_id, NEW.period,
           CASE NEW.period
               WHEN 'day' THEN d
               WHEN 'week' THEN d - (d + 3) % 7
               ELSE CAST(julianday(d * 86400, 'unixepoch', 'start of month') - 2440587.5 AS INTEGER) END,
           CASE NEW.period
               WHEN 'day' THEN d + 1
               WHEN 'week' THEN d - (d + 3) % 7 + 7
               ELSE CAST(julianday(d * 86400, 'unixepoch', 'start of month', '+1 month') - 2440587.5 AS INTEGER) END
      FROM (SELECT CAST(NEW.updated_at / 86400 AS INTEGER) AS d);
    UPDATE ledger_days
       SET spend_micros = (SELECT COALESCE(SUM(spend_micros), 0) FROM ledger
                            WHERE guild_id = NEW.guild_id AND created_at >= ledger_days.period_start * 86400)
     WHERE day = 9999999 AND scope = NEW.guild_id;
END;

CREATE TRIGGER ledger_caps_insert AFTER INSERT ON ledger
WHEN EXISTS (SELECT 1 FROM ledger_days WHERE day = 9999999)
BEGIN
    -- (All SET expressions read the cap row as it was before this UPDATE.)
    UPDATE ledger_days
       SET spend_micros = CASE WHEN NEW.created_at < period_end * 86400
                               THEN spend_micros + NEW.spend_micros ELSE NEW.spend_micros END,
           period_start = CASE WHEN NEW.created_at < period_end * 86400 THEN period_start
               WHEN period = 'day' THEN CAST(NEW.created_at / 86400 AS INTEGER)
               WHEN period = 'week' THEN CAST(NEW.created_at / 86400 AS INTEGER)
                                         - (CAST(NEW.created_at / 86400 AS INTEGER) + 3) % 7
               ELSE CAST(julianday(NEW.created_at, 'unixepoch', 'start of month') - 2440587.5 AS INTEGER) END,
           period_end = CASE WHEN NEW.created_at < period_end * 86400 THEN period_end
               WHEN period = 'day' THEN CAST(NEW.created_at / 86400 AS INTEGER) + 1
               WHEN period = 'week' THEN CAST(NEW.created_at / 86400 AS INTEGER)
                                       - (CAST(NEW.created_at / 86400 AS INTEGER) + 3) % 7 + 7
               ELSE CAST(julianday(NEW.created_at, 'unixepoch', 'start of month', '+1 month') - 2440587.5 AS INTEGER) END
     WHERE day = 9999999 AND scope IN (-1, NEW.guild_id)
       AND NEW.created_at >= period_start * 86400
       AND (NEW.spend_micros != 0 OR NEW.created_at >= period_end * 86400);
END;

CREATE TRIGGER ledger_caps_update
AFTER UPDATE OF status, images_reserved, images_delivered, cost_usd, cost_reserved_usd, refund_reason ON ledger
WHEN NEW.spend_micros != OLD.spend_micros AND EXISTS (SELECT 1 FROM ledger_days WHERE day = 9999999)
BEGIN
    UPDATE ledger_days
       SET spend_micros = spend_micros - OLD.spend_micros + NEW.spend_micros
     WHERE day = 9999999 AND scope IN (-1, OLD.guild_id)
       AND OLD.created_at >= period_start * 86400 AND OLD.created_at < period_end * 86400;
END;

CREATE TRIGGER ledger_caps_delete AFTER DELETE ON ledger
WHEN OLD.spend_micros != 0 AND EXISTS (SELECT 1 FROM ledger_days WHERE day = 9999999)
BEGIN
    UPDATE ledger_days
       SET spend_micros = spend_micros - OLD.spend_micros
     WHERE day = 9999999 AND scope IN (-1, OLD.guild_id)
       AND OLD.created_at >= period_start * 86400 AND OLD.created_at < period_end * 86400;
END;

-- The budgets' running totals again, now that earlier running refunds count their
-- estimate (the bot-wide cap's row is rebuilt from the ledger when the bot starts).
UPDATE ledger_days
   SET spend_micros = (SELECT COALESCE(SUM(spend_micros), 0) FROM ledger
                        WHERE guild_id = ledger_days.scope
                          AND created_at >= ledger_days.period_start * 86400
                          AND created_at < ledger_days.period_end * 86400)
 WHERE day = 9999999 AND scope != -1;
