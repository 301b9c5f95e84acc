#!/bin/bash
# Runs once, when the Postgres container starts with an empty data volume
# (docker-entrypoint-initdb.d). It makes the database and the roles of
# docs/operating-db.md: an owner that migrates, and one login user per
# Blindpass role in the group roles the migrations grant to.
set -euo pipefail
secrets=${SECRETS_DIR:-/run/secrets}
pw() { tr -d '\r\n' < "$secrets/$1"; }

psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v owner_pw="$(pw db_owner_password)" \
  -v issuer_pw="$(pw issuer_db_password)" \
  -v redeemer_pw="$(pw redeemer_db_password)" \
  -v admin_pw="$(pw admin_db_password)" <<'SQL'
CREATE ROLE blindpass_owner LOGIN PASSWORD :'owner_pw';
CREATE ROLE blindpass_issuer NOLOGIN;
CREATE ROLE blindpass_redeemer NOLOGIN;
CREATE ROLE blindpass_admin NOLOGIN;
CREATE ROLE issuer_app LOGIN PASSWORD :'issuer_pw' IN ROLE blindpass_issuer;
CREATE ROLE redeemer_app LOGIN PASSWORD :'redeemer_pw' IN ROLE blindpass_redeemer;
CREATE ROLE admin_app LOGIN PASSWORD :'admin_pw' IN ROLE blindpass_admin;
ALTER ROLE redeemer_app SET statement_timeout = '5s';
ALTER ROLE issuer_app SET statement_timeout = '30s';
CREATE DATABASE blindpass OWNER blindpass_owner;
\connect blindpass
ALTER SCHEMA public OWNER TO blindpass_owner;
SQL
