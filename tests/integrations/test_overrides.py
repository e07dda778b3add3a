"""Per-request overrides through every framework: off by default, signed in production, counted.

An honoured override changes the variant the handler sees (reason ``override``) and the
variant the request is recorded under; a rejected one changes nothing but the counter.
"""

from __future__ import annotations

from typing import Any

import flask
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.applications import Starlette

import rollwise
from rollwise import ClientOptions, ConfigError
from rollwise.integrations import Header
from rollwise.integrations.asgi import RollwiseMiddleware
from rollwise.integrations.flask import Rollwise
from rollwise.sdk.override_tokens import (
    ForceParameter,
    OverrideCounter,
    OverridePolicy,
    OverrideSigner,
)

from .._support.clock import FakeClock
from ._support import (
    CHECKOUT,
    KEY,
    OTHER,
    Serve,
    config,
    make_client,
    series,
    users_with,
)

FORCE = ForceParameter.boolean("force_domain", CHECKOUT, on="domain", off="legacy")
SIGNED = OverridePolicy(enabled=True, parameters=(FORCE,))
NOW = 1_700_000_000.0
ENV = "production"
BY_HEADER = Header("X-User-Id")


def signer(clock: FakeClock | None = None, key: str = KEY) -> OverrideSigner:
    return OverrideSigner([key], clock=clock or FakeClock())


def rows(counter: OverrideCounter) -> list[tuple[str, str, str | None, str | None, int]]:
    drained = counter.drain()
    found = [(r["flag"], r["outcome"], r["variant"], r["reason"], r["count"]) for r in drained]
    return sorted(found, key=lambda row: (row[1], row[3] or "", row[2] or ""))


def test_overrides_are_off_by_default(serving: Serve) -> None:
    client = make_client()
    user = users_with(client, "legacy", 1)[0]
    tokens = signer()
    token = tokens.sign(CHECKOUT, "domain", ttl=60, environment=ENV)
    with serving(client, flags=[CHECKOUT], unit=BY_HEADER) as app:
        body = app.get(
            "/items/1",
            headers={"X-User-Id": user, "X-Force-Domain": "true"},
            params={"force_domain": "true", "rollwise_token": token},
        ).json()
        assert (body["variant"], body["reason"]) == ("legacy", "split")
        found = series(app.recorder, 1)
    assert found == {(CHECKOUT, "legacy", app.templates["items"]): (1, 0, 0)}
    assert app.counter.drain() == []


def test_a_signed_override_changes_the_served_and_recorded_variant(serving: Serve) -> None:
    client = make_client()
    legacy, other_legacy = users_with(client, "legacy", 2)
    domain = users_with(client, "domain", 1)[0]
    tokens = signer()
    options: dict[str, Any] = {"overrides": SIGNED, "signer": tokens}
    with serving(client, flags=[CHECKOUT], unit=BY_HEADER, **options) as app:
        by_query = app.get(  # the query wins over the header: one decision, one count
            "/items/1",
            headers={"X-User-Id": legacy, "X-Force-Domain": "false"},
            params={
                "force_domain": "yes",
                "rollwise_token": tokens.sign(CHECKOUT, "domain", 60, environment=ENV),
            },
        ).json()
        assert (by_query["variant"], by_query["reason"], by_query["enabled"]) == (
            "domain",
            "override",
            True,
        )
        by_header = app.get(
            "/items/1",
            headers={
                "X-User-Id": other_legacy,
                "X-Force-Domain": "TRUE",
                "X-Rollwise-Override-Token": tokens.sign(
                    CHECKOUT, "domain", 60, subject=other_legacy, environment=ENV
                ),
            },
        ).json()
        assert (by_header["variant"], by_header["reason"]) == ("domain", "override")
        token_alone = app.get(
            "/items/1",
            headers={"X-User-Id": domain},
            params={"rollwise_token": tokens.sign(CHECKOUT, "legacy", 60, environment=ENV)},
        ).json()
        assert (token_alone["variant"], token_alone["reason"]) == ("legacy", "override")
        plain = app.get("/items/1", headers={"X-User-Id": legacy}).json()
        assert (plain["variant"], plain["reason"]) == ("legacy", "split")
        found = series(app.recorder, 4)
    route = app.templates["items"]
    assert found == {(CHECKOUT, "domain", route): (2, 0, 0), (CHECKOUT, "legacy", route): (2, 0, 0)}
    assert rows(app.counter) == [
        (CHECKOUT, "honoured", "domain", None, 2),
        (CHECKOUT, "honoured", "legacy", None, 1),
    ]


