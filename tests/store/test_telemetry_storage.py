"""Migration 0014: stored latency sketches go from JSON to the compact binary form and
back, row for row, on SQLite and PostgreSQL (ingest and queries on the binary rows are
tested in test_telemetry*.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import LargeBinary, create_engine, select, text, type_coerce

from rollwise.stats.sketch import LatencySketch
from rollwise.store.store import _alembic_config
from rollwise.store.tables import request_buckets

from .._db import fresh_postgres_database
from ._telemetry import T0, sketch

ROWS = 2_300  # more than one page of the conversion


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    with fresh_postgres_database() as url:
        yield url


def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            config = _alembic_config()
            config.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(config, revision)
    finally:
        engine.dispose()


def _json_sketches() -> list[dict[str, object]]:
    made = [sketch([0.001 * (1 + i % 97), 0.2, 3.0 + i]).to_dict() for i in range(ROWS - 2)]
    return [*made, LatencySketch().to_dict(), sketch([0.0, 0.0]).to_dict()]


@pytest.mark.slow
def test_0014_converts_every_stored_sketch_and_its_downgrade_restores_them(
    empty_url: str,
) -> None:
    _migrate(empty_url, "0013")
    stored = _json_sketches()
    engine = create_engine(empty_url)
    start = int(T0.timestamp())
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO request_buckets (environment, flag, resolution, bucket_start,"
                    " variant, route, requests, errors, client_errors, latency) VALUES"
                    " ('production', 'checkout', 10, :start, 'legacy', :route, :n, 0, 0,"
                    " :latency)"
                ),
                [
                    {
                        "start": start + 10 * (i // 50),
                        "route": f"/r{i % 50}",
                        "n": data["count"],
                        "latency": json.dumps(data),
                    }
                    for i, data in enumerate(stored)
                ],
            )
        _migrate(empty_url, "0014")
        order = (request_buckets.c.bucket_start, request_buckets.c.route)
        with engine.connect() as connection:
            packed = connection.execute(
                select(type_coerce(request_buckets.c.latency, LargeBinary)).order_by(*order)
            ).scalars()
            got = [LatencySketch.from_bytes(blob).to_dict() for blob in packed]
        expected = [stored[i] for i in sorted(range(ROWS), key=lambda i: (i // 50, f"/r{i % 50}"))]
        assert got == expected
        _migrate(empty_url, "0013", down=True)
        with engine.connect() as connection:
            back = connection.execute(
                text("SELECT latency FROM request_buckets ORDER BY bucket_start, route")
            ).scalars()
            restored = [json.loads(v) if isinstance(v, str) else v for v in back]
        assert restored == expected
    finally:
        engine.dispose()
