-- Retouch schema version 7: moderator controls (per-server settings, blocked words,
-- spend caps in money).
--
-- Money in summaries is kept in whole micro-dollars (INTEGER): sums that are added to
-- and subtracted from on every reservation and settle must not drift the way REAL sums
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
-- counted_since: from when the server's spend was summed into guild_spend_days when the
-- budget was created (the start of the longest period, a month, before that moment).
CREATE TABLE guild_budgets (
    guild_id      INTEGER PRIMARY KEY,
    limit_micros  INTEGER NOT NULL CHECK (limit_micros >= 0),
    period        TEXT    NOT NULL CHECK (period IN ('day', 'week', 'month')),
    counted_since REAL    NOT NULL,
    updated_at    REAL    NOT NULL
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

-- Spend per UTC day across all servers (the bot-wide cap) ...
ALTER TABLE ledger_days ADD COLUMN spend_micros INTEGER NOT NULL DEFAULT 0;

-- ... and per day for each server with a budget (a month is at most 31 rows to sum).
-- Only servers with a budget are summed here: the others pay no extra write per edit.
-- A new budget first sums the server's last month from the ledger; a removed one
-- drops its rows.
CREATE TABLE guild_spend_days (
    guild_id     INTEGER NOT NULL,
    day          INTEGER NOT NULL,
    spend_micros INTEGER NOT NULL,
    PRIMARY KEY (guild_id, day)
) WITHOUT ROWID;

CREATE TRIGGER guild_budgets_count_spend AFTER INSERT ON guild_budgets
BEGIN
    DELETE FROM guild_spend_days WHERE guild_id = NEW.guild_id;
    INSERT INTO guild_spend_days (guild_id, day, spend_micros)
    SELECT guild_id, CAST(created_at / 86400 AS INTEGER), SUM(spend_micros)
      FROM ledger
     WHERE guild_id = NEW.guild_id AND created_at >= NEW.counted_since
     GROUP BY 1, 2
    HAVING SUM(spend_micros) != 0;
END;

CREATE TRIGGER guild_budgets_forget_spend AFTER DELETE ON guild_budgets
BEGIN
    DELETE FROM guild_spend_days WHERE guild_id = OLD.guild_id;
END;

-- The day summaries are maintained inside the statement that changes the ledger, as in
-- version 2; the triggers are rebuilt to carry spend too.
DROP TRIGGER ledger_days_insert;
DROP TRIGGER ledger_days_update;
DROP TRIGGER ledger_days_delete;

CREATE TRIGGER ledger_days_insert AFTER INSERT ON ledger
BEGIN
    INSERT INTO ledger_days (day, images, open_reservations, first_id, spend_micros)
    VALUES (
        CAST(NEW.created_at / 86400 AS INTEGER),
        CASE NEW.status WHEN 'reserved' THEN NEW.images_reserved
                        WHEN 'committed' THEN NEW.images_delivered ELSE 0 END,
        NEW.status = 'reserved',
        NEW.id,
        NEW.spend_micros
    )
    ON CONFLICT (day) DO UPDATE
       SET images = images + excluded.images,
           open_reservations = open_reservations + excluded.open_reservations,
           first_id = MIN(first_id, excluded.first_id),
           spend_micros = spend_micros + excluded.spend_micros;
    INSERT INTO guild_spend_days (guild_id, day, spend_micros)
    SELECT NEW.guild_id, CAST(NEW.created_at / 86400 AS INTEGER), NEW.spend_micros
     WHERE NEW.spend_micros != 0
       AND EXISTS (SELECT 1 FROM guild_budgets WHERE guild_id = NEW.guild_id)
    ON CONFLICT (guild_id, day) DO UPDATE SET spend_micros = spend_micros + excluded.spend_micros;
END;

CREATE TRIGGER ledger_days_update
AFTER UPDATE OF status, images_reserved, images_delivered, cost_usd, cost_reserved_usd ON ledger
BEGIN
    UPDATE ledger_days
       SET images = images
                    - CASE OLD.status WHEN 'reserved' THEN OLD.images_reserved
                                      WHEN 'committed' THEN OLD.images_delivered ELSE 0 END
                    + CASE NEW.status WHEN 'reserved' THEN NEW.images_reserved
                                      WHEN 'committed' THEN NEW.images_delivered ELSE 0 END,
           open_reservations = open_reservations
                               - (OLD.status = 'reserved') + (NEW.status = 'reserved'),
           spend_micros = spend_micros - OLD.spend_micros + NEW.spend_micros
     WHERE day = CAST(OLD.created_at / 86400 AS INTEGER);
    INSERT INTO guild_spend_days (guild_id, day, spend_micros)
    SELECT OLD.guild_id, CAST(OLD.created_at / 86400 AS INTEGER), NEW.spend_micros - OLD.spend_micros
     WHERE NEW.spend_micros != OLD.spend_micros
       AND EXISTS (SELECT 1 FROM guild_budgets WHERE guild_id = OLD.guild_id)
    ON CONFLICT (guild_id, day) DO UPDATE SET spend_micros = spend_micros + excluded.spend_micros;
END;

CREATE TRIGGER ledger_days_delete AFTER DELETE ON ledger
BEGIN
    UPDATE ledger_days
       SET images = images
                    - CASE OLD.status WHEN 'reserved' THEN OLD.images_reserved
                                      WHEN 'committed' THEN OLD.images_delivered ELSE 0 END,
           open_reservations = open_reservations - (OLD.status = 'reserved'),
           spend_micros = spend_micros - OLD.spend_micros
     WHERE day = CAST(OLD.created_at / 86400 AS INTEGER);
    UPDATE guild_spend_days
       SET spend_micros = spend_micros - OLD.spend_micros
     WHERE guild_id = OLD.guild_id AND day = CAST(OLD.created_at / 86400 AS INTEGER);
END;

-- Databases with history: what each row counts so far, by the same rule as the triggers.
UPDATE ledger_days
   SET spend_micros = counted.spend
  FROM (SELECT CAST(created_at / 86400 AS INTEGER) AS day, SUM(spend_micros) AS spend
          FROM ledger
         GROUP BY 1) AS counted
 WHERE ledger_days.day = counted.day;
