"""Application → middleware → reporter → a real `rollwise serve` → the metrics API.

What the application served (counted from its own responses) is what the control plane
reports per variant: requests, server errors, client errors, usage and comparisons.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
from fastapi import FastAPI, HTTPException, Request

import rollwise
from rollwise import ClientOptions, HttpOptions, HttpSource, ReporterOptions
from rollwise.integrations import Header
from rollwise.integrations.asgi import RollwiseMiddleware

from .._support.net import free_port
from ..server._support import live_server
from ._serve import ADMIN, rollwise_serve

FLAG = "checkout"


def _application(client: rollwise.Client) -> FastAPI:
    app = FastAPI()

    @app.get("/orders/{order_id}")
    def order(order_id: int, request: Request) -> dict[str, object]:
        variant = request.state.rollwise.variant(FLAG)
        if order_id % 10 == 0:
            raise HTTPException(404, "no such order")
        if variant == "domain" and order_id % 7 == 0:
            raise HTTPException(500, "domain bug")
        total = client.compare(
            "order-total",
            flag=FLAG,
            control=lambda: order_id * 2,
            candidate=lambda: order_id * 2 if order_id % 5 else -1,
            context={"user_id": request.headers["x-user-id"]},
            read_only=True,
        )
        return {"variant": variant, "total": total}

    app.add_middleware(RollwiseMiddleware, client=client, flags=[FLAG], unit=Header("X-User-Id"))
    return app


def test_what_the_application_served_is_what_the_control_plane_reports(
    database_url: str, tmp_path: Path
) -> None:
    with (
        rollwise_serve(database_url, free_port(), tmp_path / "serve.log") as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}) as admin,
    ):
        assert admin.post("/api/v1/environments", json={"key": "production"}).is_success
        assert admin.post(
            "/api/v1/flags", json={"key": FLAG, "variants": ["legacy", "domain"]}
        ).is_success
        assert admin.put(
            f"/api/v1/flags/{FLAG}/environments/production",
            json={"split": {"legacy": 5000, "domain": 5000}, "version": 0},
        ).is_success
        token = admin.post(
            "/api/v1/tokens", json={"name": "app", "scope": "sdk", "environment": "production"}
        ).json()["secret"]

        options = ClientOptions(reporting=ReporterOptions(url, token, ticks=False))
        source = HttpSource(url, token, options=HttpOptions(poll_interval=60))
        client = rollwise.Client(source, environment="production", options=options).start()
        served: Counter[tuple[str, str]] = Counter()
        mismatched = 0
        try:
            with live_server(_application(client)) as app_url, httpx.Client() as http:
                for order_id in range(1, 301):
                    user = f"user-{order_id % 97}"
                    variant = client.variant(FLAG, {"user_id": user})
                    response = http.get(f"{app_url}/orders/{order_id}", headers={"X-User-Id": user})
                    status = response.status_code
                    outcome = "error" if status >= 500 else "client" if status >= 400 else "ok"
                    served[(variant, outcome)] += 1
                    if outcome == "ok" and order_id % 5 == 0:
                        mismatched += 1
            assert client.reporter is not None
            assert client.reporter.flush(10)
        finally:
            client.close()

        # the default range is the last hour
        metrics = admin.get("/api/v1/metrics", params={"flag": FLAG, "environment": "production"})
        assert metrics.status_code == 200, metrics.text
        totals = {v["variant"]: v["totals"] for v in metrics.json()["variants"]}

    assert set(totals) == {"legacy", "domain"}
    for variant in ("legacy", "domain"):
        requests = sum(count for (v, _), count in served.items() if v == variant)
        assert totals[variant]["requests"] == requests
        assert totals[variant]["errors"] == served[(variant, "error")]
        assert totals[variant]["client_errors"] == served[(variant, "client")]
        # evaluations: the test's own, the middleware's, and the comparison's (200s only)
        ok = served[(variant, "ok")]
        assert totals[variant]["usage"] == 2 * requests + ok
        assert totals[variant]["compared"] == ok
    assert served[("domain", "error")] > 0
    assert mismatched > 0
    assert sum(totals[v]["mismatches"] for v in totals) == mismatched
