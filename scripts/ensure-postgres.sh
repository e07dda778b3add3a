#!/usr/bin/env bash
# Make sure the machine's PostgreSQL answers and the test database exists.
# Uses ROLLWISE_TEST_POSTGRES_URL when set; otherwise the local server over its socket.
set -euo pipefail

if ! command -v psql >/dev/null 2>&1; then
  echo "ensure-postgres: psql not found; installing Debian's postgresql" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

if [ -n "${ROLLWISE_TEST_POSTGRES_URL:-}" ]; then
  psql_url="${ROLLWISE_TEST_POSTGRES_URL/postgresql+psycopg:/postgresql:}"
  psql "$psql_url" -qtAc 'select 1' >/dev/null || {
    echo "ensure-postgres: cannot reach ROLLWISE_TEST_POSTGRES_URL" >&2; exit 1; }
  exit 0
fi

pg_user=postgres
run_psql() { psql -h /var/run/postgresql -U "$pg_user" "$@"; }

if ! run_psql -d postgres -qtAc 'select 1' >/dev/null 2>&1; then
  echo "ensure-postgres: local PostgreSQL not answering; starting it" >&2
  if [ -d /etc/postgresql ]; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  fi
  for _ in $(seq 1 30); do
    run_psql -d postgres -qtAc 'select 1' >/dev/null 2>&1 && break
    sleep 1
  done
fi
run_psql -d postgres -qtAc 'select 1' >/dev/null || {
  echo "ensure-postgres: PostgreSQL is not reachable on /var/run/postgresql" >&2; exit 1; }

if [ "$(run_psql -d postgres -qtAc "select 1 from pg_database where datname='rollwise_test'")" != "1" ]; then
  run_psql -d postgres -qc 'create database rollwise_test' >/dev/null
fi
echo "ensure-postgres: PostgreSQL ready (database rollwise_test)"
