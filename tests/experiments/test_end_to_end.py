"""A 50/25/25 experiment end to end (app, SDK, reporter, store, results engine): simulated
conversions where variant_b is truly better; the results show it, SRM clear."""

from __future__ import annotations

import random

import httpx
import pytest
from fastapi.testclient import TestClient

from rollwise import Client
from rollwise.sdk.reporter import Reporter, ReporterOptions
from rollwise.sdk.sources import HttpSource

from ..server._support import make_token
from ._api import ADMIN_HEADERS, seed_api, start

RATES = {"control": 0.10, "variant_a": 0.10, "variant_b": 0.16}
USERS = 4000


@pytest.mark.slow
def test_three_arms_with_simulated_conversions(client: TestClient) -> None:
    seed_api(client)
    start(client)
    token = make_token(client, "sdk", "production")
    transport: httpx.BaseTransport = client._transport
    sdk = Client(HttpSource("http://testserver", token, transport=transport))
    reporter = Reporter(
        ReporterOptions(url="http://testserver", token=token, ticks=False),
        client=sdk,
        transport=transport,
    )
    rng = random.Random(15)
    for number in range(USERS):
        context = {"user_id": f"user-{number}"}
        arm = sdk.variant("checkout_page", context)
        sdk.track("session", context)
        if rng.random() < RATES[arm]:
            sdk.track("purchase", context)
            sdk.track("revenue", context, value=rng.uniform(10, 60))
        if number % 1000 == 999:
            assert reporter.flush(timeout=20)
    assert reporter.flush(timeout=20)

    response = client.get("/api/v1/experiments/checkout-test/results", headers=ADMIN_HEADERS)
    assert response.status_code == 200, response.text
    body = response.json()
    units = body["units"]
    assert sum(units.values()) == USERS
    assert units["control"] == pytest.approx(USERS / 2, rel=0.08)
    assert units["variant_b"] == pytest.approx(USERS / 4, rel=0.12)
    results = body["results"]
    assert results["sample_ratio"]["mismatch"] is False
    conversion = next(m for m in results["metrics"] if m["metric"] == "conversion")
    by_arm = {arm["arm"]: arm for arm in conversion["arms"]}
    assert set(by_arm) == {"variant_a", "variant_b"}
    b = by_arm["variant_b"]
    assert b["relative"]["estimate"] > 0.2
    assert b["significant"]
    assert b["improved"] is True
    assert by_arm["variant_a"]["significant"] is False
    assert conversion["control"]["value"] == pytest.approx(0.10, abs=0.02)
    revenue_per_session = next(
        m for m in results["metrics"] if m["metric"] == "revenue_per_session"
    )
    assert revenue_per_session["kind"] == "ratio"
    errors = next(m for m in results["metrics"] if m["metric"] == "errors")
    assert errors["role"] == "guardrail"
    sdk.close()
