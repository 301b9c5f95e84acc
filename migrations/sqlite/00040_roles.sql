-- Postgres creates the roles blindpass_issuer, blindpass_redeemer and
-- blindpass_admin with table-level grants in this migration. The embedded
-- SQLite store is one file per role and has no users or grants: nothing to
-- do, but the number exists in both dialects so their versions match.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
