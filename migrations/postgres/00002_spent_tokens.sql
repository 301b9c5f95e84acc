-- The redeemer's spent-token set. The primary key (key_id, nonce) is the
-- only source of truth for single use. The table is partitioned by key:
-- the redeemer creates one partition per key (PrepareKey) and drops it
-- when the key passes redeem_until (DropKey), so the set stays bounded.
-- There is no default partition: a token under an unprepared key fails to
-- insert, and the store prepares the key and retries.

-- +goose Up
CREATE TABLE spent_tokens (
    key_id     bytea       NOT NULL,
    nonce      bytea       NOT NULL,
    binding    bytea       NOT NULL DEFAULT ''::bytea,
    spent_hour timestamptz NOT NULL, -- truncated to the hour, nothing finer
    PRIMARY KEY (key_id, nonce)
) PARTITION BY LIST (key_id);

-- +goose Down
DROP TABLE spent_tokens;
