-- The redeemer's spent-token set. The primary key (key_id, nonce) is the
-- only source of truth for single use. One table for every key; dropping a
-- key deletes its rows (key_id leads the primary key, so that is a range
-- delete). spent_keys records the keys prepared with PrepareKey, so that
-- SpentKeys also lists keys that have room but no rows yet.
-- spent_hour is INTEGER microseconds since the Unix epoch, truncated to
-- the hour.

-- +goose Up
CREATE TABLE spent_tokens (
    key_id     BLOB    NOT NULL,
    nonce      BLOB    NOT NULL,
    binding    BLOB    NOT NULL DEFAULT x'',
    spent_hour INTEGER NOT NULL,
    PRIMARY KEY (key_id, nonce)
) STRICT, WITHOUT ROWID;

CREATE TABLE spent_keys (
    key_id BLOB NOT NULL PRIMARY KEY
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE spent_keys;
DROP TABLE spent_tokens;
