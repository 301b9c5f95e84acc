-- The admin console: operator accounts, their sessions, one-time login
-- tokens (dev mode), and indexes for the console's lookups.
-- Session ids and login tokens are stored only as SHA-256 hashes.

-- +goose Up
CREATE TABLE admin_users (
    name          text        PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    password_hash text        NOT NULL DEFAULT '', -- PHC argon2id; '' = no password login
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE admin_sessions (
    id_hash      bytea       PRIMARY KEY CHECK (octet_length(id_hash) = 32),
    user_name    text        NOT NULL REFERENCES admin_users (name) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL -- absolute expiry
);
CREATE INDEX admin_sessions_last_seen_at ON admin_sessions (last_seen_at);
CREATE INDEX admin_sessions_expires_at ON admin_sessions (expires_at);

CREATE TABLE admin_login_tokens (
    token_hash bytea       PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    user_name  text        NOT NULL REFERENCES admin_users (name) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

-- Daily issuance (action = 'tokens.issue') and an order's ledger (subject).
CREATE INDEX audit_log_action_at ON audit_log (action, at);
CREATE INDEX audit_log_subject_at ON audit_log (subject, at);
-- Support looks orders up by their payment provider's reference.
CREATE INDEX orders_provider_ref ON orders (provider_ref) WHERE provider_ref <> '';

-- +goose Down
DROP INDEX orders_provider_ref;
DROP INDEX audit_log_subject_at;
DROP INDEX audit_log_action_at;
DROP TABLE admin_login_tokens;
DROP TABLE admin_sessions;
DROP TABLE admin_users;
