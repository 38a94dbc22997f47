-- Retouch PostgreSQL schema version 6: a reservation and its settle write the ledger row
-- and nothing else (the same data, the same rules).
--
-- Measured (bench/quota.py): after version 5 a reserve+commit pair still cost the server
-- ~490 us of CPU against ~177 us for two trivial durable statements; writing this
-- connection's day-summary slot in both statements was ~70 us of it, the row's checks
-- ~20 us, a refusal's second round trip and the plpgsql entry shared with capped
-- reservations more. What the day summary was kept for, and where it comes from now:
--   * the open reservations (sweeps, crash recovery) were found from the first ledger id of
--     the oldest day whose summed open_reservations was above 0, so every settle wrote a
--     slot: now ledger_open_from holds an id below which no row is 'reserved', moved up by
--     the sweeps (retouch_advance_open_from); every reservation takes the shared side of
--     one advisory lock, the sweep its exclusive side, so no reservation is half-made (its
--     id drawn, its row not yet visible) while the sweep decides;
--   * the bot's images per UTC day (GLOBAL_DAILY_IMAGE_LIMIT) were summed from every row:
--     now only rows reserved while that limit applies are counted (in_day_total), and a
--     process starting with the limit on first counts the day's rows made without it
--     (retouch_count_day_rows), so the limit is exact again from its first reservation;
--   * the bot-wide spend cap's row, rebuilt at start, found the period's first row from the
--     summary's first_id: it now reads each server's rows of the period by ledger_guild_time
--     (bot/store/spend_caps.py).
-- The reservation without any cap (the common case) is retouch_reserve_member: the member's
-- lock and the check-and-insert, nothing else. open_reservations is no longer kept (0).

ALTER TABLE ledger ADD COLUMN in_day_total BOOLEAN NOT NULL DEFAULT true;  -- every row so far is counted
ALTER TABLE ledger ALTER COLUMN in_day_total SET DEFAULT false;
UPDATE ledger_days SET open_reservations = 0 WHERE open_reservations != 0;

-- ----- the row's checks, without reading them from text at every write --------------------

-- PostgreSQL 15 reads a CHECK constraint's expression from its text and plans it again for
-- every statement that writes the table (ExecConstraints: ~10 us of each reservation and
-- settle here). A domain's check is read once per connection (the type cache), so each
-- column's own rule moves to a domain; the one rule across columns stays a constraint.
CREATE DOMAIN retouch_images AS INTEGER CHECK (VALUE > 0);
CREATE DOMAIN retouch_delivered AS INTEGER CHECK (VALUE >= 0);
CREATE DOMAIN retouch_status AS TEXT CHECK (VALUE IN ('reserved', 'committed', 'refunded'));
CREATE DOMAIN retouch_usd AS DOUBLE PRECISION CHECK (VALUE >= 0);
ALTER TABLE ledger DROP CONSTRAINT ledger_row_check;
ALTER TABLE ledger ALTER COLUMN images_reserved TYPE retouch_images,
                   ALTER COLUMN images_delivered TYPE retouch_delivered,
                   ALTER COLUMN status TYPE retouch_status,
                   ALTER COLUMN cost_reserved_usd TYPE retouch_usd,
                   ADD CONSTRAINT ledger_delivered_check CHECK (images_delivered <= images_reserved);

-- ----- where open reservations can be ------------------------------------------------------

CREATE TABLE ledger_open_from (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    first_id BIGINT NOT NULL  -- no ledger row below this id is 'reserved'
);
INSERT INTO ledger_open_from (id, first_id)
SELECT 1, COALESCE((SELECT MIN(id) FROM ledger WHERE status = 'reserved'), (SELECT COALESCE(MAX(id), 0) + 1 FROM ledger));

-- The advisory lock every reservation holds (shared) while it draws its id and writes its
-- row, and a sweep takes (exclusive) to move ledger_open_from: once granted, every row
-- whose id was drawn is committed or gone, so the sweep's next snapshot sees them all.
CREATE FUNCTION retouch_reserving_key() RETURNS BIGINT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT hashtextextended('retouch-reserving', 0) $$;

