"""The same behaviour in every framework, through test clients and real servers.

Variants exposed to handlers, sticky per unit, recorded per (flag, variant, route template)
with requests, errors and client errors; exceptions recorded as errors and re-raised the
way the framework does; streaming measured to the end of the body.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from rollwise.integrations import FlagBinding, Header, PathParam

from ._support import (
    CHECKOUT,
    OTHER,
    TENANT,
    Serve,
    by_flag,
    make_client,
    series,
    users_with,
)


def test_variants_are_exposed_and_recorded_under_the_route_template(serving: Serve) -> None:
    client = make_client()
    domain = users_with(client, "domain", 3)
    legacy = users_with(client, "legacy", 2)
    with serving(client, flags=[CHECKOUT], unit=Header("X-User-Id")) as app:
        for user in domain + legacy:
            reply = app.get("/items/7", headers={"X-User-Id": user})
            assert reply.status == 200
            body = reply.json()
            assert body["variant"] == client.variant(CHECKOUT, {"user_id": user})
            assert body["reason"] == "split"
            assert body["unit"] == user
            assert body["enabled"] is (body["variant"] == "domain")
        found = series(app.recorder, 5)
    route = app.templates["items"]
    assert found == {
        (CHECKOUT, "domain", route): (3, 0, 0),
        (CHECKOUT, "legacy", route): (2, 0, 0),
    }


def test_assignment_is_sticky_per_unit_across_requests_and_routes(serving: Serve) -> None:
    client = make_client()
    users = [f"sticky-{n}" for n in range(6)]
    with serving(client, flags=[CHECKOUT], unit=Header("X-User-Id")) as app:
        seen: dict[str, set[str]] = {user: set() for user in users}
        for _ in range(3):
            for user in users:
                for path in ("/items/1", "/items/2"):
                    seen[user].add(app.get(path, headers={"X-User-Id": user}).json()["variant"])
        found = series(app.recorder, 36)
    for user, variants in seen.items():
        assert variants == {client.variant(CHECKOUT, {"user_id": user})}
    assert sum(requests for requests, _, _ in found.values()) == 36


def test_a_request_without_a_unit_gets_the_off_variant(serving: Serve) -> None:
    client = make_client()
    with serving(client, flags=[CHECKOUT], unit=Header("X-User-Id")) as app:
        body = app.get("/items/1").json()
        assert body == {
            "variant": "legacy",
            "reason": "missing_unit",
            "enabled": False,
            "unit": None,
        }
        assert app.get("/items/1", headers={"X-User-Id": ""}).json()["reason"] == "missing_unit"
        found = series(app.recorder, 2)
    assert found == {(CHECKOUT, "legacy", app.templates["items"]): (2, 0, 0)}


def test_an_exception_is_an_error_and_reaches_the_framework(serving: Serve) -> None:
    client = make_client()
    user = users_with(client, "domain", 1)[0]
    with serving(client, flags=[CHECKOUT], unit=Header("X-User-Id")) as app:
        if app.raises:
            with pytest.raises(RuntimeError, match="the handler failed"):
                app.get("/fail", headers={"X-User-Id": user})
        else:
            # Starlette re-raises after its 500 so that the server logs it; uvicorn then
            # drops the connection, which can beat the response to the client.
            try:
                failed = app.get("/fail", headers={"X-User-Id": user, "Connection": "close"})
                assert failed.status == 500
            except httpx.TransportError:
                assert app.framework != "flask"
        assert app.get("/items/1", headers={"X-User-Id": user}).status == 200
        found = series(app.recorder, 2)
    assert found == {
        (CHECKOUT, "domain", "/fail"): (1, 1, 0),
        (CHECKOUT, "domain", app.templates["items"]): (1, 0, 0),
    }


def test_client_errors_are_counted_apart_and_unmatched_routes_share_one_label(
    serving: Serve,
) -> None:
    client = make_client()
    user = users_with(client, "legacy", 1)[0]
    with serving(client, flags=[CHECKOUT], unit=Header("X-User-Id")) as app:
        headers = {"X-User-Id": user}
        assert app.get("/missing", headers=headers).status == 404
        for n in range(3):
            assert app.get(f"/no/such/path/{n}", headers=headers).status == 404
        found = series(app.recorder, 4)
    assert found == {
        (CHECKOUT, "legacy", "/missing"): (1, 0, 1),
        (CHECKOUT, "legacy", "(unmatched)"): (3, 0, 3),
    }


def test_a_streamed_response_is_timed_to_the_end_of_its_body(serving: Serve) -> None:
    client = make_client()
    with serving(client, flags=[CHECKOUT], unit=Header("X-User-Id")) as app:
        reply = app.get("/stream", headers={"X-User-Id": "streamer"})
        assert reply.text == "one two three"
        series(app.recorder, 1)
    variant = client.variant(CHECKOUT, {"user_id": "streamer"})
    totals = app.recorder.totals()[(CHECKOUT, variant, "/stream")]
    assert totals.requests == 1
    assert totals.sketch.sum >= 0.1  # the two 50 ms pauses between the three chunks


def test_excluded_paths_expose_variants_but_are_not_recorded(serving: Serve) -> None:
    client = make_client()
    user = users_with(client, "domain", 1)[0]
    with serving(client, flags=[CHECKOUT], unit=Header("X-User-Id")) as app:
        assert app.get("/health", headers={"X-User-Id": user}).text.strip('"') == "domain"
        app.get("/items/1", headers={"X-User-Id": user})
        found = series(app.recorder, 1)
    assert found == {(CHECKOUT, "domain", app.templates["items"]): (1, 0, 0)}


def test_each_flag_has_its_own_unit_and_unbound_flags_are_not_recorded(serving: Serve) -> None:
    client = make_client()
    flags = [CHECKOUT, FlagBinding(TENANT, unit=PathParam("tenant"), attribute="tenant")]
    with serving(client, flags=flags, unit=Header("X-User-Id")) as app:
        tenants = {}
        for tenant in ("acme", "globex", "initech", "umbrella"):
            body = app.get(f"/tenants/{tenant}/home", headers={"X-User-Id": "u1"}).json()
            assert body["unit"] == tenant
            assert body["variant"] == client.variant(TENANT, {"tenant": tenant})
            tenants[tenant] = body["variant"]
        other = app.get("/other", headers={"X-User-Id": "u1"}).json()
        assert other["variant"] == client.variant(OTHER, {"user_id": "u1"})
        found = series(app.recorder, 10)
    route = app.templates["tenants"]
    checkout = client.variant(CHECKOUT, {"user_id": "u1"})
    expected_tenant: dict[tuple[str, str, str], tuple[int, int, int]] = {}
    for variant in tenants.values():
        key = (TENANT, variant, route)
        count = expected_tenant.get(key, (0, 0, 0))[0] + 1
        expected_tenant[key] = (count, 0, 0)
    # /other has no tenant parameter: the tenant flag is served its off variant there
    expected_tenant[(TENANT, "off", "/other")] = (1, 0, 0)
    assert by_flag(found, TENANT) == expected_tenant
    assert by_flag(found, CHECKOUT) == {
        (CHECKOUT, checkout, route): (4, 0, 0),
        (CHECKOUT, checkout, "/other"): (1, 0, 0),
    }
    assert by_flag(found, OTHER) == {}


def test_a_context_builder_adds_attributes_for_rules(serving: Serve) -> None:
    client = make_client()
    legacy = users_with(client, "legacy", 2)

    def country(request: Any) -> dict[str, str]:
        return {"country": request.headers.get("X-Country", "")}

    with serving(client, flags=[CHECKOUT], unit=Header("X-User-Id"), context=country) as app:
        for user in legacy:
            nz = app.get("/items/1", headers={"X-User-Id": user, "X-Country": "NZ"}).json()
            assert (nz["variant"], nz["reason"]) == ("domain", "rule:nz")
            us = app.get("/items/1", headers={"X-User-Id": user, "X-Country": "US"}).json()
            assert (us["variant"], us["reason"], us["unit"]) == ("legacy", "split", user)
        found = series(app.recorder, 4)
    route = app.templates["items"]
    assert found == {(CHECKOUT, "domain", route): (2, 0, 0), (CHECKOUT, "legacy", route): (2, 0, 0)}