def test_forged_expired_and_misdirected_tokens_are_rejected_and_counted(serving: Serve) -> None:
    client = make_client()
    user = users_with(client, "legacy", 1)[0]
    clock = FakeClock()
    tokens = signer(clock)
    expired = tokens.sign(CHECKOUT, "domain", ttl=60, environment=ENV)
    clock.now += 60
    attempts = {
        "forged": signer(key="f" * 32).sign(CHECKOUT, "domain", 60, environment=ENV),
        "expired": expired,
        "wrong_flag": tokens.sign(OTHER, "domain", 60, environment=ENV),
        "wrong_environment": tokens.sign(CHECKOUT, "domain", 60, environment="staging"),
        "wrong_variant": tokens.sign(CHECKOUT, "legacy", 60, environment=ENV),
        "wrong_subject": tokens.sign(
            CHECKOUT, "domain", 60, subject="someone-else", environment=ENV
        ),
        "malformed": "not-a-token",
        "missing_token": "",
    }
    options: dict[str, Any] = {"overrides": SIGNED, "signer": tokens}
    with serving(client, flags=[CHECKOUT], unit=BY_HEADER, **options) as app:
        for token in attempts.values():
            params = {"force_domain": "true"}
            if token:
                params["rollwise_token"] = token
            body = app.get("/items/1", headers={"X-User-Id": user}, params=params).json()
            assert (body["variant"], body["reason"]) == ("legacy", "split")
        body = app.get(
            "/items/1", headers={"X-User-Id": user}, params={"force_domain": "maybe"}
        ).json()
        assert body["variant"] == "legacy"
        found = series(app.recorder, len(attempts) + 1)
    assert found == {(CHECKOUT, "legacy", app.templates["items"]): (len(attempts) + 1, 0, 0)}
    rejected = {reason: count for _, outcome, _, reason, count in rows(app.counter)}
    assert rejected == dict.fromkeys([*attempts, "unknown_value"], 1)


@pytest.mark.parametrize("framework", ["starlette", "fastapi", "flask"])
def test_unsigned_overrides_are_refused_in_production(framework: str) -> None:
    unsigned = OverridePolicy(enabled=True, allow_unsigned=True, parameters=(FORCE,))
    client = make_client("production")

    def build() -> None:
        if framework == "starlette":
            RollwiseMiddleware(Starlette(), client, flags=[CHECKOUT], overrides=unsigned)
        elif framework == "fastapi":  # add_middleware builds it on the first call: start-up
            app = FastAPI()
            app.add_middleware(RollwiseMiddleware, client=client, overrides=unsigned)
            with TestClient(app):
                pass
        else:
            Rollwise(flask.Flask("x"), client, flags=[CHECKOUT], overrides=unsigned)

    with pytest.raises(ConfigError, match="not allowed in 'production'"):
        build()


def test_unsigned_overrides_outside_production_only_if_the_policy_allows(serving: Serve) -> None:
    client = make_client("staging")
    user = users_with(client, "legacy", 1)[0]
    unsigned = OverridePolicy(enabled=True, allow_unsigned=True, parameters=(FORCE,))
    unit = {"unit": BY_HEADER}
    with serving(client, flags=[CHECKOUT], overrides=unsigned, **unit) as app:
        body = app.get("/items/1", headers={"X-User-Id": user}, params={"force_domain": "1"}).json()
        assert (body["variant"], body["reason"]) == ("domain", "override")
        assert rows(app.counter) == [(CHECKOUT, "honoured", "domain", None, 1)]
    with serving(client, flags=[CHECKOUT], overrides=SIGNED, signer=signer(), **unit) as app:
        body = app.get("/items/1", headers={"X-User-Id": user}, params={"force_domain": "1"}).json()
        assert (body["variant"], body["reason"]) == ("legacy", "split")
        assert rows(app.counter) == [(CHECKOUT, "rejected", None, "missing_token", 1)]


