"""Experiments whose metrics are SQL over the user's own database or warehouse.

The same seeded data goes to the control plane as SDK telemetry (a builtin experiment in
production) and into a warehouse's tables (a sql experiment in staging, or sql metrics next
to builtin ones over the control plane's own PostgreSQL): ``/results`` must give the same
numbers. Then what a definition may not say, and what a request says when the warehouse
cannot answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from rollwise.core.experiment import parse_experiment
from rollwise.errors import ConfigError
from rollwise.store import Store

from .._db import fresh_postgres_database
from ._api import ADMIN_HEADERS, seed_api, start
from ._support import definition
from ._warehouse import EXPOSURES_QUERY, ingest, load_warehouse, make_dataset, metrics

DATA = make_dataset()
SQL = {"connection_env": "ROLLWISE_TEST_WAREHOUSE_URL", "exposures_query": EXPOSURES_QUERY}


@pytest.fixture(params=["postgresql", "duckdb"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A warehouse holding the dataset in its own tables; yields its SQLAlchemy URL."""
    if request.param == "postgresql":
        with fresh_postgres_database() as url:
            engine = create_engine(url)
            load_warehouse(engine, DATA)
            engine.dispose()
            yield url
        return
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    engine = create_engine(url)
    load_warehouse(engine, DATA)
    engine.dispose()
    yield url


