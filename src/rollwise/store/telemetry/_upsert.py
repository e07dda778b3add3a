"""Adding deltas to bucket rows so that concurrent ingests never lose an update.

For each table: ``INSERT ... ON CONFLICT DO NOTHING RETURNING key`` (rows in key order)
creates the rows that did not exist yet with the delta as their value; the others are read
``FOR UPDATE`` (found through the primary key's leading columns; a row lock on PostgreSQL;
SQLite already serialises writers with ``BEGIN IMMEDIATE``), merged in Python and written
back with one executemany. Keys are processed in sorted order in every transaction, so two
ingests touching the same buckets lock them in the same order and cannot deadlock each
other.

Where the merge can be written in SQL, :func:`upsert_rows` does it all in one multi-row
``INSERT ... ON CONFLICT DO UPDATE`` instead (counts everywhere; request rows' latency
sketches on PostgreSQL, see ``_sketch.merge_sketch_sql``): nothing is read, and a bucket
row many instances share is locked only from its update to the commit, not across a
read, a Python merge and a write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Table, and_, bindparam, case, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

__all__ = [
    "add_counts_to_rows",
    "capped_sum",
    "insert_ignoring_conflicts",
    "merge_rows",
    "upsert_rows",
]

_CHUNK = 200
_PREFIX = ("environment", "flag", "resolution", "bucket_start")
"""The leading key columns every bucket table shares: existing rows are looked up with
``IN`` lists on these (an index range scan of the primary key) and filtered exactly in
Python. A row-value ``IN`` on the whole key was planned as a scan of every row of the
environment, which made each ingest slower as the table grew."""
K = TypeVar("K", bound=tuple[Any, ...])


def insert_ignoring_conflicts(connection: Connection, table: Table) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` for this connection's dialect."""
    if connection.dialect.name == "postgresql":
        return postgresql_insert(table).on_conflict_do_nothing()
    return sqlite_insert(table).on_conflict_do_nothing()


def _chunks(items: Sequence[K]) -> Iterator[Sequence[K]]:
    for index in range(0, len(items), _CHUNK):
        yield items[index : index + _CHUNK]


def merge_rows(
    connection: Connection,
    table: Table,
    key_columns: Sequence[str],
    deltas: Mapping[K, dict[str, Any]],
    combine: Callable[[Any, K], dict[str, Any]],
) -> None:
    """Add each delta (column values) to the row of its key, creating missing rows.

    ``combine(row, key)`` returns the new values of an existing row (the caller knows the
    delta of ``key``, possibly in a richer form than its column values).
    """
    if not deltas:
        return
    ordered = sorted(deltas)
    keys = [table.c[name] for name in key_columns]
    statement = insert_ignoring_conflicts(connection, table).returning(*keys)
    rows = [dict(zip(key_columns, key, strict=True)) | deltas[key] for key in ordered]
    inserted = {tuple(row) for row in connection.execute(statement, rows)}
    existing = [key for key in ordered if tuple(key) not in inserted]
    if not existing:
        return
    value_columns = [name for name in deltas[existing[0]] if name not in key_columns]
    write = (
        update(table)
        .where(and_(*(column == bindparam(f"k_{column.name}") for column in keys)))
        .values({name: bindparam(f"v_{name}") for name in value_columns})
    )
    prefix = len(_PREFIX)
    for chunk in _chunks(existing):
        wanted = set(chunk)
        locked = connection.execute(
            select(table)
            .where(and_(*(keys[i].in_(sorted({key[i] for key in chunk})) for i in range(prefix))))
            .order_by(*keys)
            .with_for_update()
        ).all()
        updates = []
        for row in locked:
            key = tuple(getattr(row, name) for name in key_columns)
            if key not in wanted:  # in the same buckets, not in this delta: left as it is
                continue
            values = combine(row, key)
            updates.append(
                {f"k_{name}": value for name, value in zip(key_columns, key, strict=True)}
                | {f"v_{name}": values[name] for name in value_columns}
            )
        if updates:
            connection.execute(write, updates)


def add_counts_to_rows(
    connection: Connection,
    table: Table,
    key_columns: Sequence[str],
    counts: Mapping[tuple[Any, ...], int],
    cap: int,
) -> None:
    """Add each count to the ``count`` column of its key's row (created when missing), in
    one ``INSERT ... ON CONFLICT DO UPDATE`` per chunk: a count adds up in SQL, so there is
    nothing to read first. Rows in key order (the same lock order as :func:`merge_rows`);
    sums saturate at ``cap`` instead of overflowing."""
    if not counts:
        return
    values = {key: {"count": min(count, cap)} for key, count in counts.items()}
    upsert_rows(
        connection,
        table,
        key_columns,
        values,
        lambda added: {"count": capped_sum(table, added, "count", cap)},
    )


def capped_sum(table: Table, added: Any, name: str, cap: int) -> ColumnElement[Any]:
    """The stored ``name`` plus the inserted one, saturating at ``cap``."""
    current, delta = table.c[name], added[name]
    return case((current > cap - delta, cap), else_=current + delta)


def upsert_rows(
    connection: Connection,
    table: Table,
    key_columns: Sequence[str],
    values: Mapping[tuple[Any, ...], dict[str, Any]],
    merged: Callable[[Any], Mapping[str, Any]],
) -> None:
    """Insert each key's row with these values, or set an existing row's columns to
    ``merged(excluded)`` (SQL over the stored row and the ``excluded`` one), in one
    multi-row ``INSERT ... ON CONFLICT DO UPDATE`` per chunk: nothing is read first, and
    each row is locked only from its update to the commit. Rows in key order (the lock
    order of :func:`merge_rows` too)."""
    if not values:
        return
    dialect = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    ordered = [dict(zip(key_columns, key, strict=True)) | values[key] for key in sorted(values)]
    size = _CHUNK * 5 if connection.dialect.name == "postgresql" else _CHUNK // 2
    for index in range(0, len(ordered), size):
        statement = dialect(table).values(ordered[index : index + size])
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=[table.c[name] for name in key_columns],
                set_=dict(merged(statement.excluded)),
            )
        )
