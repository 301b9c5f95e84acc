-- Grants for the tables of the payments (00010) and admin console (00030,
-- 00031) migrations, which run before the roles of 00040 exist. See
-- 00040_roles.sql and docs/operating-db.md for the convention.

-- +goose Up
REVOKE ALL ON payment_events, payment_refs, admin_users, admin_sessions, admin_login_tokens, redeemer_stats FROM PUBLIC;

-- Payments are applied by the issuer (webhooks, poll fallback); the console
-- shows the webhook log and looks orders up by provider reference. Neither
-- table holds buyer data.
GRANT SELECT, INSERT, UPDATE ON payment_events, payment_refs TO blindpass_issuer;
GRANT SELECT ON payment_events, payment_refs TO blindpass_admin;

-- Operator accounts, sessions and one-time login tokens: the console's own.
GRANT SELECT, INSERT, UPDATE, DELETE ON admin_users, admin_sessions, admin_login_tokens TO blindpass_admin;

-- The redeemer's aggregate counters (per hour and key): it adds to them,
-- the console reads them.
GRANT SELECT, INSERT, UPDATE ON redeemer_stats TO blindpass_redeemer;
GRANT SELECT ON redeemer_stats TO blindpass_admin;

-- +goose Down
REVOKE ALL ON payment_events, payment_refs, admin_users, admin_sessions, admin_login_tokens, redeemer_stats
    FROM blindpass_issuer, blindpass_redeemer, blindpass_admin;
