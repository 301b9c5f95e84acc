-- Tombstones of retired keys (see the Postgres migration of the same number): DropKey
-- records the key id here in the transaction that deletes its spent tokens; PrepareKey
-- and Spend refuse a key found here.

-- +goose Up
CREATE TABLE retired_keys (
    key_id     BLOB    PRIMARY KEY CHECK (length(key_id) > 0),
    retired_on INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE retired_keys;
