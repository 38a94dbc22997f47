-- Small facts the bot keeps about itself (e.g. the fingerprint of the last
-- global command sync, so restarts don't re-sync an unchanged command set).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
