-- Retouch schema version 8: moderator controls (per-server settings, blocked words,
-- spend caps in money).
--
-- Money in running totals is kept in whole micro-dollars (INTEGER): totals that are added
-- to and subtracted from on every reservation and settle must not drift the way REAL sums
-- would. Ledger rows keep REAL dollars, as cost_usd always was.

-- One row per server that changed a setting; a server without a row has the defaults.
CREATE TABLE server_settings (
    guild_id       INTEGER PRIMARY KEY,
    -- Where every edit, refusal and provider rejection is logged; NULL = no log.
    log_channel_id INTEGER,
    -- JSON array of the model names members may use; NULL = every model the bot offers.
    allowed_models TEXT CHECK (allowed_models IS NULL OR json_valid(allowed_models)),
    -- Most images one edit may ask for (n); NULL = the bot's maximum.
    max_images     INTEGER CHECK (max_images BETWEEN 1 AND 10),
    updated_at     REAL    NOT NULL
);

-- Words and phrases a prompt may not contain. match_key is the normalized form the
-- matcher compares (case-folded, accents folded, spaces collapsed), so "Dragon" and
-- "dragon" are one entry; word is what the moderator typed, for lists and logs.
CREATE TABLE blocked_words (
    guild_id  INTEGER NOT NULL,
    match_key TEXT    NOT NULL,
    word      TEXT    NOT NULL,
    added_by  INTEGER,
    added_at  REAL    NOT NULL,
    PRIMARY KEY (guild_id, match_key)
) WITHOUT ROWID;

-- A server's cap on estimated spend per calendar period (/quota budget).
CREATE TABLE guild_budgets (
    guild_id     INTEGER PRIMARY KEY,
    limit_micros INTEGER NOT NULL CHECK (limit_micros >= 0),
    period       TEXT    NOT NULL CHECK (period IN ('day', 'week', 'month')),
    updated_at   REAL    NOT NULL
);

-- A budget is part of the rules every reservation is decided by: the store caches it
-- with the quota rules and each reservation checks rules_version in the same statement.
CREATE TRIGGER guild_budgets_changed_insert AFTER INSERT ON guild_budgets
BEGIN UPDATE rules_version SET version = version + 1; END;
CREATE TRIGGER guild_budgets_changed_update AFTER UPDATE ON guild_budgets
BEGIN UPDATE rules_version SET version = version + 1; END;
CREATE TRIGGER guild_budgets_changed_delete AFTER DELETE ON guild_budgets
BEGIN UPDATE rules_version SET version = version + 1; END;

-- The estimate held while a row is reserved. What a row counts against the money caps
-- (spend_micros): that estimate while it is reserved; once settled, the provider's billed
-- cost (cost_usd), or, for a delivered edit whose bill is unknown (no usage reported),
-- still the estimate. In whole micro-dollars, computed on read (nothing is stored).
ALTER TABLE ledger ADD COLUMN cost_reserved_usd REAL CHECK (cost_reserved_usd >= 0);
ALTER TABLE ledger ADD COLUMN spend_micros INTEGER GENERATED ALWAYS AS (
    CAST(ROUND(CASE status WHEN 'reserved' THEN COALESCE(cost_reserved_usd, 0)
                           WHEN 'committed' THEN COALESCE(cost_usd, cost_reserved_usd, 0)
                           ELSE COALESCE(cost_usd, 0) END * 1000000) AS INTEGER)
) VIRTUAL;

-- Each money cap keeps a running total of its current period: one "cap row" per cap,
-- scope -1 for the bot-wide cap (GLOBAL_SPEND_LIMIT_USD; the store keeps it while the
-- setting is on) and scope = the server's id for a /quota budget, holding the cap's
-- period, the first day of its current period and the day after it, and the spend of
-- the ledger rows created in it. A reservation checks a cap by reading one row.
--
-- Cap rows live in the day summary (version 2), rebuilt with a second key, scope, under
-- a day number after every real day (9999999). Keyed by day first, the cap rows sort
-- right after today's summary row, on the page every reservation and settle already
-- writes: keeping a cap adds no page to a transaction (the write-ahead log writes whole
-- pages, and an extra page per statement cost a sixth of a reservation). Rows of real
-- days have scope -1, as before, and no period.
DROP TRIGGER ledger_days_insert;
DROP TRIGGER ledger_days_update;
DROP TRIGGER ledger_days_delete;

