-- Retouch schema version 2: a per-UTC-day summary of the ledger.
--
-- One row per day the ledger has rows for:
--   images             images counted that day across all servers (reserved while
--                      open, delivered once committed, nothing once refunded), for
--                      the optional bot-wide daily budget that protects the API
--                      key owner's bill. Moderator resets do not lower it: those
--                      images were still paid for.
--   open_reservations  rows of that day still 'reserved'.
--   first_id           a lower bound of the ids of that day's rows (ids grow with
--                      time), so "rows since day D" and "open rows" are id ranges
--                      of the primary key instead of extra indexes.
-- Summing the day's ledger on every request would grow with traffic, and each
-- extra index is paid on every reservation; this row is maintained by triggers
-- inside the same statement as the ledger change, so both commit or fail together.

CREATE TABLE ledger_days (
    day               INTEGER PRIMARY KEY,   -- whole days since 1970-01-01 UTC
    images            INTEGER NOT NULL,
    open_reservations INTEGER NOT NULL,
    first_id          INTEGER NOT NULL
);

CREATE TRIGGER ledger_days_insert AFTER INSERT ON ledger
BEGIN
    INSERT INTO ledger_days (day, images, open_reservations, first_id)
    VALUES (
        CAST(NEW.created_at / 86400 AS INTEGER),
        CASE NEW.status WHEN 'reserved' THEN NEW.images_reserved
                        WHEN 'committed' THEN NEW.images_delivered ELSE 0 END,
        NEW.status = 'reserved',
        NEW.id
    )
    ON CONFLICT (day) DO UPDATE
       SET images = images + excluded.images,
           open_reservations = open_reservations + excluded.open_reservations,
           first_id = MIN(first_id, excluded.first_id);
END;

-- Settling a row moves its count from "reserved" to "delivered" (or to nothing)
-- on the day the row was created.
CREATE TRIGGER ledger_days_update
AFTER UPDATE OF status, images_reserved, images_delivered ON ledger
BEGIN
    UPDATE ledger_days
       SET images = images
                    - CASE OLD.status WHEN 'reserved' THEN OLD.images_reserved
                                      WHEN 'committed' THEN OLD.images_delivered ELSE 0 END
                    + CASE NEW.status WHEN 'reserved' THEN NEW.images_reserved
                                      WHEN 'committed' THEN NEW.images_delivered ELSE 0 END,
           open_reservations = open_reservations
                               - (OLD.status = 'reserved') + (NEW.status = 'reserved')
     WHERE day = CAST(OLD.created_at / 86400 AS INTEGER);
END;

CREATE TRIGGER ledger_days_delete AFTER DELETE ON ledger
BEGIN
    UPDATE ledger_days
       SET images = images
                    - CASE OLD.status WHEN 'reserved' THEN OLD.images_reserved
                                      WHEN 'committed' THEN OLD.images_delivered ELSE 0 END,
           open_reservations = open_reservations - (OLD.status = 'reserved')
     WHERE day = CAST(OLD.created_at / 86400 AS INTEGER);
END;

-- A row's creation time decides which period and day it counts in; rewriting it
-- would silently move usage between periods, so the ledger refuses.
CREATE TRIGGER ledger_created_at_immutable
BEFORE UPDATE OF created_at ON ledger
WHEN NEW.created_at IS NOT OLD.created_at
BEGIN
    SELECT RAISE(ABORT, 'ledger.created_at cannot be changed');
END;

-- Databases upgraded from version 1 already have history: summarize it.
INSERT INTO ledger_days (day, images, open_reservations, first_id)
SELECT CAST(created_at / 86400 AS INTEGER),
       SUM(CASE status WHEN 'reserved' THEN images_reserved
                       WHEN 'committed' THEN images_delivered ELSE 0 END),
       SUM(status = 'reserved'),
       MIN(id)
  FROM ledger
 GROUP BY 1;
