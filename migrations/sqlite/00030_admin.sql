-- The admin console: operator accounts, their sessions, one-time login
-- tokens (dev mode), and indexes for the console's lookups.
-- Session ids and login tokens are stored only as SHA-256 hashes.
-- Times are INTEGER microseconds since the Unix epoch (UTC).

-- +goose Up
CREATE TABLE admin_users (
    name          TEXT    PRIMARY KEY NOT NULL
                  CHECK (length(name) BETWEEN 1 AND 64 AND name NOT GLOB '*[^a-z0-9._-]*' AND substr(name, 1, 1) GLOB '[a-z0-9]'),
    password_hash TEXT    NOT NULL DEFAULT '', -- PHC argon2id; '' = no password login
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE admin_sessions (
    id_hash      BLOB    PRIMARY KEY NOT NULL CHECK (length(id_hash) = 32),
    user_name    TEXT    NOT NULL REFERENCES admin_users (name) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL -- absolute expiry
) STRICT, WITHOUT ROWID;
CREATE INDEX admin_sessions_last_seen_at ON admin_sessions (last_seen_at);
CREATE INDEX admin_sessions_expires_at ON admin_sessions (expires_at);
CREATE INDEX admin_sessions_user_name ON admin_sessions (user_name);

CREATE TABLE admin_login_tokens (
    token_hash BLOB    PRIMARY KEY NOT NULL CHECK (length(token_hash) = 32),
    user_name  TEXT    NOT NULL REFERENCES admin_users (name) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX admin_login_tokens_user_name ON admin_login_tokens (user_name);

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
