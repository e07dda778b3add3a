"""What the prometheus provider makes of answers a healthy Prometheus does not give: errors,
timeouts, proxies' HTML, odd values. Injected through an httpx transport (failure
injection only: every normal answer is tested against a real Prometheus)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from rollwise.analysis import MetricQuery
from rollwise.analysis.providers import (
    PrometheusConfig,
    PrometheusProvider,
    PrometheusQueryError,
)
from rollwise.core.gates import Gate
from rollwise.errors import NoDataError, ProviderError

END = datetime(2026, 3, 2, 12, 5, 0, 500_000, tzinfo=UTC)
QUERY = MetricQuery("checkout", "production", "domain", "legacy", END - timedelta(minutes=5), END)


def vector(*items: tuple[dict[str, str], str]) -> dict[str, Any]:
    result = [{"metric": labels, "value": [END.timestamp(), value]} for labels, value in items]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


def counts(**variants: tuple[str, str, str]) -> dict[str, Any]:
    """success, error, client_error per variant."""
    items = []
    for variant, values in variants.items():
        for outcome, value in zip(("success", "error", "client_error"), values, strict=True):
            items.append(({"variant": variant, "outcome": outcome}, value))
    return vector(*items)


Answer = Callable[[str], httpx.Response]


def provider(answer: Answer, **settings: Any) -> tuple[PrometheusProvider, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        form = parse_qs(request.content.decode())
        return answer(form["query"][0])

    config = PrometheusConfig.model_validate({"url": "http://prometheus:9090/prom", **settings})
    return PrometheusProvider(config, transport=httpx.MockTransport(handle)), seen


def json_answer(body: dict[str, Any], status: int = 200) -> Answer:
    return lambda _query: httpx.Response(status, json=body)


def test_the_request_carries_time_window_timeout_and_credentials() -> None:
    prom, seen = provider(
        json_answer(counts(domain=("10", "0", "0"))),
        bearer_token="s3cret",
        headers={"X-Scope-OrgID": "team-a"},
        timeout=3,
    )
    metrics = prom.fetch(QUERY)
    request = seen[0]
    form = parse_qs(request.content.decode())
    assert request.url.path == "/prom/api/v1/query"
    assert request.method == "POST"
    assert form["time"] == ["2026-03-02T12:05:00.500Z"]
    assert form["timeout"] == ["3s"]
    assert "[300s]" in form["query"][0]
    assert request.headers["Authorization"] == "Bearer s3cret"
    assert request.headers["X-Scope-OrgID"] == "team-a"
    assert metrics.source["window"] == "300s"
    assert "s3cret" not in json.dumps(metrics.summary())


def test_a_window_with_milliseconds_keeps_them() -> None:
    prom, seen = provider(json_answer(counts(domain=("1", "0", "0"))))
    prom.fetch(MetricQuery("f", "p", "domain", None, END - timedelta(seconds=1.25), END))
    assert "[1250ms]" in parse_qs(seen[0].content.decode())["query"][0]


def test_extrapolated_counts_are_rounded_per_outcome_and_add_up() -> None:
    prom, _ = provider(
        json_answer(counts(domain=("97.5", "2.49", "0.51"), legacy=("1000.4", "10.6", "0")))
    )
    metrics = prom.fetch(QUERY)
    domain, legacy = metrics.canary, metrics.baseline
    assert legacy is not None
    assert (domain.requests, domain.errors, domain.client_errors) == (101, 2, 1)
    assert (legacy.requests, legacy.errors, legacy.client_errors) == (1011, 11, 0)


@pytest.mark.parametrize(
    ("status", "body", "kind", "message"),
    [
        (
            400,
            {"status": "error", "errorType": "bad_data", "error": "parse error at char 3"},
            PrometheusQueryError,
            "parse error at char 3",
        ),
        (
            422,
            {"status": "error", "errorType": "execution", "error": "many-to-many matching"},
            PrometheusQueryError,
            "many-to-many",
        ),
        (
            503,
            {"status": "error", "errorType": "timeout", "error": "query timed out"},
            ProviderError,
            "query timed out",
        ),
    ],
)
def test_prometheus_errors_keep_their_message(
    status: int, body: dict[str, Any], kind: type[ProviderError], message: str
) -> None:
    prom, _ = provider(json_answer(body, status))
    with pytest.raises(kind, match=message) as raised:
        prom.fetch(QUERY)
    assert type(raised.value) is kind
    assert raised.value.details["status"] == status
    assert raised.value.details["error_type"] == body["errorType"]


def test_a_proxy_page_is_a_provider_error_with_its_text() -> None:
    prom, _ = provider(lambda _q: httpx.Response(502, text="<html><h1>Bad Gateway</h1></html>"))
    with pytest.raises(ProviderError, match=r"HTTP 502.*Bad Gateway"):
        prom.fetch(QUERY)


def test_a_timeout_is_a_provider_error() -> None:
    def slow(_query: str) -> httpx.Response:
        raise httpx.ReadTimeout("timed out")

    prom, _ = provider(slow, timeout=2)
    with pytest.raises(ProviderError, match="within 2s") as raised:
        prom.fetch(QUERY)
    assert not isinstance(raised.value, NoDataError)


def test_credentials_in_the_url_never_reach_an_error() -> None:
    def refused(_query: str) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    config = PrometheusConfig(url="http://user:hunter2@prometheus:9090")
    prom = PrometheusProvider(config, transport=httpx.MockTransport(lambda r: refused("")))
    with pytest.raises(ProviderError) as raised:
        prom.fetch(QUERY)
    assert "hunter2" not in str(raised.value)
    assert "hunter2" not in json.dumps(raised.value.details)


@pytest.mark.parametrize(
    "body",
    [
        {"status": "success", "data": {"resultType": "matrix", "result": []}},
        {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}}]}},
        {"status": "success"},
        ["not", "an", "object"],
    ],
)
def test_an_unexpected_shape_is_a_provider_error(body: Any) -> None:
    prom, _ = provider(lambda _q: httpx.Response(200, json=body))
    with pytest.raises(ProviderError):
        prom.fetch(QUERY)


def test_a_count_that_is_not_a_number_is_a_provider_error() -> None:
    prom, _ = provider(json_answer(counts(domain=("NaN", "0", "0"))))
    with pytest.raises(ProviderError, match="nan requests"):
        prom.fetch(QUERY)


def test_no_series_for_the_canary_is_no_data() -> None:
    prom, _ = provider(json_answer(counts(legacy=("100", "0", "0"), other=("5", "0", "0"))))
    with pytest.raises(NoDataError, match="canary 'domain'"):
        prom.fetch(QUERY)


def test_custom_values_scalar_nan_and_template_problems() -> None:
    def answer(query: str) -> httpx.Response:
        if query.startswith("sum by (variant, outcome)"):
            return httpx.Response(
                200, json=counts(domain=("50", "0", "0"), legacy=("500", "0", "0"))
            )
        if query.startswith("sum by (variant, le)"):
            return httpx.Response(200, json=vector())
        if query.startswith("scalar"):
            value = "0.25" if "domain" in query else "0.5"
            return httpx.Response(
                200,
                json={"status": "success", "data": {"resultType": "scalar", "result": [0, value]}},
            )
        return httpx.Response(200, json=vector(({}, "NaN")))

    prom, _ = provider(answer)
    gates = (
        Gate(name="scalar", metric="custom", query='scalar(x{variant="{variant}"})', max=1),
        Gate(name="ratio", metric="custom", query='x{variant="{variant}"} / 0', max=1),
        Gate(name="raw", metric="custom", query="x{variant=`{variant}`, f=`{flag}`}", max=1),
    )
    query = MetricQuery("fl`ag", "production", "domain", "legacy", QUERY.start, QUERY.end, gates)
    metrics = prom.fetch(query)
    assert metrics.canary.custom["scalar"].value == 0.25
    assert metrics.canary.custom["scalar"].samples == 50
    assert metrics.baseline is not None
    assert metrics.baseline.custom["scalar"].value == 0.5
    assert "nan" in metrics.missing["ratio"]
    assert "raw" in metrics.missing["raw"]
    assert "fl`ag" in metrics.missing["raw"]
    assert metrics.canary.latency is None  # no histogram: latency gates report no data
