-- Retouch schema version 3: optional prompt text on ledger rows.
--
-- Prompts are member content; they are stored only when the operator turns the
-- store's store_prompts option on, so the column is nullable and stays NULL by
-- default. Existing rows keep NULL: their prompts were never recorded.

ALTER TABLE ledger ADD COLUMN prompt TEXT;
