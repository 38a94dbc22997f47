-- The settings every process sharing this database must agree on (SHARD_COUNT, the default
-- quota, the bot-wide caps), written by each process with its row as "NAME=value; ..."
-- (bot/store/shared_settings.py), so a starting process and `doctor` can say when two
-- disagree. Empty for rows written by an older Retouch.
ALTER TABLE processes ADD COLUMN shared_settings TEXT NOT NULL DEFAULT '';
