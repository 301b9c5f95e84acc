-- Payments: the events payment providers sent (each applied once, in the
-- transaction of its effect; also the console's webhook log) and the
-- provider objects linked to orders (PaymentIntents, subscriptions, paid
-- invoices, charges). Neither holds buyer data: no email, name, card,
-- address or customer id.
-- Times are INTEGER microseconds since the Unix epoch (UTC); ended_at is
-- NULL while a subscription runs.

-- +goose Up
CREATE TABLE payment_events (
    id       TEXT    PRIMARY KEY NOT NULL CHECK (id <> ''),
    provider TEXT    NOT NULL,
    type     TEXT    NOT NULL,
    outcome  TEXT    NOT NULL DEFAULT '',
    order_id TEXT    NOT NULL DEFAULT '', -- not a foreign key: events may name unknown orders
    at       INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX payment_events_at ON payment_events (at DESC, id DESC);
CREATE INDEX payment_events_order_id ON payment_events (order_id) WHERE order_id <> '';

CREATE TABLE payment_refs (
    ref        TEXT    PRIMARY KEY NOT NULL CHECK (ref <> ''),
    order_id   TEXT    NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('checkout_session', 'payment_intent', 'subscription', 'invoice', 'charge')),
    credits    INTEGER NOT NULL DEFAULT 0 CHECK (credits >= 0),
    ended_at   INTEGER,
    created_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX payment_refs_order_id ON payment_refs (order_id, created_at);

-- +goose Down
DROP TABLE payment_refs;
DROP TABLE payment_events;
