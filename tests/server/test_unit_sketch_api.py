"""Unit sketches over HTTP: a batch carrying them is stored; a malformed one is a 422 naming
the field (never a 500), whatever is wrong with its bytes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import datasketches
import pytest
from fastapi.testclient import TestClient

from rollwise.store import Store

from .._support.clock import FakeClock
from ..store._telemetry import NOW, T0, batch, series, window
from ._support import ADMIN, bearer, seed, settings

URL = "/api/v1/sdk/telemetry?environment=production"
HEADERS = bearer(ADMIN)


def sketch(count: int, lg_k: int = 12) -> str:
    found = datasketches.hll_sketch(lg_k, datasketches.tgt_hll_type.HLL_8)
    for unit in range(count):
        found.update(unit)
    return base64.b64encode(found.serialize_compact()).decode()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = Store(database_url, clock=FakeClock(NOW))
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def client(database_url: str, store: Store) -> Iterator[TestClient]:
    from rollwise.server import create_app

    with TestClient(create_app(settings(database_url), store=store)) as test_client:
        seed(test_client)
        yield test_client


def body(seen: str, failing: str, flag: str = "checkout") -> dict[str, Any]:
    found = window(T0, series=[series("checkout", "domain", [0.01])])
    found["units"] = [{"flag": flag, "variant": "domain", "seen": seen, "failing": failing}]
    result: dict[str, Any] = json.loads(batch(found).model_dump_json())
    return result


def test_unit_sketches_are_stored(client: TestClient, store: Store) -> None:
    answer = client.post(URL, json=body(sketch(500), sketch(20)), headers=HEADERS)
    assert answer.status_code == 202, answer.text
    with store.transaction("read") as tx:
        found = tx.units.unit_window("production", "checkout", T0, NOW)
    assert round(found["domain"].failing.estimate) == 20
    assert found["domain"].units.lower <= 500 <= found["domain"].units.upper


def test_malformed_sketches_are_422_naming_the_field(client: TestClient) -> None:
    good = sketch(5)
    raw = base64.b64decode(sketch(300))
    cases = {
        "not base64": "%%%",
        "truncated": base64.b64encode(raw[:-4]).decode(),
        "lg_k 14": sketch(5, lg_k=14),
        "too long": "A" * 10_000,
        "garbage header": base64.b64encode(b"\xff" * 64).decode(),
        "huge table": base64.b64encode(raw[:4] + b"\x1e" + raw[5:]).decode(),
    }
    for name, bad in cases.items():
        for side in ("seen", "failing"):
            sent = body(good, good)
            sent["windows"][0]["units"][0][side] = bad
            answer = client.post(URL, json=sent, headers=HEADERS)
            assert answer.status_code == 422, (name, answer.text)
            paths = [e["path"] for e in answer.json()["error"]["details"]["errors"]]
            assert f"body.windows.0.units.0.{side}" in paths, (name, paths)
    nul = client.post(URL, json=body(good, good, flag="check\x00out"), headers=HEADERS)
    assert nul.status_code == 422
