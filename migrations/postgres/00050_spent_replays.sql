-- Replays and undos under the one-token-one-answer rule (DESIGN.md, "Spent-token set"):
--   replays         how many exact retries of the spend were served; the redeemer serves at
--                   most max_replays, and an undo is refused once one was served.
--   binding_window  the replay window (unix time / replay_window) the binding was stored in,
--                   0 without a binding. The redeemer erases binding and binding_window once
--                   the window and the next have passed, so neither outlives its use by more
--                   than one sweep; the partial index keeps that sweep to the few live rows.
-- redeemer_stats.undone counts spends the gateway gave back after an upstream failure, so
-- that the console's redeemed count is redeemed - undone.

-- +goose Up
ALTER TABLE spent_tokens
    ADD COLUMN binding_window bigint   NOT NULL DEFAULT 0,
    ADD COLUMN replays        smallint NOT NULL DEFAULT 0;
CREATE INDEX spent_tokens_live_bindings ON spent_tokens (binding_window) WHERE binding_window <> 0;
GRANT UPDATE (binding, binding_window, replays) ON spent_tokens TO blindpass_redeemer;

ALTER TABLE redeemer_stats ADD COLUMN undone bigint NOT NULL DEFAULT 0 CHECK (undone >= 0);

-- +goose Down
ALTER TABLE redeemer_stats DROP COLUMN undone;
REVOKE UPDATE (binding, binding_window, replays) ON spent_tokens FROM blindpass_redeemer;
DROP INDEX spent_tokens_live_bindings;
ALTER TABLE spent_tokens DROP COLUMN replays, DROP COLUMN binding_window;
