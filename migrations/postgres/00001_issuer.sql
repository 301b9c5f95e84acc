-- The issuer's tables: keys, plans, orders and their credit ledger,
-- idempotent issuance replays, and the audit log.

-- +goose Up
CREATE TABLE keys (
    epoch              bigint      PRIMARY KEY,
    id                 bytea       NOT NULL UNIQUE CHECK (octet_length(id) = 32),
    public_key         bytea       NOT NULL,
    sealed_private_key bytea       NOT NULL,
    not_before         timestamptz NOT NULL,
    issue_until        timestamptz NOT NULL,
    redeem_until       timestamptz NOT NULL,
    created_at         timestamptz NOT NULL,
    CHECK (redeem_until >= issue_until)
);

CREATE TABLE plans (
    id           text    PRIMARY KEY CHECK (id <> ''),
    name         text    NOT NULL,
    kind         text    NOT NULL CHECK (kind IN ('pack', 'subscription')),
    tokens       bigint  NOT NULL CHECK (tokens > 0),
    price        bigint  NOT NULL CHECK (price >= 0),
    currency     text    NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
    stripe_price text    NOT NULL DEFAULT '',
    retired      boolean NOT NULL DEFAULT false
);

CREATE TABLE orders (
    id             text        PRIMARY KEY CHECK (id <> ''),
    plan_id        text        NOT NULL REFERENCES plans (id),
    secret_hash    bytea       NOT NULL UNIQUE CHECK (octet_length(secret_hash) = 32),
    status         text        NOT NULL CHECK (status IN ('pending', 'paid', 'frozen', 'refunded', 'expired')),
    provider       text        NOT NULL,
    provider_ref   text        NOT NULL DEFAULT '',
    credits_total  bigint      NOT NULL DEFAULT 0 CHECK (credits_total >= 0),
    credits_issued bigint      NOT NULL DEFAULT 0 CHECK (credits_issued >= 0),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    CHECK (credits_issued <= credits_total)
);
CREATE INDEX orders_plan_id ON orders (plan_id);
CREATE INDEX orders_created_at ON orders (created_at);

-- One stored issuance per (order, Idempotency-Key), replayed on retries.
CREATE TABLE idempotency (
    order_id     text        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    key          text        NOT NULL CHECK (key <> ''),
    digest       bytea       NOT NULL,
    content_type text        NOT NULL,
    body         bytea       NOT NULL,
    credits      bigint      NOT NULL CHECK (credits >= 0),
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (order_id, key)
);
CREATE INDEX idempotency_created_at ON idempotency (created_at);

CREATE TABLE audit_log (
    id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL,
    actor   text        NOT NULL,
    action  text        NOT NULL,
    subject text        NOT NULL DEFAULT '',
    detail  text        NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE idempotency;
DROP TABLE orders;
DROP TABLE plans;
DROP TABLE keys;