-- Called by a sweep, in its own transaction, after pg_advisory_xact_lock(retouch_reserving_key())
-- (bot/store/ledger.py): the first open row's id, or the next id when none is open.
CREATE FUNCTION retouch_advance_open_from() RETURNS BIGINT LANGUAGE sql AS $$
    UPDATE ledger_open_from o
       SET first_id = GREATEST(o.first_id, COALESCE(
               (SELECT MIN(id) FROM ledger WHERE status = 'reserved' AND id >= o.first_id),
               (SELECT COALESCE(MAX(id), 0) + 1 FROM ledger)))
     WHERE o.id = 1
    RETURNING first_id
$$;

-- ----- the reservation without caps ------------------------------------------------------

-- As retouch_reserve's no-cap branch was: the member's lock first, then the check and the
-- insert under a snapshot taken after it. The plan is generic without forcing it: no
-- parameter folds a branch away (an unlimited member takes the other statement).
-- Returns {id} when reserved; {NULL, used, reserved in flight} when the images do not fit
-- (what the refusal says, read under the same lock: no second round trip); NULL when the
-- rules changed (rules_version) or room was freed meanwhile: read the rules, try again.
CREATE FUNCTION retouch_reserve_member(
    p_guild BIGINT, p_user BIGINT, p_model TEXT, p_images INTEGER, p_rule TEXT, p_rule_detail BIGINT,
    p_limit INTEGER, p_period TEXT, p_now DOUBLE PRECISION, p_owner TEXT, p_prompt TEXT,
    p_cost_usd DOUBLE PRECISION, p_rules_version BIGINT, p_start DOUBLE PRECISION
) RETURNS BIGINT[] LANGUAGE plpgsql AS $$
DECLARE
    new_id BIGINT;
    used BIGINT;
    in_flight BIGINT;
    rules_now BIGINT;
BEGIN
    IF p_limit = -1 THEN
        PERFORM pg_advisory_xact_lock_shared(retouch_reserving_key());
        INSERT INTO ledger (guild_id, user_id, model, images_reserved, status, rule, rule_detail,
                            quota_limit, period, created_at, owner, prompt, alive_at, cost_reserved_usd)
        SELECT p_guild, p_user, p_model, p_images, 'reserved', p_rule, p_rule_detail,
               p_limit, p_period, p_now, p_owner, p_prompt, p_now, p_cost_usd
         WHERE (SELECT version FROM rules_version) = p_rules_version
        RETURNING id INTO new_id;
        RETURN CASE WHEN new_id IS NULL THEN NULL ELSE ARRAY[new_id] END;
    END IF;
    -- One statement takes both, in this order (the sweep's lock, then the member's).
    PERFORM pg_advisory_xact_lock_shared(retouch_reserving_key()),
            pg_advisory_xact_lock(hashtextextended('retouch-member:' || p_guild || ':' || p_user, 0));
    INSERT INTO ledger (guild_id, user_id, model, images_reserved, status, rule, rule_detail,
                        quota_limit, period, created_at, owner, prompt, alive_at, cost_reserved_usd)
    SELECT p_guild, p_user, p_model, p_images, 'reserved', p_rule, p_rule_detail,
           p_limit, p_period, p_now, p_owner, p_prompt, p_now, p_cost_usd
     WHERE (SELECT version FROM rules_version) = p_rules_version
       AND p_images + (SELECT COALESCE(SUM(retouch_counted(status, images_reserved, images_delivered)), 0)
                         FROM ledger
                        WHERE guild_id = p_guild AND user_id = p_user
                          AND (user_id, created_at) >= (p_user, p_start) AND reset_at IS NULL)
           <= p_limit
    RETURNING id INTO new_id;
    IF new_id IS NOT NULL THEN
        RETURN ARRAY[new_id];
    END IF;
    SELECT COALESCE(SUM(retouch_counted(status, images_reserved, images_delivered)), 0),
           COALESCE(SUM(images_reserved) FILTER (WHERE status = 'reserved'), 0),
           (SELECT version FROM rules_version)
      INTO used, in_flight, rules_now
      FROM ledger
     WHERE guild_id = p_guild AND user_id = p_user
       AND (user_id, created_at) >= (p_user, p_start) AND reset_at IS NULL;
    IF rules_now != p_rules_version OR p_images + used <= p_limit THEN
        RETURN NULL;
    END IF;
    RETURN ARRAY[NULL, used, in_flight];
