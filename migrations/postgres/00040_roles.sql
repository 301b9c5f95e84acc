-- Least privilege: one NOLOGIN group role per Blindpass role, with
-- table-level (and, where a table holds a secret, column-level) grants.
-- Operators create LOGIN users that are members of these roles; see
-- docs/operating-db.md. The role that runs the migrations owns every table.
--
--   blindpass_issuer    keys, plans, orders, idempotency, audit_log; never spent_tokens
--   blindpass_redeemer  spent_tokens only (insert, read back, delete) and its partitions
--                       through the two SECURITY DEFINER functions below
--   blindpass_admin     what the console reads: keys' public columns, plans, orders
--                       without secret_hash, audit_log; never sealed private keys,
--                       secret hashes, idempotency bodies or spent_tokens
--
-- CONVENTION for every later migration that creates a table (or view) in
-- this schema: grant it to exactly the roles that need it, in the same
-- migration if its number is above 00040 (or in a migration numbered above
-- 00040 otherwise, because the roles exist only from here on), and add it
-- to the policy in internal/store/postgres/roles_test.go. That test fails
-- for any table the policy does not mention, and for any grant it does not
-- expect.

-- +goose Up

-- Roles are cluster-wide while migrations run per database: create each one
-- only if it is missing, and accept losing the race to a migration of
-- another database on the same server.
-- +goose StatementBegin
DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['blindpass_issuer', 'blindpass_redeemer', 'blindpass_admin'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION
                WHEN duplicate_object OR unique_violation THEN
                    NULL; -- created meanwhile by a migration of another database
                WHEN insufficient_privilege THEN
                    RAISE EXCEPTION 'role % does not exist and % may not create it', r, current_user
                        USING HINT = 'Create the NOLOGIN roles blindpass_issuer, blindpass_redeemer and '
                            'blindpass_admin as a user with CREATEROLE, then migrate again (docs/operating-db.md).';
            END;
        END IF;
    END LOOP;
END
$roles$;
-- +goose StatementEnd

-- Partitions of spent_tokens are created and dropped by these functions,
-- which run as the owner of spent_tokens (the migrating role): the redeemer
-- may call them but owns nothing and cannot alter or drop spent_tokens
-- itself. search_path is pinned to this schema with pg_temp last, so that a
-- caller's temporary table cannot stand in for spent_tokens.
-- +goose StatementBegin
DO $functions$
DECLARE
    path text := format('%I, pg_temp', current_schema());
BEGIN
    EXECUTE format($f$
        CREATE FUNCTION blindpass_prepare_key(key_id bytea) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER
        SET search_path = %s
        SET lock_timeout = '5s'
        AS $body$
        DECLARE
            part text := 'spent_' || left(encode(key_id, 'hex'), 56);
        BEGIN
            IF key_id IS NULL OR octet_length(key_id) = 0 THEN
                RAISE EXCEPTION 'blindpass_prepare_key: empty key id' USING ERRCODE = 'invalid_parameter_value';
            END IF;
            -- Replicas preparing or dropping keys at once take turns.
            PERFORM pg_advisory_xact_lock(7092159436054069249); -- "blindp" 1
            IF EXISTS (SELECT 1 FROM pg_inherits
                       WHERE inhrelid = to_regclass(quote_ident(part)) AND inhparent = 'spent_tokens'::regclass) THEN
                RETURN;
            END IF;
            -- Create, then attach: ATTACH PARTITION takes only a SHARE UPDATE
            -- EXCLUSIVE lock on spent_tokens, so spends under other keys go on.
            EXECUTE format('CREATE TABLE IF NOT EXISTS %%I (LIKE spent_tokens INCLUDING DEFAULTS)', part);
            EXECUTE format('ALTER TABLE spent_tokens ATTACH PARTITION %%I FOR VALUES IN (%%L::bytea)', part, key_id);
        END
        $body$
    $f$, path);

    EXECUTE format($f$
        CREATE FUNCTION blindpass_drop_key(key_id bytea) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER
        SET search_path = %s
        SET lock_timeout = '5s'
        AS $body$
        DECLARE
            part text := 'spent_' || left(encode(key_id, 'hex'), 56);
        BEGIN
            IF key_id IS NULL OR octet_length(key_id) = 0 THEN
                RAISE EXCEPTION 'blindpass_drop_key: empty key id' USING ERRCODE = 'invalid_parameter_value';
            END IF;
            PERFORM pg_advisory_xact_lock(7092159436054069249);
            -- Drop only a partition of spent_tokens, never a table that
            -- merely has the name.
            IF EXISTS (SELECT 1 FROM pg_inherits
                       WHERE inhrelid = to_regclass(quote_ident(part)) AND inhparent = 'spent_tokens'::regclass) THEN
                EXECUTE format('DROP TABLE %%I', part);
            END IF;
        END
        $body$
    $f$, path);
END
$functions$;
-- +goose StatementEnd

-- Functions are executable by PUBLIC unless revoked.
REVOKE ALL ON FUNCTION blindpass_prepare_key(bytea), blindpass_drop_key(bytea) FROM PUBLIC;
REVOKE ALL ON keys, plans, orders, idempotency, audit_log, spent_tokens, goose_db_version FROM PUBLIC;

-- Every role may read the schema version (readiness checks compare it).
GRANT SELECT ON goose_db_version TO blindpass_issuer, blindpass_redeemer, blindpass_admin;

-- Issuer: its own tables, nothing of the redeemer's.
GRANT SELECT, INSERT, UPDATE, DELETE ON keys TO blindpass_issuer;
GRANT SELECT, INSERT, UPDATE ON plans TO blindpass_issuer;
GRANT SELECT, INSERT, UPDATE ON orders TO blindpass_issuer;
GRANT SELECT, INSERT, DELETE ON idempotency TO blindpass_issuer;
GRANT SELECT, INSERT ON audit_log TO blindpass_issuer;

-- Redeemer: the spent set and nothing else. Reads go through the parent
-- table, whose privileges are the ones checked.
GRANT SELECT, INSERT, DELETE ON spent_tokens TO blindpass_redeemer;
GRANT EXECUTE ON FUNCTION blindpass_prepare_key(bytea), blindpass_drop_key(bytea) TO blindpass_redeemer;

-- Admin console: keys without the sealed private key (it may add a key and
-- end issuing, for a forced rotation, but never read a private key back),
-- plans, orders without the secret hash (it may change status and credit,
-- and create orders for vouchers), the audit log.
GRANT SELECT (epoch, id, public_key, not_before, issue_until, redeem_until, created_at) ON keys TO blindpass_admin;
GRANT INSERT ON keys TO blindpass_admin;
GRANT UPDATE (issue_until) ON keys TO blindpass_admin;
GRANT SELECT, INSERT, UPDATE ON plans TO blindpass_admin;
GRANT SELECT (id, plan_id, status, provider, provider_ref, credits_total, credits_issued, created_at, updated_at)
    ON orders TO blindpass_admin;
GRANT INSERT ON orders TO blindpass_admin;
GRANT UPDATE (status, credits_total, updated_at) ON orders TO blindpass_admin;
GRANT SELECT, INSERT ON audit_log TO blindpass_admin;

-- +goose Down
REVOKE ALL ON keys, plans, orders, idempotency, audit_log, spent_tokens, goose_db_version
    FROM blindpass_issuer, blindpass_redeemer, blindpass_admin;
DROP FUNCTION blindpass_drop_key(bytea);
DROP FUNCTION blindpass_prepare_key(bytea);
-- The roles stay: they are shared by every database on the server.
