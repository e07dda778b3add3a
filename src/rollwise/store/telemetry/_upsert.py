"""Adding deltas to bucket rows so that concurrent ingests never lose an update, in a few
statements of one fixed shape whatever the batch.

Each statement is written once per table and dialect and sent with the DB-API directly:
building a multi-row ``INSERT`` with SQLAlchemy compiled it afresh for every batch (it
embeds every row), which cost more than the database's own work.

PostgreSQL gets one statement per step with every row in one JSON parameter
(``json_to_recordset``), so a batch is a handful of round trips, each a prepared statement:

- counts (:func:`add_counts_to_rows`): ``INSERT ... ON CONFLICT DO UPDATE`` adds them in
  SQL, saturating at the cap; nothing is read;
- merged values (:func:`merge_rows`: latency sketches, comparison outcomes): one
  ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` creates the missing rows with the
  delta as their value and locks and returns the others (in key order); they are merged
  in Python and written back by one more ``INSERT ... ON CONFLICT DO UPDATE``. Both find
  rows through the primary key, whatever the planner's statistics.

Rows are handled in key order in every transaction, so two ingests touching the same
buckets lock them in the same order. SQLite serialises writers (``BEGIN IMMEDIATE``), so
there each row is read by its primary key and written with one ``executemany`` per step.
"""

from __future__ import annotations

import json
from base64 import b64encode
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Connection, Table
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError

__all__ = ["add_counts_to_rows", "insert_ignoring_conflicts", "merge_rows"]

K = TypeVar("K", bound=tuple[Any, ...])
Values = dict[str, Any]

_PG_TYPES = {
    "environment": "text",
    "flag": "text",
    "resolution": "integer",
    "bucket_start": "bigint",
    "variant": "text",
    "route": "text",
    "name": "text",
    "outcome": "text",
    "reason": "text",
    "requests": "bigint",
    "errors": "bigint",
    "client_errors": "bigint",
    "count": "bigint",
    "latency": "bytea",
    "counts": "json",
    "durations": "json",
    "samples": "bigint",
    "cpu_sum": "double precision",
    "cpu_max": "double precision",
    "memory_sum": "double precision",
    "memory_max": "double precision",
    "rss_sum": "double precision",
    "rss_max": "bigint",
}
"""The PostgreSQL type of each bucket column (arrays of them are the parameters)."""
_JSON = frozenset(name for name, kind in _PG_TYPES.items() if kind == "json")


