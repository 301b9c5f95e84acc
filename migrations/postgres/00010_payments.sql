-- Payments: the events payment providers sent (each applied once, in the
-- transaction of its effect; also the console's webhook log) and the
-- provider objects linked to orders (PaymentIntents, subscriptions, paid
-- invoices, charges). Neither holds buyer data: no email, name, card,
-- address or customer id.

-- +goose Up
CREATE TABLE payment_events (
    id       text        PRIMARY KEY CHECK (id <> ''),
    provider text        NOT NULL,
    type     text        NOT NULL,
    outcome  text        NOT NULL DEFAULT '',
    order_id text        NOT NULL DEFAULT '', -- not a foreign key: events may name unknown orders
    at       timestamptz NOT NULL
);
CREATE INDEX payment_events_at ON payment_events (at DESC, id DESC);
CREATE INDEX payment_events_order_id ON payment_events (order_id) WHERE order_id <> '';

CREATE TABLE payment_refs (
    ref        text        PRIMARY KEY CHECK (ref <> ''),
    order_id   text        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    kind       text        NOT NULL CHECK (kind IN ('checkout_session', 'payment_intent', 'subscription', 'invoice', 'charge')),
    credits    bigint      NOT NULL DEFAULT 0 CHECK (credits >= 0),
    ended_at   timestamptz,
    created_at timestamptz NOT NULL
);
CREATE INDEX payment_refs_order_id ON payment_refs (order_id, created_at);

-- +goose Down
DROP TABLE payment_refs;
DROP TABLE payment_events;
