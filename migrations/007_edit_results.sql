-- Retouch schema version 7: what result buttons need, kept for RESULT_RETENTION_DAYS.
--
-- One row per delivered edit (its id is the ledger row's id, which the buttons carry
-- in their custom ids). The files themselves (the inputs as sent upstream and the
-- images as delivered) live on disk next to the database, under results/<id>/; this
-- row says which, how big they are, and when they expire. Rows and files are removed
-- together when they expire or when the storage bound needs room (oldest first).

CREATE TABLE edit_results (
    id            INTEGER PRIMARY KEY,  -- = ledger.id of the edit that made it
    guild_id      INTEGER NOT NULL,     -- 0 in direct messages
    channel_id    INTEGER,
    requester_id  INTEGER NOT NULL,
    prompt        TEXT    NOT NULL,     -- needed to re-roll; gone with the row
    options       TEXT    NOT NULL,     -- JSON: model, size, quality, n, output_format, background
    inputs        INTEGER NOT NULL,     -- input images stored (input-1.*, input-2.*, ...)
    has_mask      INTEGER NOT NULL,     -- mask.png stored
    results       TEXT    NOT NULL,     -- JSON list of result file names, in delivery order
    message_ids   TEXT    NOT NULL DEFAULT '[]',  -- JSON list: where the result was posted
    bytes         INTEGER NOT NULL,     -- on disk, for the storage bound
    created_at    REAL    NOT NULL,
    expires_at    REAL    NOT NULL
);

CREATE INDEX edit_results_expiry ON edit_results (expires_at);