def insert_ignoring_conflicts(connection: Connection, table: Table) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` for this connection's dialect."""
    if connection.dialect.name == "postgresql":
        return postgresql_insert(table).on_conflict_do_nothing()
    return sqlite_insert(table).on_conflict_do_nothing()


def _q(name: str) -> str:
    return f'"{name}"'


def _list(names: Sequence[str]) -> str:
    return ", ".join(map(_q, names))


def _stored(name: str, value: Any) -> Any:
    """A value as SQLite's driver takes it (JSON columns as text)."""
    return json.dumps(value) if name in _JSON else value


def _read(name: str, value: Any) -> Any:
    """A value as read back (JSON columns parsed where the driver did not)."""
    if name in _JSON and isinstance(value, str | bytes):
        return json.loads(value)
    if isinstance(value, memoryview):
        return value.tobytes()
    return value


def _recordset(names: Sequence[str]) -> str:
    """The rows of the one JSON parameter, typed (bytea travels as base64 text)."""
    fields = ", ".join(
        f"{_q(n)} {'text' if _PG_TYPES[n] == 'bytea' else _PG_TYPES[n]}" for n in names
    )
    return f"json_to_recordset(%s::json) AS u({fields})"


def _selected(names: Sequence[str]) -> str:
    return ", ".join(
        f"decode(u.{_q(n)}, 'base64')" if _PG_TYPES[n] == "bytea" else f"u.{_q(n)}" for n in names
    )


def _json_rows(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Rows as the JSON parameter: one string, dumped in C (a list parameter per column
    was dumped element by element, in Python, and cost more than the statement)."""
    binary = [i for i, n in enumerate(names) if _PG_TYPES[n] == "bytea"]
    out = []
    for row in rows:
        record = dict(zip(names, row, strict=True))
        for i in binary:
            record[names[i]] = b64encode(row[i]).decode("ascii")
        out.append(record)
    return json.dumps(out, separators=(",", ":"))


def _pg_run(connection: Connection, statement: str, row_json: str) -> list[tuple[Any, ...]]:
    """Run one statement on the driver's own cursor (SQLAlchemy's execution path cost as
    much CPU as the statement), its rows if it returns any. A driver error is raised as
    SQLAlchemy raises it (``OperationalError`` for a deadlock: the store retries those)."""
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(statement, (row_json,))
        return cursor.fetchall() if cursor.description is not None else []
    except connection.dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(
            statement,
            None,
            error,
            connection.dialect.loaded_dbapi.Error,
            hide_parameters=True,
            dialect=connection.dialect,
        ) from error
    finally:
        cursor.close()


@cache
def _pg_claim(table: str, keys: tuple[str, ...], values: tuple[str, ...]) -> str:
    """Insert the missing rows with the delta; lock the others and return what they hold.

    The lookup is the primary key's, as ``ON CONFLICT`` makes it (a join on the key was
    planned through the time index on a table not yet analyzed: a scan of every row in
    the bucket for each key). Updating a column to itself is what locks and returns an
    existing row; ``xmax = 0`` tells a row this statement created."""
    columns = (*keys, *values)
    first = _q(values[0])
    returned = ", ".join(f"t.{_q(n)}" for n in columns)
    return (
        f"INSERT INTO {_q(table)} AS t ({_list(columns)}) SELECT {_selected(columns)}"
        f" FROM {_recordset(columns)} ON CONFLICT ({_list(keys)}) DO UPDATE SET"
        f" {first} = t.{first} RETURNING {returned}, t.xmax = 0"
    )


@cache
def _pg_write(table: str, keys: tuple[str, ...], values: tuple[str, ...]) -> str:
    """Set the values of rows this transaction has locked (found by the primary key)."""
    columns = (*keys, *values)
    assigned = ", ".join(f"{_q(v)} = excluded.{_q(v)}" for v in values)
    return (
        f"INSERT INTO {_q(table)} AS t ({_list(columns)}) SELECT {_selected(columns)}"
        f" FROM {_recordset(columns)} ON CONFLICT ({_list(keys)}) DO UPDATE SET {assigned}"
    )


@cache
def _pg_add(table: str, keys: tuple[str, ...], cap: int) -> str:
    columns = (*keys, "count")
    return (
        f"INSERT INTO {_q(table)} AS t ({_list(columns)}) SELECT {_selected(columns)}"
        f" FROM {_recordset(columns)} ON CONFLICT ({_list(keys)}) DO UPDATE SET"
        f' "count" = CASE WHEN t."count" > {int(cap)} - excluded."count" THEN {int(cap)}'
        f' ELSE t."count" + excluded."count" END'
    )


@cache
def _sqlite_select(table: str, keys: tuple[str, ...], values: tuple[str, ...]) -> str:
    where = " AND ".join(f"{_q(k)} = ?" for k in keys)
    return f"SELECT {_list(values)} FROM {_q(table)} WHERE {where}"


@cache
def _sqlite_insert(table: str, columns: tuple[str, ...]) -> str:
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {_q(table)} ({_list(columns)}) VALUES ({marks})"


@cache
def _sqlite_update(table: str, keys: tuple[str, ...], values: tuple[str, ...]) -> str:
    assigned = ", ".join(f"{_q(v)} = ?" for v in values)
    where = " AND ".join(f"{_q(k)} = ?" for k in keys)
    return f"UPDATE {_q(table)} SET {assigned} WHERE {where}"


@cache
def _sqlite_add(table: str, keys: tuple[str, ...], cap: int) -> str:
    columns = (*keys, "count")
    marks = ", ".join("?" for _ in columns)
    return (
        f"INSERT INTO {_q(table)} ({_list(columns)}) VALUES ({marks})"
        f" ON CONFLICT ({_list(keys)}) DO UPDATE SET"
        f' "count" = CASE WHEN "count" > {int(cap)} - excluded."count" THEN {int(cap)}'
        f' ELSE "count" + excluded."count" END'
    )


def merge_rows(
    connection: Connection,
    table: Table,
    key_columns: Sequence[str],
    deltas: Mapping[K, Values],
    combine: Callable[[Values, K], Values],
) -> None:
    """Add each delta (column values) to the row of its key, creating missing rows.

    ``combine(stored, key)`` returns the new values of an existing row from its stored
    values (the caller knows the delta of ``key``, possibly in a richer form).
    """
    if not deltas:
        return
    ordered = sorted(deltas)
    keys = tuple(key_columns)
    values = tuple(deltas[ordered[0]])
    if connection.dialect.name == "postgresql":
        _pg_merge(connection, table.name, keys, values, ordered, deltas, combine)
    else:
        _sqlite_merge(connection, table.name, keys, values, ordered, deltas, combine)


def _pg_merge(
    connection: Connection,
    table: str,
    keys: tuple[str, ...],
    values: tuple[str, ...],
    ordered: list[K],
    deltas: Mapping[K, Values],
    combine: Callable[[Values, K], Values],
) -> None:
    width = len(keys)
    columns = (*keys, *values)
    rows = [(*key, *(deltas[key][v] for v in values)) for key in ordered]
    claimed = _pg_run(connection, _pg_claim(table, keys, values), _json_rows(columns, rows))
    updates = []
    for row in claimed:
        if row[-1]:  # created by this statement: it holds the delta already
            continue
        key: Any = tuple(row[:width])
        stored = {name: _read(name, row[width + i]) for i, name in enumerate(values)}
        merged = combine(stored, key)
        updates.append((*key, *(merged[v] for v in values)))
    if updates:
        updates.sort()
        _pg_run(connection, _pg_write(table, keys, values), _json_rows(columns, updates))


def _sqlite_merge(
    connection: Connection,
    table: str,
    keys: tuple[str, ...],
    values: tuple[str, ...],
    ordered: list[K],
    deltas: Mapping[K, Values],
    combine: Callable[[Values, K], Values],
) -> None:
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        select = _sqlite_select(table, keys, values)
        new, updates = [], []
        for key in ordered:
            found = cursor.execute(select, key).fetchone()
            if found is None:
                new.append((*key, *(_stored(v, deltas[key][v]) for v in values)))
                continue
            stored = {name: _read(name, found[i]) for i, name in enumerate(values)}
            merged = combine(stored, key)
            updates.append((*(_stored(v, merged[v]) for v in values), *key))
        if new:
            cursor.executemany(_sqlite_insert(table, (*keys, *values)), new)
        if updates:
            cursor.executemany(_sqlite_update(table, keys, values), updates)
    finally:
        cursor.close()


def add_counts_to_rows(
    connection: Connection,
    table: Table,
    key_columns: Sequence[str],
    counts: Mapping[tuple[Any, ...], int],
    cap: int,
) -> None:
    """Add each count to the ``count`` column of its key's row (created when missing), in
    one ``INSERT ... ON CONFLICT DO UPDATE``: a count adds up in SQL, so there is nothing
    to read first. Rows in key order (the lock order of :func:`merge_rows`); sums saturate
    at ``cap`` instead of overflowing."""
    if not counts:
        return
    keys = tuple(key_columns)
    rows = [(*key, min(counts[key], cap)) for key in sorted(counts)]
    if connection.dialect.name == "postgresql":
        _pg_run(connection, _pg_add(table.name, keys, cap), _json_rows((*keys, "count"), rows))
        return
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(_sqlite_add(table.name, keys, cap), rows)
    finally:
        cursor.close()
