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


def matrix(*items: tuple[dict[str, str], list[tuple[float, str]]]) -> dict[str, Any]:
    """Series of raw samples: ``(seconds after the window's start, value)`` each."""
    start = QUERY.start.timestamp()
    result = [
        {"metric": labels, "values": [[start + at, value] for at, value in points]}
        for labels, points in items
    ]
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}


def counts(**variants: tuple[str, str, str]) -> dict[str, Any]:
    """success, error, client_error per variant: counted between two scrapes of the window."""
    items = []
    for variant, values in variants.items():
        for outcome, value in zip(("success", "error", "client_error"), values, strict=True):
            items.append(({"variant": variant, "outcome": outcome}, [(1.0, "0"), (299.0, value)]))
    return matrix(*items)


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
    """``body`` for every query; a matrix of counts stands for no histogram (an empty vector
    for the instant latency queries)."""
    counts_only = body.get("data", {}).get("resultType") == "matrix"

    def answer(query: str) -> httpx.Response:
        if counts_only and query.startswith(("max_over_time(", "resets(")):
            return httpx.Response(200, json=vector())
        return httpx.Response(status, json=body)

    return answer


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


def test_counts_are_differences_between_scrapes_across_resets_and_replicas() -> None:
    ok, error = (
        {"variant": "domain", "outcome": "success"},
        {"variant": "domain", "outcome": "error"},
    )
    prom, _ = provider(
        json_answer(
            matrix(
                # 40 before the window's first scrape (not counted), then +10, a restart
                # (3 since), +5: 18 counted
                ({**ok, "instance": "a"}, [(2.0, "40"), (17.0, "50"), (32.0, "3"), (47.0, "8")]),
                ({**ok, "instance": "b"}, [(5.0, "7"), (20.0, "9")]),  # another replica: +2
                ({**error, "instance": "a"}, [(2.0, "1"), (47.0, "4")]),  # +3
                ({"variant": "legacy", "outcome": "success"}, [(2.0, "100")]),  # one scrape: 0
            )
        )
    )
    metrics = prom.fetch(QUERY)
    domain, legacy = metrics.canary, metrics.baseline
    assert legacy is not None
    assert (domain.requests, domain.errors, domain.client_errors) == (23, 3, 0)
    assert (legacy.requests, legacy.errors) == (0, 0)
    assert metrics.source["counting"] == "exact differences between scrapes"


def test_windows_hold_the_differences_of_the_scrapes_that_fall_in_them() -> None:
    ok = {"variant": "domain", "outcome": "success"}
    bad = {"variant": "domain", "outcome": "error"}
    legacy = {"variant": "legacy", "outcome": "success"}
    prom, _ = provider(
        json_answer(
            matrix(
                (ok, [(0.0, "0"), (59.0, "10"), (60.0, "15"), (130.0, "20"), (300.0, "26")]),
                (bad, [(0.0, "0"), (59.0, "1"), (60.0, "1"), (130.0, "3"), (300.0, "3")]),
                (legacy, [(0.0, "0"), (59.0, "90"), (60.0, "100"), (130.0, "190")]),
            )
        ),
        window_seconds=60,
    )
    metrics = prom.fetch(QUERY)
    domain, base = metrics.canary, metrics.baseline
    assert base is not None
    assert domain.windows is not None
    assert base.windows is not None
    starts = [QUERY.start + timedelta(seconds=60 * k) for k in range(5)]
    assert [(w.start, w.end) for w in domain.windows] == [
        (s, min(s + timedelta(seconds=60), QUERY.end)) for s in starts
    ]
    assert [(w.start, w.end) for w in base.windows] == [(w.start, w.end) for w in domain.windows]
    # a scrape at the window's start belongs to it; one at the look's end to the last one
    assert [(w.requests, w.errors) for w in domain.windows] == [
        (11, 1),
        (5, 0),
        (7, 2),
        (0, 0),
        (6, 0),
    ]
    assert [w.requests for w in base.windows] == [90, 10, 90, 0, 0]
    assert (domain.requests, domain.errors, base.requests) == (29, 3, 190)


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
        {"status": "success", "data": {"resultType": "vector", "result": []}},
        {"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}}]}},
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
        if query.startswith("rollwise_requests_total"):
            return httpx.Response(
                200, json=counts(domain=("50", "0", "0"), legacy=("500", "0", "0"))
            )
        if query.startswith("rollwise_request_duration_seconds_bucket"):
            return httpx.Response(200, json=matrix())
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


def _latency_answers(restarted: bool) -> Callable[[str], httpx.Response]:
    """Counts for domain; its histogram as spans (max - min), resets, and raw samples."""
    bucket = {"variant": "domain", "le": "0.1"}
    inf = {"variant": "domain", "le": "+Inf"}

    def answer(query: str) -> httpx.Response:
        if query.startswith("rollwise_requests_total"):
            return httpx.Response(200, json=counts(domain=("10", "0", "0")))
        if query.startswith("max_over_time("):  # would be wrong across a restart
            return httpx.Response(200, json=vector((bucket, "7"), (inf, "10")))
        if query.startswith("resets("):
            return httpx.Response(200, json=vector((inf, "1")) if restarted else vector())
        # raw: 6 up to 0.1 s, 10 in all, across a restart of the process
        return httpx.Response(
            200,
            json=matrix(
                (bucket, [(1.0, "50"), (100.0, "53"), (200.0, "3")]),
                (inf, [(1.0, "90"), (100.0, "95"), (200.0, "5")]),
            ),
        )

    return answer


@pytest.mark.parametrize(("restarted", "fast", "total"), [(False, 7, 10), (True, 6, 10)])
def test_histogram_spans_without_a_restart_and_raw_samples_across_one(
    restarted: bool, fast: int, total: int
) -> None:
    prom, seen = provider(_latency_answers(restarted))
    metrics = prom.fetch(QUERY)
    latency = metrics.canary.latency
    assert latency is not None
    assert latency.count == total
    assert latency.cumulative_counts([0.1])[0] == fast
    sent = [parse_qs(request.content.decode())["query"][0] for request in seen]
    raw = [query for query in sent if query.startswith("rollwise_request_duration_seconds_bucket")]
    assert len(raw) == (1 if restarted else 0)
    # spans first, then resets: a restart scraped in between is still caught
    assert sent.index(next(q for q in sent if q.startswith("max_over_time("))) < sent.index(
        next(q for q in sent if q.startswith("resets("))
    )
