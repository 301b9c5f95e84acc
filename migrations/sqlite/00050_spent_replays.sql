-- Replays and undos under the one-token-one-answer rule (see the Postgres migration of the
-- same number): replays served per spend, the replay window of a live binding (erased with
-- the binding once it has passed), and undone spends in the redeemer's counters.

-- +goose Up
ALTER TABLE spent_tokens ADD COLUMN binding_window INTEGER NOT NULL DEFAULT 0;
ALTER TABLE spent_tokens ADD COLUMN replays INTEGER NOT NULL DEFAULT 0;
CREATE INDEX spent_tokens_live_bindings ON spent_tokens (binding_window) WHERE binding_window <> 0;
ALTER TABLE redeemer_stats ADD COLUMN undone INTEGER NOT NULL DEFAULT 0 CHECK (undone >= 0);

-- +goose Down
DROP INDEX spent_tokens_live_bindings;
ALTER TABLE spent_tokens DROP COLUMN replays;
ALTER TABLE spent_tokens DROP COLUMN binding_window;
ALTER TABLE redeemer_stats DROP COLUMN undone;