CREATE TABLE ledger_days_v7 (
    day               INTEGER NOT NULL,   -- whole days since 1970-01-01 UTC; 9999999: cap rows
    scope             INTEGER NOT NULL,   -- -1: every server; else one server's id (cap rows)
    images            INTEGER NOT NULL DEFAULT 0,
    open_reservations INTEGER NOT NULL DEFAULT 0,
    first_id          INTEGER,
    period            TEXT CHECK (period IN ('day', 'week', 'month')),  -- cap rows only
    period_start      INTEGER,   -- cap rows: first day of the current period
    period_end        INTEGER,   -- cap rows: first day of the next period
    spend_micros      INTEGER NOT NULL DEFAULT 0,   -- cap rows: spend in the current period
    PRIMARY KEY (day, scope)
) WITHOUT ROWID;

INSERT INTO ledger_days_v7 (day, scope, images, open_reservations, first_id)
SELECT day, -1, images, open_reservations, first_id FROM ledger_days;

DROP TABLE ledger_days;
ALTER TABLE ledger_days_v7 RENAME TO ledger_days;

-- The calendar periods of a day number d (UTC): the day; its ISO week (1970-01-01 was a
-- Thursday, so Monday is d - (d + 3) % 7); its month (julianday of the 1st, counted
-- from 1970-01-01, which is Julian day 2440587.5).

-- A new budget starts with what the server spent so far in its current period (a
-- budget changing period is summed again); a removed budget drops its cap row.
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

CREATE TRIGGER guild_budgets_cap_delete AFTER DELETE ON guild_budgets
BEGIN
    DELETE FROM ledger_days WHERE day = 9999999 AND scope = OLD.guild_id;
END;

-- Maintained inside the statement that changes the ledger: the day summary as in
-- version 2 ...
CREATE TRIGGER ledger_days_insert AFTER INSERT ON ledger
BEGIN
    INSERT INTO ledger_days (day, scope, images, open_reservations, first_id)
    VALUES (
        CAST(NEW.created_at / 86400 AS INTEGER),
        -1,
        CASE NEW.status WHEN 'reserved' THEN NEW.images_reserved
                        WHEN 'committed' THEN NEW.images_delivered ELSE 0 END,
        NEW.status = 'reserved',
        NEW.id
    )
    ON CONFLICT (day, scope) DO UPDATE
       SET images = images + excluded.images,
           open_reservations = open_reservations + excluded.open_reservations,
           first_id = MIN(first_id, excluded.first_id);
END;

CREATE TRIGGER ledger_days_update AFTER UPDATE OF status, images_reserved, images_delivered ON ledger
BEGIN
    UPDATE ledger_days
       SET images = images
                    - CASE OLD.status WHEN 'reserved' THEN OLD.images_reserved
                                      WHEN 'committed' THEN OLD.images_delivered ELSE 0 END
                    + CASE NEW.status WHEN 'reserved' THEN NEW.images_reserved
                                      WHEN 'committed' THEN NEW.images_delivered ELSE 0 END,
           open_reservations = open_reservations
                               - (OLD.status = 'reserved') + (NEW.status = 'reserved')
     WHERE day = CAST(OLD.created_at / 86400 AS INTEGER) AND scope = -1;
END;

CREATE TRIGGER ledger_days_delete AFTER DELETE ON ledger
BEGIN
    UPDATE ledger_days
       SET images = images
                    - CASE OLD.status WHEN 'reserved' THEN OLD.images_reserved
                                      WHEN 'committed' THEN OLD.images_delivered ELSE 0 END,
           open_reservations = open_reservations - (OLD.status = 'reserved')
     WHERE day = CAST(OLD.created_at / 86400 AS INTEGER) AND scope = -1;
END;

-- ... and the cap rows of the bot and of the row's server, where they exist (the
-- triggers do nothing, at the cost of one lookup, while there is no cap at all). A row
-- created in a cap's current period adds its spend (or the change of it, when it
-- settles); a new row of a later period starts the cap's next period with its own
-- spend; a row of an earlier period changes nothing (that period is over; a row
-- stamped in it after the cap moved on, by a clock set back, is not counted).
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
AFTER UPDATE OF status, images_reserved, images_delivered, cost_usd, cost_reserved_usd ON ledger
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