END $$;

-- ----- the reservation with a cap --------------------------------------------------------

-- The bot's images per day, the server's budget, the bot's spend cap: as in version 5, plus
-- the shared reserving lock, and the day's total only while the daily image limit applies
-- (the row says so: in_day_total).
CREATE OR REPLACE FUNCTION retouch_reserve(
    p_guild BIGINT, p_user BIGINT, p_model TEXT, p_images INTEGER, p_rule TEXT, p_rule_detail BIGINT,
    p_limit INTEGER, p_period TEXT, p_now DOUBLE PRECISION, p_owner TEXT, p_prompt TEXT,
    p_cost_usd DOUBLE PRECISION, p_rules_version BIGINT, p_start DOUBLE PRECISION, p_day INTEGER,
    p_global_limit INTEGER, p_cost BIGINT, p_budget BIGINT, p_budget_start INTEGER,
    p_spend_limit BIGINT, p_spend_start INTEGER
) RETURNS BIGINT LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    keys BIGINT[] := '{}';
    k BIGINT;
    new_id BIGINT;
    d INTEGER := retouch_day(p_now);
    spend BIGINT := retouch_spend('reserved', p_cost_usd, NULL, NULL);
    counted BOOLEAN := p_global_limit IS NOT NULL;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(retouch_reserving_key());
    IF p_limit != -1 THEN
        keys := keys || hashtextextended('retouch-member:' || p_guild || ':' || p_user, 0);
    END IF;
    IF p_global_limit IS NOT NULL THEN
        keys := keys || hashtextextended('retouch-cap:daily-images', 0);
    END IF;
    IF p_budget IS NOT NULL THEN
        keys := keys || hashtextextended('retouch-cap:budget:' || p_guild, 0);
    END IF;
    IF p_spend_limit IS NOT NULL THEN
        keys := keys || hashtextextended('retouch-cap:spend', 0);
    END IF;
    FOREACH k IN ARRAY (SELECT COALESCE(array_agg(x ORDER BY x), '{}') FROM unnest(keys) AS x) LOOP
        PERFORM pg_advisory_xact_lock(k);
    END LOOP;

    -- One statement: the row, this connection's slot of its day (while counted), the cap rows.
    WITH inserted AS (
        INSERT INTO ledger (guild_id, user_id, model, images_reserved, status, rule, rule_detail,
                            quota_limit, period, created_at, owner, prompt, alive_at, cost_reserved_usd, in_day_total)
        SELECT p_guild, p_user, p_model, p_images, 'reserved', p_rule, p_rule_detail,
               p_limit, p_period, p_now, p_owner, p_prompt, p_now, p_cost_usd, counted
         WHERE (SELECT version FROM rules_version) = p_rules_version
           AND (p_limit = -1
                OR p_images + (SELECT COALESCE(SUM(retouch_counted(status, images_reserved, images_delivered)), 0)
                                 FROM ledger
                                WHERE guild_id = p_guild AND user_id = p_user
                                  AND (user_id, created_at) >= (p_user, p_start) AND reset_at IS NULL)
                   <= p_limit)
           AND (p_global_limit IS NULL
                OR p_images + (SELECT COALESCE(SUM(images), 0) FROM ledger_days WHERE day = p_day AND scope BETWEEN -64 AND -1)
                   <= p_global_limit)
           AND (p_budget IS NULL
                OR p_cost + COALESCE((SELECT CASE WHEN period_start = p_budget_start THEN spend_micros ELSE 0 END
                                        FROM ledger_days WHERE day = 9999999 AND scope = p_guild), 0)
                   <= p_budget)
           AND (p_spend_limit IS NULL
                OR p_cost + COALESCE((SELECT CASE WHEN period_start = p_spend_start THEN spend_micros ELSE 0 END
                                        FROM ledger_days WHERE day = 9999999 AND scope = -1), 0)
                   <= p_spend_limit)
        RETURNING id
    ), slot AS (
        INSERT INTO ledger_days AS s (day, scope, images, first_id)
        SELECT d, retouch_my_slot(), p_images, id FROM inserted WHERE counted
        ON CONFLICT (day, scope) DO UPDATE
           SET images = s.images + excluded.images, first_id = LEAST(s.first_id, excluded.first_id)
    ), caps AS (
        UPDATE ledger_days
           SET spend_micros = CASE WHEN p_now < period_end * 86400.0 THEN spend_micros + spend ELSE spend END,
               period_start = CASE WHEN p_now < period_end * 86400.0 THEN period_start ELSE retouch_period_start(period, d) END,
               period_end = CASE WHEN p_now < period_end * 86400.0 THEN period_end ELSE retouch_period_end(period, d) END
         WHERE day = 9999999 AND scope IN (-1, p_guild)
           AND p_now >= period_start * 86400.0
           AND (spend != 0 OR p_now >= period_end * 86400.0)
           AND EXISTS (SELECT 1 FROM inserted)
    )
    SELECT id INTO new_id FROM inserted;
    RETURN new_id;
