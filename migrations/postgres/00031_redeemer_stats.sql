-- The redeemer's aggregate counters: per hour and key only, so that they
-- can never be joined with an order or a payment below that level. An
-- empty key_id collects refusals that name no current key.

-- +goose Up
CREATE TABLE redeemer_stats (
    hour         timestamptz NOT NULL CHECK (hour = date_trunc('hour', hour, 'UTC')),
    key_id       bytea       NOT NULL CHECK (octet_length(key_id) IN (0, 32)),
    redeemed     bigint      NOT NULL DEFAULT 0 CHECK (redeemed >= 0),
    replayed     bigint      NOT NULL DEFAULT 0 CHECK (replayed >= 0),
    double_spend bigint      NOT NULL DEFAULT 0 CHECK (double_spend >= 0),
    invalid      bigint      NOT NULL DEFAULT 0 CHECK (invalid >= 0),
    expired      bigint      NOT NULL DEFAULT 0 CHECK (expired >= 0),
    unknown_key  bigint      NOT NULL DEFAULT 0 CHECK (unknown_key >= 0),
    PRIMARY KEY (hour, key_id)
);

-- +goose Down
DROP TABLE redeemer_stats;
