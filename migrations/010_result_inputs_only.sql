-- Retouch schema version 10: kept results keep only what Discord does not already hold.
--
-- A result's images are in its message on Discord: Edit again reads the chosen one back
-- from the clicked message (its attachments' fresh URLs), so new results keep only the
-- inputs and the mask that Re-roll sends again. Results kept before this version still
-- have their images on disk (edit-1.png, ...): they are read from there until they expire.
--
-- A result whose inputs could not be kept (the disk nearly full, or larger than the whole
-- RESULT_STORAGE_MB bound) still has its row, so its buttons can say why.

ALTER TABLE edit_results ADD COLUMN results_kept INTEGER NOT NULL DEFAULT 1;  -- 1: edit-N files kept too (older results)
ALTER TABLE edit_results ADD COLUMN unkept TEXT;  -- NULL: inputs kept; else why not ('disk_full', 'too_large')
