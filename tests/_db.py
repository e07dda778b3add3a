"""Databases for tests: a SQLite file, or a fresh database on the machine's PostgreSQL.

PostgreSQL is not optional: when it cannot be reached, the tests that use it fail (make test
starts it first, see scripts/ensure-postgres.sh).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from rollwise.store import Store

POSTGRES_URL = os.environ.get(
    "ROLLWISE_TEST_POSTGRES_URL",
    "postgresql+psycopg://postgres@/rollwise_test?host=/var/run/postgresql",
)
TABLES = (
    "controller_lease, "
    "outbox, notification_channels, alert_events, alert_rules, rollout_judgements, "
    "rollout_history, rollouts, telemetry_keys, mismatch_samples, override_buckets, "
    "comparison_buckets, usage_buckets, request_buckets, telemetry_batch_parts, "
    "telemetry_batches, audit_log, "
    "tokens, flag_states, flags, environments"
)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Create an empty database on the test server, yield its URL, drop it afterwards."""
    name = f"rollwise_t_{secrets.token_hex(6)}"
    with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def empty_tables(store: Store) -> None:
    """Start a test from empty tables without re-running migrations."""
    with store.engine.begin() as connection:
        if store.dialect == "postgresql":
            connection.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
        else:
            for table in TABLES.split(", "):
                connection.execute(text(f"DELETE FROM {table}"))
