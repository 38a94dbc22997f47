-- Retouch schema version 5: a counter that changes whenever a quota rule changes.
--
-- The store keeps each server's rules in memory and resolves a member's limit in
-- Python: doing it in SQL on every reservation was a sixth of a reservation's
-- cost. Every reservation is conditional on this counter still having the value
-- the rules were read at, inside the same statement, so a reservation is always
-- decided by the current rules, even when they are changed from elsewhere
-- (another connection, the sqlite3 shell, a restored table).

CREATE TABLE rules_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);

INSERT INTO rules_version (id, version) VALUES (1, 0);

CREATE TRIGGER guild_defaults_changed_insert AFTER INSERT ON guild_defaults
BEGIN UPDATE rules_version SET version = version + 1; END;
CREATE TRIGGER guild_defaults_changed_update AFTER UPDATE ON guild_defaults
BEGIN UPDATE rules_version SET version = version + 1; END;
CREATE TRIGGER guild_defaults_changed_delete AFTER DELETE ON guild_defaults
BEGIN UPDATE rules_version SET version = version + 1; END;

CREATE TRIGGER role_limits_changed_insert AFTER INSERT ON role_limits
BEGIN UPDATE rules_version SET version = version + 1; END;
CREATE TRIGGER role_limits_changed_update AFTER UPDATE ON role_limits
BEGIN UPDATE rules_version SET version = version + 1; END;
CREATE TRIGGER role_limits_changed_delete AFTER DELETE ON role_limits
BEGIN UPDATE rules_version SET version = version + 1; END;

CREATE TRIGGER user_limits_changed_insert AFTER INSERT ON user_limits
BEGIN UPDATE rules_version SET version = version + 1; END;
CREATE TRIGGER user_limits_changed_update AFTER UPDATE ON user_limits
BEGIN UPDATE rules_version SET version = version + 1; END;
CREATE TRIGGER user_limits_changed_delete AFTER DELETE ON user_limits
BEGIN UPDATE rules_version SET version = version + 1; END;