def test_a_force_parameter_must_name_variants_of_its_flag() -> None:
    bad = ForceParameter.boolean("force_domain", CHECKOUT, on="domian", off="legacy")
    policy = OverridePolicy(enabled=True, parameters=(bad,))
    with pytest.raises(ConfigError, match="'domian' is not a variant") as raised:
        RollwiseMiddleware(Starlette(), make_client(), overrides=policy, signer=signer())
    assert raised.value.path == "overrides.parameters[0].values"


def test_the_counter_is_the_integrations_own_or_the_one_given() -> None:
    given = OverrideCounter()
    middleware = RollwiseMiddleware(Starlette(), make_client(), override_counter=given)
    assert middleware.override_counter is given
    extension = Rollwise(flask.Flask("c"), make_client())
    assert isinstance(extension.override_counter, OverrideCounter)


def test_an_enabled_gate_counter_is_reported_with_the_client() -> None:
    client = make_client()
    policy = OverridePolicy(
        enabled=True,
        parameters=(ForceParameter.boolean("force_domain", CHECKOUT, on="domain", off="legacy"),),
    )
    middleware = RollwiseMiddleware(Starlette(), client, overrides=policy, signer=signer())
    assert middleware.override_counter in client.override_counters
    quiet = make_client()
    RollwiseMiddleware(Starlette(), quiet)  # overrides off: nothing to report
    assert quiet.override_counters == ()


def test_a_force_parameter_without_keys_is_counted_as_rejected(serving: Serve) -> None:
    """No signing keys: the policy is disabled, yet a tester's ``?force_domain=true`` is seen."""
    client = make_client()
    user = users_with(client, "legacy", 1)[0]
    no_keys = OverridePolicy(enabled=False, parameters=(FORCE,))
    with serving(client, flags=[CHECKOUT], unit=BY_HEADER, overrides=no_keys) as app:
        body = app.get(
            "/items/1", headers={"X-User-Id": user}, params={"force_domain": "true"}
        ).json()
        assert (body["variant"], body["reason"]) == ("legacy", "split")
        app.get("/items/1", headers={"X-User-Id": user, "X-Force-Domain": "1"})
        app.get("/items/1", headers={"X-User-Id": user})  # no parameter: nothing to count
        series(app.recorder, 3)
    assert rows(app.counter) == [(CHECKOUT, "rejected", None, "disabled", 2)]
    assert app.counter in client.override_counters  # so the reporter ships the count


@pytest.mark.parametrize("framework", ["starlette", "flask"])
@pytest.mark.parametrize("name", ["prd", "live", "eu-production"])
def test_unsigned_overrides_are_refused_where_the_configuration_marks_production(
    framework: str, name: str
) -> None:
    unsigned = OverridePolicy(enabled=True, allow_unsigned=True, parameters=(FORCE,))
    document = config() | {"environments": {name: {"production": True}}}
    document["flags"][0]["environments"][name] = {"split": {"legacy": 5000, "domain": 5000}}
    client = rollwise.Client(document, environment=name, options=ClientOptions(environ={}))
    assert client.production

    def build() -> None:
        if framework == "starlette":
            RollwiseMiddleware(Starlette(), client, flags=[CHECKOUT], overrides=unsigned)
        else:
            Rollwise(flask.Flask("x"), client, flags=[CHECKOUT], overrides=unsigned)

    with pytest.raises(ConfigError, match=f"not allowed in '{name}'"):
        build()
    unmarked = rollwise.Client(
        config() | {"environments": {name: {"production": False}}},
        environment=name,
        options=ClientOptions(environ={}),
    )
    assert not unmarked.production
    RollwiseMiddleware(Starlette(), unmarked, flags=[CHECKOUT], overrides=unsigned)
