-- Retouch PostgreSQL schema version 4: a faster store (the same data, the same rules).
--
-- Measured (bench/quota.py, bench/README.md): per reserve+commit pair the server spent
-- ~860 us of CPU against ~175 us for two trivial statements, and the day-summary rows
-- were the waits. Where it went, and what this version does instead:
--   * the reservation's INSERT was planned again on every call (PL/pgSQL keeps custom plans
--     when they look cheaper than a generic one, and folding "p_limit = -1 OR ..." made
--     them so): the functions now run with plan_cache_mode = force_generic_plan;
--   * the stored generated column spend_micros was rebuilt from its text (stringToNode)
--     for every statement writing the ledger: it is gone; what a row counts against the
--     money caps is retouch_spend(...), an inlined SQL function, computed where it is read;
--   * the day summary and the cap rows were kept by row triggers (a PL/pgSQL call and one
--     to three more statements for every ledger write), on 16 slot rows chosen by ledger
--     id: two transactions on one slot waited for each other's commit flush. The
--     statements that write the ledger now keep the summary themselves, in the same
--     transaction: the reservation (retouch_reserve), a settle (retouch_settle), the
--     releases (their statements in bot/store/ledger.py); and each adds to the slot row of
--     its own connection (by backend pid, 64 slots), so concurrent transactions never
--     share one. A day's figures are the sums over its slots, as before; a slot's own
--     open_reservations may go below 0 (a reservation counted on one connection, settled
--     on another), only a day's sum means anything (bot/store/quota_sql.py open_rows).
-- Rows written outside these statements (migrate-db's copy) are summed once afterwards by
-- retouch_rebuild_summary(). A DELETE (tests, manual repair) keeps the summary through a
-- row trigger, as before; created_at stays unchangeable.

-- ----- what a row counts against the money caps (was the column spend_micros) -----------

CREATE FUNCTION retouch_spend(status TEXT, reserved_usd DOUBLE PRECISION, cost_usd DOUBLE PRECISION, reason TEXT)
RETURNS BIGINT LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CAST(ROUND(CAST(CASE status WHEN 'reserved' THEN COALESCE(reserved_usd, 0)
                                       WHEN 'committed' THEN COALESCE(cost_usd, reserved_usd, 0)
                                       ELSE CASE WHEN reason IN ('cancelled while running', 'timed out while running')
                                                 THEN COALESCE(cost_usd, reserved_usd, 0)
                                                 ELSE COALESCE(cost_usd, 0) END
                                  END * 1000000 AS NUMERIC)) AS BIGINT)
$$;

-- The day-summary slot of this connection.
CREATE FUNCTION retouch_my_slot() RETURNS BIGINT
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT CAST(-1 - pg_backend_pid() % 64 AS BIGINT) $$;

DROP TRIGGER ledger_summary_insert ON ledger;
DROP TRIGGER ledger_summary_update ON ledger;
DROP TRIGGER ledger_summary_delete ON ledger;
DROP FUNCTION retouch_ledger_insert();
DROP FUNCTION retouch_ledger_update();
DROP FUNCTION retouch_ledger_delete();
ALTER TABLE ledger DROP COLUMN spend_micros;

-- ----- the row's checks: one constraint instead of four ------------------------------------

-- PostgreSQL 15 reads each CHECK constraint's expression from its text and plans it for
-- every statement that writes the table (ExecConstraints: 8-13 % of the writes' CPU here).
-- The same four rules as one constraint cost that once. (A NULL part passes, as it did
-- in a constraint of its own.)
ALTER TABLE ledger
    DROP CONSTRAINT ledger_images_reserved_check,
    DROP CONSTRAINT ledger_check,
    DROP CONSTRAINT ledger_status_check,
    DROP CONSTRAINT ledger_cost_reserved_usd_check,
    ADD CONSTRAINT ledger_row_check CHECK (
        images_reserved > 0
        AND (images_delivered IS NULL OR images_delivered BETWEEN 0 AND images_reserved)
        AND status IN ('reserved', 'committed', 'refunded')
        AND (cost_reserved_usd IS NULL OR cost_reserved_usd >= 0));

-- ----- created_at never changes (the summary counts a row under its day) -------------------

CREATE FUNCTION retouch_created_at_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger.created_at cannot be changed';
END $$;

CREATE TRIGGER ledger_created_at_fixed BEFORE UPDATE OF created_at ON ledger
FOR EACH ROW WHEN (NEW.created_at IS DISTINCT FROM OLD.created_at)
EXECUTE FUNCTION retouch_created_at_fixed();

-- ----- a deleted row leaves the summary (rare: tests, manual repair) -----------------------

CREATE FUNCTION retouch_ledger_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE spend BIGINT := retouch_spend(OLD.status, OLD.cost_reserved_usd, OLD.cost_usd, OLD.refund_reason);
BEGIN
    INSERT INTO ledger_days AS s (day, scope, images, open_reservations, first_id)
    VALUES (retouch_day(OLD.created_at), retouch_my_slot(),
            -retouch_counted(OLD.status, OLD.images_reserved, OLD.images_delivered),
            -(CASE WHEN OLD.status = 'reserved' THEN 1 ELSE 0 END), OLD.id)
    ON CONFLICT (day, scope) DO UPDATE
       SET images = s.images + excluded.images,
           open_reservations = s.open_reservations + excluded.open_reservations;
    IF spend != 0 THEN
        UPDATE ledger_days
           SET spend_micros = spend_micros - spend
         WHERE day = 9999999 AND scope IN (-1, OLD.guild_id)
           AND OLD.created_at >= period_start * 86400.0 AND OLD.created_at < period_end * 86400.0;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER ledger_summary_delete AFTER DELETE ON ledger
FOR EACH ROW EXECUTE FUNCTION retouch_ledger_delete();

-- ----- a budget's cap row sums the ledger with retouch_spend ------------------------------

CREATE OR REPLACE FUNCTION retouch_budget_cap() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE d INTEGER;
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM ledger_days WHERE day = 9999999 AND scope = OLD.guild_id;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.period = OLD.period THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM ledger_days WHERE day = 9999999 AND scope = NEW.guild_id;
    END IF;
    d := retouch_day(NEW.updated_at);
    INSERT INTO ledger_days (day, scope, period, period_start, period_end)
    VALUES (9999999, NEW.guild_id, NEW.period, retouch_period_start(NEW.period, d), retouch_period_end(NEW.period, d))
    ON CONFLICT (day, scope) DO NOTHING;
    UPDATE ledger_days
       SET spend_micros = (SELECT COALESCE(SUM(retouch_spend(l.status, l.cost_reserved_usd, l.cost_usd, l.refund_reason)), 0)
                             FROM ledger l
                            WHERE l.guild_id = NEW.guild_id AND l.created_at >= ledger_days.period_start * 86400.0)
     WHERE day = 9999999 AND scope = NEW.guild_id;
    RETURN NULL;
END $$;

-- ----- the reservation ------------------------------------------------------------------

-- The member's period is written (user_id, created_at) >= (p_user, p_start): a generic
-- plan made while the table is small or has no statistics (a new database: the plan then
-- stays for the connection's life) otherwise picks ledger_guild_time and reads every row of
-- the server's period (auto_explain in bench/quota.py's run; perf: the largest part of a
-- reservation's CPU). The row comparison is an index condition only on ledger_member_time.
--
-- As in version 1 (locks first, in key order, then the check-and-insert under a snapshot
-- taken after them), plus the summary: the day's slot of this connection and, while a cap
-- applies, the cap rows of the bot and of the row's server (a row of a later period starts
-- a cap's next period, as the insert trigger did).
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
BEGIN
    IF p_global_limit IS NULL AND p_budget IS NULL AND p_spend_limit IS NULL THEN
        -- No cap applies (the common case): the member's lock, and a statement without
        -- the caps' checks (a generic plan starts every subplan it holds, used or not).
        -- Without a cap setting or a budget there is no cap row to keep: a budget moves
        -- rules_version, which the insert checks, and the bot-wide cap is one setting for
        -- every process.
        IF p_limit != -1 THEN
            PERFORM pg_advisory_xact_lock(hashtextextended('retouch-member:' || p_guild || ':' || p_user, 0));
        END IF;
        WITH inserted AS (
            INSERT INTO ledger (guild_id, user_id, model, images_reserved, status, rule, rule_detail,
                                quota_limit, period, created_at, owner, prompt, alive_at, cost_reserved_usd)
            SELECT p_guild, p_user, p_model, p_images, 'reserved', p_rule, p_rule_detail,
                   p_limit, p_period, p_now, p_owner, p_prompt, p_now, p_cost_usd
             WHERE (SELECT version FROM rules_version) = p_rules_version
               AND (p_limit = -1
                    OR p_images + (SELECT COALESCE(SUM(retouch_counted(status, images_reserved, images_delivered)), 0)
                                     FROM ledger
                                    WHERE guild_id = p_guild AND user_id = p_user
                                      AND (user_id, created_at) >= (p_user, p_start) AND reset_at IS NULL)
                       <= p_limit)
            RETURNING id
        ), slot AS (
            INSERT INTO ledger_days AS s (day, scope, images, open_reservations, first_id)
            SELECT d, retouch_my_slot(), p_images, 1, id FROM inserted
            ON CONFLICT (day, scope) DO UPDATE
               SET images = s.images + excluded.images,
                   open_reservations = s.open_reservations + 1,
                   first_id = LEAST(s.first_id, excluded.first_id)
        )
        SELECT id INTO new_id FROM inserted;
        RETURN new_id;
    ELSE
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
    END IF;

    -- One statement: the row, this connection's slot of its day, the cap rows.
    WITH inserted AS (
        INSERT INTO ledger (guild_id, user_id, model, images_reserved, status, rule, rule_detail,
                            quota_limit, period, created_at, owner, prompt, alive_at, cost_reserved_usd)
        SELECT p_guild, p_user, p_model, p_images, 'reserved', p_rule, p_rule_detail,
               p_limit, p_period, p_now, p_owner, p_prompt, p_now, p_cost_usd
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
        INSERT INTO ledger_days AS s (day, scope, images, open_reservations, first_id)
        SELECT d, retouch_my_slot(), p_images, 1, id FROM inserted
        ON CONFLICT (day, scope) DO UPDATE
           SET images = s.images + excluded.images,
               open_reservations = s.open_reservations + 1,
               first_id = LEAST(s.first_id, excluded.first_id)
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

-- ----- settling ---------------------------------------------------------------------------

-- Commit (p_status 'committed') or refund ('refunded', with p_reason) one reservation, and
-- keep the summary in the same transaction. Settles only a row still 'reserved' (whoever
-- settles first wins); p_late (the commit journal) also settles a row that the stale or
-- abandoned release refunded meanwhile. Returns the id, or NULL when nothing was settled
-- (already settled, or more delivered than reserved). The bot's ordinary commit and refund
-- are the same steps as one statement (bot/store/ledger.py); this function is the late
-- commit's, and the one to call by hand.
CREATE FUNCTION retouch_settle(
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
    old_images INTEGER;
    old_open INTEGER := 1;
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
    RETURNING guild_id, created_at, images_reserved, cost_reserved_usd INTO guild, created, reserved, estimate;
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
        RETURNING guild_id, created_at, images_reserved, cost_reserved_usd INTO guild, created, reserved, estimate;
        old_images := 0;
        old_open := 0;
        old_spend := retouch_spend(o.status, o.cost_reserved_usd, o.cost_usd, o.refund_reason);
    ELSE
        RETURN NULL;
    END IF;

    INSERT INTO ledger_days AS s (day, scope, images, open_reservations, first_id)
    VALUES (retouch_day(created), retouch_my_slot(),
            (CASE WHEN p_status = 'committed' THEN p_delivered ELSE 0 END) - old_images, -old_open, p_id)
    ON CONFLICT (day, scope) DO UPDATE
       SET images = s.images + excluded.images,
           open_reservations = s.open_reservations + excluded.open_reservations;
    new_spend := retouch_spend(p_status, estimate, p_cost_usd, CASE WHEN p_status = 'refunded' THEN p_reason END);
    IF new_spend != old_spend THEN
        UPDATE ledger_days
           SET spend_micros = spend_micros - old_spend + new_spend
         WHERE day = 9999999 AND scope IN (-1, guild)
           AND created >= period_start * 86400.0 AND created < period_end * 86400.0;
    END IF;
    RETURN p_id;
END $$;

-- ----- rows written by other means (migrate-db's copy) -------------------------------------

-- The day summary and the cap rows summed again from the ledger. Takes the ledger's write
-- lock for its transaction: nothing may change the ledger while it sums.
CREATE FUNCTION retouch_rebuild_summary() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE ledger IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM ledger_days WHERE day < 9999999;
    INSERT INTO ledger_days (day, scope, images, open_reservations, first_id)
    SELECT retouch_day(created_at), -1, SUM(retouch_counted(status, images_reserved, images_delivered)),
           COUNT(*) FILTER (WHERE status = 'reserved'), MIN(id)
      FROM ledger GROUP BY 1;
    UPDATE ledger_days c
       SET spend_micros = (SELECT COALESCE(SUM(retouch_spend(l.status, l.cost_reserved_usd, l.cost_usd, l.refund_reason)), 0)
                             FROM ledger l
                            WHERE (c.scope = -1 OR l.guild_id = c.scope)
                              AND l.created_at >= c.period_start * 86400.0 AND l.created_at < c.period_end * 86400.0)
     WHERE day = 9999999;
END $$;
