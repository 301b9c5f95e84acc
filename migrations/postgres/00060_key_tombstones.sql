-- Tombstones of retired keys (SECURITY.md, "Tombstones of retired keys").
--
-- When a key's spent tokens are dropped, its id is kept here, in the same
-- transaction as the drop: a redeemer restarted after a database restore or
-- a clock step, whose directory lists the key again, must never accept it
-- (its tokens would spend a second time), and the spend path must never
-- recreate the dropped partition. blindpass_drop_key writes the tombstone;
-- blindpass_prepare_key refuses a tombstoned key with SQLSTATE BP001. Only
-- the key id (public) and the day are kept: nothing about any token.

-- +goose Up
CREATE TABLE retired_keys (
    key_id     bytea PRIMARY KEY CHECK (octet_length(key_id) > 0),
    retired_on date  NOT NULL
);
-- No role reads or writes it directly: the two SECURITY DEFINER functions
-- below (run as the owner) are the only way in.
REVOKE ALL ON retired_keys FROM PUBLIC;

-- +goose StatementBegin
DO $functions$
DECLARE
    path text := format('%I, pg_temp', current_schema());
BEGIN
    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION blindpass_prepare_key(key_id bytea) RETURNS void
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
            PERFORM pg_advisory_xact_lock(7092159436054069249); -- "blindp" 1
            IF EXISTS (SELECT 1 FROM retired_keys r WHERE r.key_id = $1) THEN
                RAISE EXCEPTION 'blindpass_prepare_key: key %% was retired: its spent tokens were dropped',
                    left(encode($1, 'hex'), 16) USING ERRCODE = 'BP001';
            END IF;
            IF EXISTS (SELECT 1 FROM pg_inherits
                       WHERE inhrelid = to_regclass(quote_ident(part)) AND inhparent = 'spent_tokens'::regclass) THEN
                RETURN;
            END IF;
            EXECUTE format('CREATE TABLE IF NOT EXISTS %%I (LIKE spent_tokens INCLUDING DEFAULTS)', part);
            EXECUTE format('ALTER TABLE spent_tokens ATTACH PARTITION %%I FOR VALUES IN (%%L::bytea)', part, key_id);
        END
        $body$
    $f$, path);

    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION blindpass_drop_key(key_id bytea) RETURNS void
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
            INSERT INTO retired_keys (key_id, retired_on) VALUES ($1, current_date) ON CONFLICT DO NOTHING;
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

-- +goose Down
-- +goose StatementBegin
DO $functions$
DECLARE
    path text := format('%I, pg_temp', current_schema());
BEGIN
    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION blindpass_prepare_key(key_id bytea) RETURNS void
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
            PERFORM pg_advisory_xact_lock(7092159436054069249);
            IF EXISTS (SELECT 1 FROM pg_inherits
                       WHERE inhrelid = to_regclass(quote_ident(part)) AND inhparent = 'spent_tokens'::regclass) THEN
                RETURN;
            END IF;
            EXECUTE format('CREATE TABLE IF NOT EXISTS %%I (LIKE spent_tokens INCLUDING DEFAULTS)', part);
            EXECUTE format('ALTER TABLE spent_tokens ATTACH PARTITION %%I FOR VALUES IN (%%L::bytea)', part, key_id);
        END
        $body$
    $f$, path);

    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION blindpass_drop_key(key_id bytea) RETURNS void
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
DROP TABLE retired_keys;
