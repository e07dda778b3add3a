"""Adding deltas to bucket rows so that concurrent ingests never lose an update.

For each table: ``INSERT ... ON CONFLICT DO NOTHING RETURNING key`` (one executemany, rows
in key order) creates the rows that
did not exist yet with the delta as their value; the others are read ``FOR UPDATE`` (a row
lock on PostgreSQL; SQLite already serialises writers with ``BEGIN IMMEDIATE``), merged in
Python (a latency sketch cannot be added in SQL) and written back. Keys are processed in
sorted order in every transaction, so two ingests touching the same buckets lock them in
the same order and cannot deadlock each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, and_, bindparam, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

__all__ = ["insert_ignoring_conflicts", "merge_rows"]

_CHUNK = 200
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
    for chunk in _chunks(existing):
        locked = connection.execute(
            select(table)
            .where(tuple_(*keys).in_([tuple(key) for key in chunk]))
            .order_by(*keys)
            .with_for_update()
        ).all()
        updates = []
        for row in locked:
            key = tuple(getattr(row, name) for name in key_columns)
            values = combine(row, key)  # type: ignore[arg-type]
            updates.append(
                {f"k_{name}": value for name, value in zip(key_columns, key, strict=True)}
                | {f"v_{name}": values[name] for name in value_columns}
            )
        if updates:
            connection.execute(write, updates)