def _results(client: TestClient, key: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/experiments/{key}/results", headers=ADMIN_HEADERS)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _same(actual: Any, expected: Any, where: str = "") -> None:
    """Equal JSON, floats to 1e-9 relative (sums in another engine, another order)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        assert actual.keys() == expected.keys(), where
        for name in expected:
            _same(actual[name], expected[name], f"{where}.{name}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), where
        assert len(actual) == len(expected), where
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _same(a, e, f"{where}.{index}")
    elif isinstance(expected, float) and not isinstance(expected, bool):
        assert actual == pytest.approx(expected, rel=1e-9, abs=1e-12), where
    else:
        assert actual == expected, where


def _analysis(body: dict[str, Any]) -> dict[str, Any]:
    return {name: body[name] for name in ("units", "excluded_units", "per_arm", "results")}


def test_sql_metrics_over_a_warehouse_match_the_builtin_ones(
    client: TestClient, store: Store, warehouse: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_api(client)
    start(client, definition(**metrics("builtin")))
    ingest(store, "production", DATA)
    sql = definition(key="checkout-sql", environment="staging", **metrics("sql", **SQL))
    start(client, sql)
    monkeypatch.setenv("ROLLWISE_TEST_WAREHOUSE_URL", warehouse)

    builtin, from_sql = _results(client, "checkout-test"), _results(client, "checkout-sql")

    assert builtin["source"] == "builtin"
    assert from_sql["source"] == "sql"
    assert from_sql["metric_sources"] == dict.fromkeys(
        ("conversion", "revenue", "revenue_per_session", "revenue_per_session_cuped"), "sql"
    )
    assert sum(builtin["units"].values()) == 240 - 4
    assert builtin["excluded_units"] == 4
    assert builtin["per_arm"]["variant_b"]["conversion"]["value"] > 0.3  # data, not zeros
    _same(_analysis(from_sql), _analysis(builtin))
    cuped = next(
        m for m in builtin["results"]["metrics"] if m["metric"] == "revenue_per_session_cuped"
    )
    assert all(theta is not None for theta in cuped["cuped_theta"].values())

    # stopped: events up to the stop only, in both (the window's end bound in the warehouse)
    for key in ("checkout-test", "checkout-sql"):
        stop = {"decision": {"kind": "inconclusive"}}
        response = client.post(f"/api/v1/experiments/{key}/stop", json=stop, headers=ADMIN_HEADERS)
        assert response.status_code == 200, response.text
    stopped = _results(client, "checkout-sql")
    assert stopped["state"] == "stopped"
    _same(_analysis(stopped), _analysis(_results(client, "checkout-test")))


def test_sql_metrics_over_the_control_planes_own_database_use_its_exposures(
    postgres_url: str, postgres_emptier: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No exposures query: the SDK's exposures rollwise stored (mixed units out)."""
    from ..server._support import app_for

    postgres_emptier.empty()
    own = {"connection_env": "ROLLWISE_TEST_WAREHOUSE_URL"}
    sql = metrics("sql", **own)
    both = metrics("builtin")
    for role in ("primary", "secondary"):
        both[role] += [{**spec, "key": f"{spec['key']}_sql"} for spec in sql[role]]
    engine = create_engine(postgres_url)
    load_warehouse(engine, DATA, exposures=False)
    store = Store(postgres_url)
    try:
        with TestClient(app_for(postgres_url)) as client:
            seed_api(client)
            start(client, definition(**both))
            ingest(store, "production", DATA)
            monkeypatch.setenv("ROLLWISE_TEST_WAREHOUSE_URL", postgres_url)
            body = _results(client, "checkout-test")
    finally:
        store.close()
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE wh_events"))
        engine.dispose()

    assert body["source"] == "mixed"
    assert body["metric_sources"]["conversion_sql"] == "sql"
    keys = ("conversion", "revenue", "revenue_per_session", "revenue_per_session_cuped")
    for arm, values in body["per_arm"].items():
        for key in keys:
            _same(values[f"{key}_sql"], values[key], f"{arm}.{key}")
    by_key = {m["metric"]: m for m in body["results"]["metrics"]}
    for key in keys:
        copy, original = dict(by_key[f"{key}_sql"]), dict(by_key[key])
        copy.pop("metric"), original.pop("metric")
        copy.pop("role"), original.pop("role")
        _same(copy["arms"], original["arms"], key)


def _issues(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse_experiment(data)
    return {issue.path: issue.reason for issue in caught.value.issues}


def test_a_metric_has_exactly_one_source_and_names_a_variable_never_a_url() -> None:
    sql = {"key": "m", "kind": "mean", "source": "sql", "query": "SELECT 1"}
    assert _issues(definition(primary=[{**sql}])) == {
        "primary.0.connection_env": "a sql metric needs the name of the environment "
        "variable holding its database's SQLAlchemy URL"
    }
    url = "postgresql://app:hunter2@db/shop"
    issues = _issues(definition(primary=[{**sql, "connection_env": url}]))
    assert list(issues) == ["primary.0.connection_env"]
    assert "never the URL itself" in issues["primary.0.connection_env"]
    issues = _issues(definition(primary=[{**sql, "connection_env": "W", "event": "purchase"}]))
    assert list(issues) == ["primary.0.event"]
    issues = _issues(definition(primary=[{"key": "m", "kind": "mean", "query": "SELECT 1"}]))
    assert set(issues) == {"primary.0.event", "primary.0.query"}
    assert "source: sql" in issues["primary.0.event"]
    issues = _issues(definition(primary=[{"key": "m", "kind": "mean", "source": "sql"}]))
    assert set(issues) == {"primary.0.query", "primary.0.connection_env"}
    ratio = {**sql, "kind": "ratio", "connection_env": "W"}
    assert list(_issues(definition(primary=[ratio]))) == ["primary.0.denominator_query"]
    builtin = {"key": "m", "kind": "mean", "event": "e", "exposures_query": "SELECT 1"}
    assert list(_issues(definition(primary=[builtin]))) == ["primary.0.exposures_query"]
    fine = parse_experiment(
        definition(primary=[{**ratio, "denominator_query": "SELECT 2"}], secondary=[])
    )
    assert fine.primary[0].events == ()
    assert fine.events() == {"error"}


def test_the_api_names_the_field(client: TestClient) -> None:
    seed_api(client)
    data = definition(primary=[{"key": "m", "kind": "mean", "source": "sql", "query": "x"}])
    response = client.post("/api/v1/experiments", json=data, headers=ADMIN_HEADERS)
    assert response.status_code == 422, response.text
    paths = [i["path"] for i in response.json()["error"]["details"]["issues"]]
    assert paths == ["primary.0.connection_env"]


def _error(client: TestClient, key: str, status: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/experiments/{key}/results", headers=ADMIN_HEADERS)
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def test_a_warehouse_that_cannot_answer_is_a_clear_error_naming_the_metric(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seed_api(client)
    start(client, definition(key="checkout-sql", **metrics("sql", **SQL)))
    variable = "ROLLWISE_TEST_WAREHOUSE_URL"

    monkeypatch.delenv(variable, raising=False)
    error = _error(client, "checkout-sql", 409)
    assert error["code"] == "metric_source_unavailable"
    assert error["details"]["metric"] == "conversion"
    assert error["details"]["reason"] == "variable_not_set"
    assert variable in error["message"]
    assert "not set" in error["message"]

    monkeypatch.setenv(variable, "not a url")
    error = _error(client, "checkout-sql", 409)
    assert error["details"]["reason"] == "invalid_url"
    assert "not a url" not in error["message"]

    monkeypatch.setenv(variable, "nosuchdialect://warehouse/shop")
    assert _error(client, "checkout-sql", 409)["details"]["reason"] == "engine_unavailable"

    # nothing listens on port 1: refused at once, and the password never shows
    monkeypatch.setenv(variable, "postgresql+psycopg://shop:hunter2@127.0.0.1:1/shop")
    error = _error(client, "checkout-sql", 409)
    assert error["details"] == {
        "metric": "conversion",
        "source": "sql",
        "connection_env": variable,
        "reason": "query_failed",
    }
    assert "hunter2" not in str(error)

    # a reachable database whose query fails (no such table)
    monkeypatch.setenv(variable, f"duckdb:///{tmp_path / 'empty.duckdb'}")
    error = _error(client, "checkout-sql", 409)
    assert error["details"]["reason"] == "query_failed"
    assert "wh_exposures" in error["message"]


def test_another_database_without_an_exposures_query_is_refused(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seed_api(client)
    own = {"connection_env": "ROLLWISE_TEST_WAREHOUSE_URL"}
    start(client, definition(key="checkout-sql", **metrics("sql", **own)))
    monkeypatch.setenv("ROLLWISE_TEST_WAREHOUSE_URL", f"duckdb:///{tmp_path / 'w.duckdb'}")
    error = _error(client, "checkout-sql", 422)
    assert error["details"]["issues"][0]["path"] == "primary.0.exposures_query"
    assert "needs an exposures_query" in error["message"]
