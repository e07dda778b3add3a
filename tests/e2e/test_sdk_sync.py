"""A real `rollwise serve` process, an SDK syncing from it, and the server going away."""

from __future__ import annotations

from pathlib import Path

import httpx

import rollwise
from rollwise import HttpOptions, HttpSource

from .._support.net import free_port
from .._support.waiting import wait_until
from ._serve import ADMIN, rollwise_serve


def _admin(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10)


def test_sdk_follows_a_real_server_and_survives_its_absence(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    cache = tmp_path / "sdk-cache.json"
    options = HttpOptions(poll_interval=30, cache_path=cache, startup_timeout=2)
    with (
        rollwise_serve(database_url, port, tmp_path / "serve.log") as url,
        _admin(url) as admin,
    ):
        assert admin.post("/api/v1/environments", json={"key": "production"}).is_success
        assert admin.post(
            "/api/v1/flags", json={"key": "checkout", "variants": ["legacy", "domain"]}
        ).is_success
        state_url = "/api/v1/flags/checkout/environments/production"
        assert admin.put(state_url, json={"split": {"legacy": 10000}, "version": 0}).is_success
        token = admin.post(
            "/api/v1/tokens", json={"name": "app", "scope": "sdk", "environment": "production"}
        ).json()["secret"]
        client = rollwise.Client(HttpSource(url, token, options=options)).start()
        try:
            assert client.variant("checkout", {"user_id": "u1"}) == "legacy"
            # a change propagates over the event stream (polling is every 30 s here)
            assert admin.put(state_url, json={"split": {"domain": 10000}, "version": 1}).is_success
            assert wait_until(
                lambda: client.variant("checkout", {"user_id": "u1"}) == "domain", timeout=5
            )
        except BaseException:
            client.close()
            raise
    try:
        # the server is gone, and the SDK has noticed: it keeps evaluating from memory
        wait_until(
            lambda: client.health().source_status == "failing",
            timeout=30,
            message="the SDK noticing that the control plane is gone",
        )
        assert client.variant("checkout", {"user_id": "u1"}) == "domain"
        assert client.variant("checkout", {"user_id": "u2"}) == "domain"
    finally:
        client.close()
    # a new process of the application starts while the server is still down: disk cache
    restarted = rollwise.Client(HttpSource(url, token, options=options))
    assert restarted.variant("checkout", {"user_id": "u3"}) == "domain"
    assert (restarted.health().origin or "").startswith("cache:")
