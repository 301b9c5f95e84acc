#!/bin/bash
# Makes deploy/secrets/ for docker-compose.yaml: random database passwords and
# the URL files built from them, the key-encryption key, the stats token, and
# placeholders for the upstream API key and Stripe secrets (replace them).
# Run it once, as root (the files are owned by the users that read them:
# 65532 for blindpassd, 999 for Postgres). It never overwrites a file.
set -euo pipefail
cd "$(dirname "$0")"
if [ "$(id -u)" != 0 ]; then
  echo "make-secrets.sh: run as root (sudo), it sets the owners of the secret files" >&2
  exit 1
fi
umask 077
mkdir -p secrets
rand() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
put() { # name owner content
  if [ -e "secrets/$1" ]; then echo "keep    secrets/$1"; return; fi
  printf '%s\n' "$3" > "secrets/$1"
  chown "$2" "secrets/$1"
  chmod 600 "secrets/$1"
  echo "made    secrets/$1"
}
pwfile() { # name -> the password, made once
  [ -e "secrets/$1" ] || put "$1" 999:999 "$(rand 24)"
  tr -d '\n' < "secrets/$1"
}

put postgres_password 999:999 "$(rand 24)"
owner=$(pwfile db_owner_password)
issuer=$(pwfile issuer_db_password)
redeemer=$(pwfile redeemer_db_password)
admin=$(pwfile admin_db_password)
db="postgres:5432/blindpass?sslmode=disable" # the compose network only; use TLS to a remote database
put owner_database_url 65532:65532 "postgres://blindpass_owner:$owner@$db"
put issuer_database_url 65532:65532 "postgres://issuer_app:$issuer@$db"
put redeemer_database_url 65532:65532 "postgres://redeemer_app:$redeemer@$db"
put admin_database_url 65532:65532 "postgres://admin_app:$admin@$db"
put kek 65532:65532 "$(head -c 32 /dev/urandom | base64)"
put stats_token 65532:65532 "$(rand 32)"
put upstream_api_key 65532:65532 "REPLACE_WITH_YOUR_MODEL_PROVIDER_KEY"
put stripe_secret_key 65532:65532 "REPLACE_WITH_sk_live_or_rk_live"
put stripe_webhook_secret 65532:65532 "REPLACE_WITH_whsec"
echo "Back up secrets/kek apart from the database: without it the issuer's keys cannot be opened."
