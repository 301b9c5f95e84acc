-- Postgres grants the payments and admin tables to the Blindpass roles
-- here. SQLite has no users or grants; the number exists in both dialects so
-- their versions match.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
