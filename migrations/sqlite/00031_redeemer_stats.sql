-- The redeemer's aggregate counters: per hour and key only, so that they
-- can never be joined with an order or a payment below that level. An
-- empty key_id collects refusals that name no current key.
-- hour is INTEGER microseconds since the Unix epoch, a whole hour.

-- +goose Up
CREATE TABLE redeemer_stats (
    hour         INTEGER NOT NULL CHECK (hour % 3600000000 = 0),
    key_id       BLOB    NOT NULL CHECK (length(key_id) IN (0, 32)),
    redeemed     INTEGER NOT NULL DEFAULT 0 CHECK (redeemed >= 0),
    replayed     INTEGER NOT NULL DEFAULT 0 CHECK (replayed >= 0),
    double_spend INTEGER NOT NULL DEFAULT 0 CHECK (double_spend >= 0),
    invalid      INTEGER NOT NULL DEFAULT 0 CHECK (invalid >= 0),
    expired      INTEGER NOT NULL DEFAULT 0 CHECK (expired >= 0),
    unknown_key  INTEGER NOT NULL DEFAULT 0 CHECK (unknown_key >= 0),
    PRIMARY KEY (hour, key_id)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE redeemer_stats;
