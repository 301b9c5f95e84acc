-- The Postgres migration of the same number grants the issuer's role DELETE on orders,
-- for pruning pending orders; the embedded store has no roles, so nothing changes here.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
