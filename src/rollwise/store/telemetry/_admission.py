"""What ingest reads before it decides what a batch may store, in one round trip.

The environment, the batch's flags with their variants, and the route templates and
comparison names those flags have registered (``telemetry_keys``) come back from one
statement, written once per dialect and sent with the DB-API directly: built with
SQLAlchemy Core they were four to six statements per batch, compiled and cached-key'd
each time, and cost more CPU than the database spent answering them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection

__all__ = ["Reading", "read_admission"]

_POSTGRESQL = (
    "SELECT 0, key, NULL, NULL FROM environments WHERE key = %(environment)s"
    " UNION ALL SELECT 1, key, variants::text, NULL FROM flags WHERE key = ANY(%(flags)s)"
    " UNION ALL SELECT 2, flag, kind, key FROM telemetry_keys"
    " WHERE environment = %(environment)s AND flag = ANY(%(flags)s)"
)
_SQLITE = (
    "SELECT 0, key, NULL, NULL FROM environments WHERE key = ?"
    " UNION ALL SELECT 1, key, variants, NULL FROM flags"
    " WHERE key IN (SELECT value FROM json_each(?))"
    " UNION ALL SELECT 2, flag, kind, key FROM telemetry_keys"
    " WHERE environment = ? AND flag IN (SELECT value FROM json_each(?))"
)


@dataclass(slots=True)
class Reading:
    """The batch's known flags with their variants, and the keys registered per
    (flag, kind) (``route`` / ``comparison``) for those flags."""

    known: dict[str, frozenset[str]] = field(default_factory=dict)
    keys: dict[tuple[str, str], set[str]] = field(default_factory=dict)


def read_admission(
    connection: Connection, environment: str, flags: Sequence[str]
) -> Reading | None:
    """What the store knows of ``flags`` in ``environment``; ``None`` when the environment
    does not exist."""
    if connection.dialect.name == "postgresql":
        rows = connection.exec_driver_sql(
            _POSTGRESQL, {"environment": environment, "flags": list(flags)}
        ).all()
    else:
        listed = json.dumps(list(flags))
        rows = connection.exec_driver_sql(_SQLITE, (environment, listed, environment, listed)).all()
    if not any(row[0] == 0 for row in rows):
        return None
    reading = Reading()
    for what, key, value, name in rows:
        if what == 1:
            reading.known[key] = frozenset(json.loads(value))
        elif what == 2:
            reading.keys.setdefault((key, value), set()).add(name)
    reading.keys = {k: v for k, v in reading.keys.items() if k[0] in reading.known}
    return reading
