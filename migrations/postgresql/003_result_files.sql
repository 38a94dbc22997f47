-- Retouch PostgreSQL schema version 3: kept results live in the database, so a result's
-- buttons work whichever process receives the click (SQLite schema version 10 has the
-- meanings of the new columns).
--
-- The files a result's buttons need (its inputs as sent upstream and its mask; for
-- results kept before this version, the images as delivered too) are rows of
-- edit_result_files, removed with their result. Results kept before this version have
-- their files on the disk of the process that made them: that process moves them in at
-- its next start; until then they answer as expired elsewhere.

ALTER TABLE edit_results ADD COLUMN results_kept INTEGER NOT NULL DEFAULT 1;
ALTER TABLE edit_results ADD COLUMN unkept TEXT;

CREATE TABLE edit_result_files (
    result_id  BIGINT NOT NULL REFERENCES edit_results (id) ON DELETE CASCADE,
    name       TEXT   NOT NULL,  -- input-1.png, mask.png, (older results) edit-1.png
    data       BYTEA  NOT NULL,
    PRIMARY KEY (result_id, name)
);

-- The storage bound evicts oldest first.
CREATE INDEX edit_results_age ON edit_results (created_at, id);
