-- Retouch schema version 2: images per UTC day across all servers, for the
-- optional bot-wide daily budget that protects the API key owner's bill.
--
-- Summing the whole day's ledger on every request grows with traffic, so the
-- total is kept in a counter that triggers update inside the same statement as
-- the ledger change: a reservation and its counter update commit or fail together.
-- It counts what the ledger counts (reserved images while open, delivered images
-- once committed, nothing once refunded); moderator resets do not lower it,
-- because the images were still paid for.

CREATE TABLE daily_usage (
    day    INTEGER PRIMARY KEY,   -- whole days since 1970-01-01 UTC
    images INTEGER NOT NULL
);

CREATE TRIGGER ledger_daily_usage_insert AFTER INSERT ON ledger
BEGIN
    INSERT INTO daily_usage (day, images)
    VALUES (
        CAST(NEW.created_at / 86400 AS INTEGER),
        CASE NEW.status WHEN 'reserved' THEN NEW.images_reserved
                        WHEN 'committed' THEN NEW.images_delivered ELSE 0 END
    )
    ON CONFLICT (day) DO UPDATE SET images = images + excluded.images;
END;

CREATE TRIGGER ledger_daily_usage_update
AFTER UPDATE OF status, images_reserved, images_delivered, created_at ON ledger
BEGIN
    UPDATE daily_usage
       SET images = images - CASE OLD.status WHEN 'reserved' THEN OLD.images_reserved
                                             WHEN 'committed' THEN OLD.images_delivered ELSE 0 END
     WHERE day = CAST(OLD.created_at / 86400 AS INTEGER);
    INSERT INTO daily_usage (day, images)
    VALUES (
        CAST(NEW.created_at / 86400 AS INTEGER),
        CASE NEW.status WHEN 'reserved' THEN NEW.images_reserved
                        WHEN 'committed' THEN NEW.images_delivered ELSE 0 END
    )
    ON CONFLICT (day) DO UPDATE SET images = images + excluded.images;
END;

CREATE TRIGGER ledger_daily_usage_delete AFTER DELETE ON ledger
BEGIN
    UPDATE daily_usage
       SET images = images - CASE OLD.status WHEN 'reserved' THEN OLD.images_reserved
                                             WHEN 'committed' THEN OLD.images_delivered ELSE 0 END
     WHERE day = CAST(OLD.created_at / 86400 AS INTEGER);
END;

-- Databases upgraded from version 1 already have history: count it.
INSERT INTO daily_usage (day, images)
SELECT CAST(created_at / 86400 AS INTEGER),
       SUM(CASE status WHEN 'reserved' THEN images_reserved
                       WHEN 'committed' THEN images_delivered ELSE 0 END)
  FROM ledger
 GROUP BY 1;
