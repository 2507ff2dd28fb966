#!/bin/sh
# Creates or upgrades Temporal's PostgreSQL schemas (the main store and the visibility store), as the deprecated
# auto-setup image did on every start. Safe to run again: an existing database is kept, and update-schema only
# applies the versions a database lacks. Runs in temporalio/admin-tools (temporal-sql-tool, nc, schema files).
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
PORT="${DB_PORT:-5432}"
SCHEMA=/etc/temporal/schema/postgresql/v12

echo "waiting for PostgreSQL at ${POSTGRES_SEEDS}:${PORT}"
until nc -z "$POSTGRES_SEEDS" "$PORT"; do sleep 1; done

for db in temporal temporal_visibility; do
  dir=temporal
  [ "$db" = temporal_visibility ] && dir=visibility
  sql() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$PORT" -u "$POSTGRES_USER" --db "$db" "$@"; }
  # create-database fails when the database exists: that is the normal case on every start after the first.
  sql create-database 2>/dev/null || echo "database $db exists"
  sql setup-schema -v 0.0
  sql update-schema -d "$SCHEMA/$dir/versioned"
done
echo "Temporal schemas are up to date"
