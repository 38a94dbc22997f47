-- Retouch schema version 1: quota rules and the usage ledger.
--
-- Discord ids are snowflakes (< 2^63) and fit SQLite's signed 64-bit INTEGER.
-- guild_id 0 stands for direct messages, which have no guild.
-- Times are UTC Unix seconds (REAL): they come from the store's injectable clock,
-- never from SQLite's own 'now', so tests can move time across period boundaries.
-- Limits: -1 = unlimited, 0 = blocked, otherwise images per period.

CREATE TABLE guild_defaults (
    guild_id    INTEGER PRIMARY KEY,
    quota_limit INTEGER NOT NULL CHECK (quota_limit >= -1),
    period      TEXT    NOT NULL CHECK (period IN ('day', 'week', 'month')),
    updated_at  REAL    NOT NULL
);

CREATE TABLE user_limits (
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    quota_limit INTEGER NOT NULL CHECK (quota_limit >= -1),
    period      TEXT    NOT NULL CHECK (period IN ('day', 'week', 'month')),
    updated_at  REAL    NOT NULL,
    PRIMARY KEY (guild_id, user_id)
) WITHOUT ROWID;

CREATE TABLE role_limits (
    guild_id    INTEGER NOT NULL,
    role_id     INTEGER NOT NULL,
    quota_limit INTEGER NOT NULL CHECK (quota_limit >= -1),
    period      TEXT    NOT NULL CHECK (period IN ('day', 'week', 'month')),
    updated_at  REAL    NOT NULL,
    PRIMARY KEY (guild_id, role_id)
) WITHOUT ROWID;

-- One row per /edit request. Rows are never deleted by the bot: refunds and
-- moderator resets are recorded on the row, so reports and audits stay truthful.
CREATE TABLE ledger (
    id               INTEGER PRIMARY KEY,
    guild_id         INTEGER NOT NULL,
    user_id          INTEGER NOT NULL,
    model            TEXT    NOT NULL,
    images_reserved  INTEGER NOT NULL CHECK (images_reserved > 0),
    -- NULL while reserved; what was actually delivered once committed; 0 when refunded.
    images_delivered INTEGER CHECK (images_delivered BETWEEN 0 AND images_reserved),
    status           TEXT    NOT NULL DEFAULT 'reserved'
                             CHECK (status IN ('reserved', 'committed', 'refunded')),
    refund_reason    TEXT,
    input_tokens     INTEGER,
    output_tokens    INTEGER,
    total_tokens     INTEGER,
    cost_usd         REAL,
    -- The rule that admitted the request, kept for audits ("why was this allowed?").
    rule             TEXT    NOT NULL,
    rule_detail      INTEGER,
    quota_limit      INTEGER NOT NULL,
    period           TEXT    NOT NULL,
    created_at       REAL    NOT NULL,
    settled_at       REAL,
    -- Set by a moderator's /quota reset: the row stays in reports but no longer
    -- counts against the member's quota.
    reset_at         REAL,
    -- Boot id of the process that reserved the row; lets a restarted bot refund
    -- reservations that a dead process left open.
    owner            TEXT    NOT NULL
);

-- Every quota check sums one member's rows since the period start: a range scan
-- that stays short however much history older periods hold.
CREATE INDEX ledger_member_time ON ledger (guild_id, user_id, created_at);

-- Server reports read one guild's rows in one period.
CREATE INDEX ledger_guild_time ON ledger (guild_id, created_at);
