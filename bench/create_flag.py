"""Latency of ``POST /api/v1/flags`` as the number of environments grows.

Runs the control plane in process (TestClient, SQLite or ``--database-url``), creates the
environments directly in the database, then times creating flags: with 1 environment (the
baseline, measured in the same run) and with ``--environments`` (2,000 by default), and
counts the SQL statements of one request. Target: < 100 ms with 2,000 environments, and the
statements do not grow with the number of environments.

    .venv/bin/python bench/create_flag.py [--environments 2000] [--flags 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import event, insert

from rollwise.server import ServerSettings, create_app
from rollwise.store.tables import environments

ADMIN = "bench-admin-token-0123456789"
TARGET_MS = 100.0


def measure(url: str, count: int, flags: int, tag: str) -> tuple[float, int]:
    """Median milliseconds of one POST /flags, and the statements it ran."""
    app = create_app(ServerSettings(database_url=url, admin_token=ADMIN))
    headers = {"Authorization": f"Bearer {ADMIN}"}
    with TestClient(app) as client:
        store = app.state.store
        now = datetime.now(UTC)
        rows = [
            {
                "key": f"{tag}-env-{i:05d}",
                "name": f"{tag}-env-{i:05d}",
                "description": "",
                "config_revision": 1,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(count)
        ]
        with store.engine.begin() as connection:
            connection.execute(insert(environments), rows)
        client.get("/api/v1/flags", headers=headers)  # the hub has seen the environments
        statements = [0]

        def count_statement(*_: object) -> None:
            statements[0] += 1

        times = []
        for i in range(flags):
            statements[0] = 0
            event.listen(store.engine, "before_cursor_execute", count_statement)
            started = time.perf_counter()
            response = client.post(
                "/api/v1/flags", json={"key": f"{tag}-flag-{i}"}, headers=headers
            )
            times.append((time.perf_counter() - started) * 1000)
            event.remove(store.engine, "before_cursor_execute", count_statement)
            assert response.status_code == 201, response.text
    return statistics.median(times), statements[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--environments", type=int, default=2000)
    parser.add_argument("--flags", type=int, default=20)
    parser.add_argument(
        "--database-url", default=None, help="default: a new SQLite file (give an empty database)"
    )
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:

        def url(name: str) -> str:
            return options.database_url or f"sqlite:///{Path(folder) / name}.db"

        base_ms, base_statements = measure(url("base"), 1, options.flags, "base")
        many_ms, many_statements = measure(url("many"), options.environments, options.flags, "many")
    verdict = "ok" if many_ms < TARGET_MS else "MISSED"
    print(f"POST /flags, 1 environment:      {base_ms:7.1f} ms  {base_statements} statements")
    print(
        f"POST /flags, {options.environments} environments: {many_ms:7.1f} ms  "
        f"{many_statements} statements  ({many_ms / base_ms:.2f}x the baseline; "
        f"target < {TARGET_MS:.0f} ms: {verdict})"
    )


if __name__ == "__main__":
    main()
