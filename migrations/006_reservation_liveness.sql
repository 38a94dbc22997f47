-- Retouch schema version 6: reservations stay open exactly as long as their edit lives.
--
-- alive_at is the last sign of life of the edit holding the reservation: set when it
-- is reserved and refreshed by the running process while the edit waits in the
-- queue, runs and is delivered. Crash recovery releases only rows whose alive_at
-- (or created_at, for rows written before this version) is older than the stale
-- bound, so a long queue can never free quota that a live edit still holds.

ALTER TABLE ledger ADD COLUMN alive_at REAL;