END $$;

-- ----- the day's total, for a process starting with the daily image limit ----------------

-- Counts the rows of `p_day` and later made while no daily limit applied, once. Called
-- after pg_advisory_xact_lock(retouch_reserving_key()) in the same transaction, so no
-- reservation is half-made meanwhile. Returns how many rows it counted.
CREATE FUNCTION retouch_count_day_rows(p_day INTEGER) RETURNS BIGINT LANGUAGE sql AS $$
    WITH RECURSIVE guilds (g) AS (
        SELECT MIN(guild_id) FROM ledger
        UNION ALL
        SELECT (SELECT MIN(guild_id) FROM ledger WHERE guild_id > g) FROM guilds WHERE g IS NOT NULL
    ), flagged AS (
        -- Each server's rows of the day by ledger_guild_time, not the whole ledger.
        UPDATE ledger SET in_day_total = true
         WHERE id IN (SELECT day_rows.id
                        FROM guilds, LATERAL (SELECT id FROM ledger
                                               WHERE guild_id = guilds.g AND created_at >= p_day * 86400.0
                                                 AND NOT in_day_total) day_rows
                       WHERE guilds.g IS NOT NULL)
           AND NOT in_day_total
        RETURNING id, created_at, status, images_reserved, images_delivered
    ), days AS (
        INSERT INTO ledger_days AS s (day, scope, images, first_id)
        SELECT retouch_day(created_at), -1, SUM(retouch_counted(status, images_reserved, images_delivered)), MIN(id)
          FROM flagged GROUP BY 1
        ON CONFLICT (day, scope) DO UPDATE
           SET images = s.images + excluded.images, first_id = LEAST(s.first_id, excluded.first_id)
    )
    SELECT COUNT(*) FROM flagged
$$;

-- ----- settling ----------------------------------------------------------------------------

-- The late commit (the commit journal) and the one to call by hand: as in version 5, the
-- day's total kept only for a counted row.
CREATE OR REPLACE FUNCTION retouch_settle(
    p_id BIGINT, p_status TEXT, p_delivered INTEGER, p_reason TEXT, p_input_tokens INTEGER,
    p_output_tokens INTEGER, p_total_tokens INTEGER, p_cost_usd DOUBLE PRECISION, p_now DOUBLE PRECISION,
    p_late BOOLEAN
) RETURNS BIGINT LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    guild BIGINT;
    created DOUBLE PRECISION;
    reserved INTEGER;
    estimate DOUBLE PRECISION;
    counted BOOLEAN;
    old_images INTEGER;
    old_spend BIGINT;
    new_spend BIGINT;
    o RECORD;
