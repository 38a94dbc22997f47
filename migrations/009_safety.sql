-- Retouch schema version 9: content safety (see bot/edits/safety.py, bot/store/strikes.py).

-- /settings safety level: 'off', 'prompts' or 'images'; NULL = the bot's SAFETY_CHECK.
ALTER TABLE server_settings ADD COLUMN safety_level TEXT CHECK (safety_level IN ('off', 'prompts', 'images'));

-- One row per strike: a request the moderation endpoint flagged, or one the image
-- provider's safety system rejected. guild_id 0: direct messages. categories: the flagged
-- category names, comma-separated (never the prompt or the image).
CREATE TABLE safety_strikes (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    source     TEXT    NOT NULL CHECK (source IN ('moderation', 'provider')),
    categories TEXT    NOT NULL DEFAULT '',
    created_at REAL    NOT NULL
);
CREATE INDEX safety_strikes_member ON safety_strikes (guild_id, user_id, created_at);
CREATE INDEX safety_strikes_time ON safety_strikes (guild_id, created_at);

-- A member's pause in one server. Paused while paused_until is later than now; a pause
-- that ended (or was lifted: /quota resume sets paused_until to that moment) stays as a
-- row. counted_from: strikes before it do not count toward the next pause, so a member
-- whose pause ended starts again from zero.
CREATE TABLE safety_pauses (
    guild_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    paused_at    REAL    NOT NULL,
    paused_until REAL    NOT NULL,
    paused_by    INTEGER,            -- the moderator; NULL: strikes paused the member
    counted_from REAL    NOT NULL,
    PRIMARY KEY (guild_id, user_id)
) WITHOUT ROWID;
