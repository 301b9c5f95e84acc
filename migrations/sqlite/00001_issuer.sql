-- The issuer's tables: keys, plans, orders and their credit ledger,
-- idempotent issuance replays, and the audit log.
-- Times are INTEGER microseconds since the Unix epoch (UTC), the same
-- precision as Postgres timestamptz. Booleans are INTEGER 0/1.

-- +goose Up
CREATE TABLE keys (
    epoch              INTEGER PRIMARY KEY,
    id                 BLOB    NOT NULL UNIQUE CHECK (length(id) = 32),
    public_key         BLOB    NOT NULL,
    sealed_private_key BLOB    NOT NULL,
    not_before         INTEGER NOT NULL,
    issue_until        INTEGER NOT NULL,
    redeem_until       INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    CHECK (redeem_until >= issue_until)
) STRICT;

CREATE TABLE plans (
    id           TEXT    PRIMARY KEY NOT NULL CHECK (id <> ''),
    name         TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('pack', 'subscription')),
    tokens       INTEGER NOT NULL CHECK (tokens > 0),
    price        INTEGER NOT NULL CHECK (price >= 0),
    currency     TEXT    NOT NULL CHECK (length(currency) = 3 AND currency GLOB '[a-z][a-z][a-z]'),
    stripe_price TEXT    NOT NULL DEFAULT '',
    retired      INTEGER NOT NULL DEFAULT 0 CHECK (retired IN (0, 1))
) STRICT;

CREATE TABLE orders (
    id             TEXT    PRIMARY KEY NOT NULL CHECK (id <> ''),
    plan_id        TEXT    NOT NULL REFERENCES plans (id),
    secret_hash    BLOB    NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
    status         TEXT    NOT NULL CHECK (status IN ('pending', 'paid', 'frozen', 'refunded', 'expired')),
    provider       TEXT    NOT NULL,
    provider_ref   TEXT    NOT NULL DEFAULT '',
    credits_total  INTEGER NOT NULL DEFAULT 0 CHECK (credits_total >= 0),
    credits_issued INTEGER NOT NULL DEFAULT 0 CHECK (credits_issued >= 0),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    CHECK (credits_issued <= credits_total)
) STRICT;
CREATE INDEX orders_plan_id ON orders (plan_id);
CREATE INDEX orders_created_at ON orders (created_at);

-- One stored issuance per (order, Idempotency-Key), replayed on retries.
CREATE TABLE idempotency (
    order_id     TEXT    NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    key          TEXT    NOT NULL CHECK (key <> ''),
    digest       BLOB    NOT NULL,
    content_type TEXT    NOT NULL,
    body         BLOB    NOT NULL,
    credits      INTEGER NOT NULL CHECK (credits >= 0),
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (order_id, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX idempotency_created_at ON idempotency (created_at);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    subject TEXT    NOT NULL DEFAULT '',
    detail  TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE idempotency;
DROP TABLE orders;
DROP TABLE plans;
DROP TABLE keys;