BEGIN
    UPDATE ledger
       SET status = p_status, images_delivered = p_delivered,
           refund_reason = CASE WHEN p_status = 'refunded' THEN p_reason ELSE refund_reason END,
           input_tokens = p_input_tokens, output_tokens = p_output_tokens, total_tokens = p_total_tokens,
           cost_usd = p_cost_usd, settled_at = p_now
     WHERE id = p_id AND status = 'reserved' AND p_delivered <= images_reserved
    RETURNING guild_id, created_at, images_reserved, cost_reserved_usd, in_day_total
         INTO guild, created, reserved, estimate, counted;
    IF FOUND THEN
        old_images := reserved;
        old_spend := retouch_spend('reserved', estimate, NULL, NULL);
    ELSIF p_late THEN
        SELECT status, refund_reason, cost_usd, cost_reserved_usd INTO o
          FROM ledger
         WHERE id = p_id AND status = 'refunded' AND refund_reason IN ('stale', 'abandoned')
           AND p_delivered <= images_reserved
           FOR UPDATE;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
        UPDATE ledger
           SET status = p_status, images_delivered = p_delivered,
               refund_reason = CASE WHEN p_status = 'refunded' THEN p_reason ELSE refund_reason END,
               input_tokens = p_input_tokens, output_tokens = p_output_tokens, total_tokens = p_total_tokens,
               cost_usd = p_cost_usd, settled_at = p_now
         WHERE id = p_id
        RETURNING guild_id, created_at, images_reserved, cost_reserved_usd, in_day_total
             INTO guild, created, reserved, estimate, counted;
        old_images := 0;
        old_spend := retouch_spend(o.status, o.cost_reserved_usd, o.cost_usd, o.refund_reason);
    ELSE
        RETURN NULL;
    END IF;

    IF counted THEN
        INSERT INTO ledger_days AS s (day, scope, images, first_id)
        VALUES (retouch_day(created), retouch_my_slot(),
                (CASE WHEN p_status = 'committed' THEN p_delivered ELSE 0 END) - old_images, p_id)
        ON CONFLICT (day, scope) DO UPDATE SET images = s.images + excluded.images;
    END IF;
    new_spend := retouch_spend(p_status, estimate, p_cost_usd, CASE WHEN p_status = 'refunded' THEN p_reason END);
    IF new_spend != old_spend THEN
        UPDATE ledger_days
           SET spend_micros = spend_micros - old_spend + new_spend
         WHERE day = 9999999 AND scope IN (-1, guild)
           AND created >= period_start * 86400.0 AND created < period_end * 86400.0;
    END IF;
    RETURN p_id;
END $$;

-- ----- a deleted row (tests, manual repair) ------------------------------------------------

CREATE OR REPLACE FUNCTION retouch_ledger_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE spend BIGINT := retouch_spend(OLD.status, OLD.cost_reserved_usd, OLD.cost_usd, OLD.refund_reason);
BEGIN
    IF OLD.in_day_total THEN
        INSERT INTO ledger_days AS s (day, scope, images, first_id)
        VALUES (retouch_day(OLD.created_at), retouch_my_slot(),
                -retouch_counted(OLD.status, OLD.images_reserved, OLD.images_delivered), OLD.id)
        ON CONFLICT (day, scope) DO UPDATE SET images = s.images + excluded.images;
    END IF;
    IF spend != 0 THEN
        UPDATE ledger_days
           SET spend_micros = spend_micros - spend
         WHERE day = 9999999 AND scope IN (-1, OLD.guild_id)
           AND OLD.created_at >= period_start * 86400.0 AND OLD.created_at < period_end * 86400.0;
    END IF;
    RETURN NULL;
END $$;

-- ----- rows written by other means (migrate-db's copy) -------------------------------------

-- Every row counted in its day's total again, the cap rows summed, the open rows' bound
-- found again. Takes the ledger's write lock for its transaction.
CREATE OR REPLACE FUNCTION retouch_rebuild_summary() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE ledger IN SHARE ROW EXCLUSIVE MODE;
    UPDATE ledger SET in_day_total = true WHERE NOT in_day_total;
    DELETE FROM ledger_days WHERE day < 9999999;
    INSERT INTO ledger_days (day, scope, images, open_reservations, first_id)
    SELECT retouch_day(created_at), -1, SUM(retouch_counted(status, images_reserved, images_delivered)), 0, MIN(id)
      FROM ledger GROUP BY 1;
    UPDATE ledger_days c
       SET spend_micros = (SELECT COALESCE(SUM(retouch_spend(l.status, l.cost_reserved_usd, l.cost_usd, l.refund_reason)), 0)
                             FROM ledger l
                            WHERE (c.scope = -1 OR l.guild_id = c.scope)
                              AND l.created_at >= c.period_start * 86400.0 AND l.created_at < c.period_end * 86400.0)
     WHERE day = 9999999;
    UPDATE ledger_open_from
       SET first_id = COALESCE((SELECT MIN(id) FROM ledger WHERE status = 'reserved'),
                               (SELECT COALESCE(MAX(id), 0) + 1 FROM ledger));
END $$;
