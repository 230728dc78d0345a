#!/bin/sh
# The official postgres image's contract, for the Debian-built stand-in: a first
# start initialises PGDATA with POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB
# (the database defaults to the user's name).
set -eu
PGDATA=${PGDATA:-/var/lib/postgresql/data}
user=${POSTGRES_USER:-postgres}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pw=$(mktemp)
  printf '%s' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" >"$pw"
  "$bin/initdb" -D "$PGDATA" -U "$user" --pwfile="$pw" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pw"
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  "$bin/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  # initdb makes only "postgres"; POSTGRES_DB defaults to the user's name, as in the official image.
  db=${POSTGRES_DB:-$user}
  if [ "$db" != postgres ]; then "$bin/createdb" -U "$user" "$db"; fi
  "$bin/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec "$bin/postgres" -D "$PGDATA"
