"""The prometheus provider against a real Prometheus scraping a real exporter on loopback.

Each test records requests with known outcomes and latencies for two variants of a flag of
its own, waits until Prometheus has scraped them, and reads them back through the provider.
Counts are exact differences between the scrapes inside the window (Prometheus 2, Debian's,
whose ranges ``[end - W, end]`` include both edges), whatever the window's edges.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollwise.analysis import Decision, MetricQuery, judge_step
from rollwise.analysis.providers import (
    PrometheusConfig,
    PrometheusProvider,
    PrometheusQueryError,
)
from rollwise.analysis.providers.prometheus._promql import escape
from rollwise.core.gates import Gate
from rollwise.errors import NoDataError, ProviderError

from ..._support.net import free_port
from ._prometheus import USERNAME, PrometheusServer, Step, config, instant, record

pytestmark = pytest.mark.slow  # a real Prometheus, waits on real scrapes

ERROR_RATIO = (
    'sum(increase(rollwise_requests_total{flag="{flag}", variant="{variant}", outcome="error"}'
    '[{window}])) / sum(increase(rollwise_requests_total{flag="{flag}", variant="{variant}"}'
    "[{window}]))"
)


def two_variants(step: Step, *, min_seconds: float = 0.0) -> None:
    """legacy: 900 requests, 9 errors, 30 client errors, 850 at 30 ms and 50 at 200 ms;
    domain: 100 requests, 5 errors, 60 at 4 ms and 40 at 600 ms."""
    step.warm_up("legacy", "domain")
    total = record(
        step.recorder, step.flag, "legacy", {0.03: 850, 0.2: 50}, errors=9, client_errors=30
    )
    total += record(step.recorder, step.flag, "domain", {0.004: 60, 0.6: 40}, errors=5)
    step.burst(total, min_seconds=min_seconds)


def test_counts_between_scrape_instants_are_exact(step: Step, provider: PrometheusProvider) -> None:
    two_variants(step)
    metrics = provider.fetch(step.query())
    legacy, domain = metrics.baseline, metrics.canary
    assert legacy is not None
    assert (legacy.requests, legacy.errors, legacy.client_errors) == (900, 9, 30)
    assert (domain.requests, domain.errors, domain.client_errors) == (100, 5, 0)
    assert metrics.source["provider"] == "prometheus"
    assert step.flag in metrics.source["queries"]["requests"]


def test_latency_quantiles_are_the_histogram_buckets_upper_bounds(
    step: Step, provider: PrometheusProvider
) -> None:
    two_variants(step)
    metrics = provider.fetch(step.query())
    legacy, domain = metrics.baseline, metrics.canary
    assert legacy is not None
    assert legacy.latency is not None
    assert domain.latency is not None
    assert (legacy.latency.count, domain.latency.count) == (900, 100)
    # 30 ms lies in the bucket (25 ms, 50 ms], 200 ms in (150, 250], 4 ms in (2.5, 5],
    # 600 ms in (500, 750]: each quantile reads as its bucket's upper bound, within 1%
    assert legacy.latency.quantile(0.5) == pytest.approx(0.05, rel=0.011)
    assert legacy.latency.quantile(0.95) == pytest.approx(0.25, rel=0.011)
    assert domain.latency.quantile(0.5) == pytest.approx(0.005, rel=0.011)
    assert domain.latency.quantile(0.95) == pytest.approx(0.75, rel=0.011)


def test_counts_over_a_window_between_scrapes_are_still_exact(
    step: Step, provider: PrometheusProvider
) -> None:
    two_variants(step, min_seconds=4)
    start = instant(step.before) - timedelta(milliseconds=700)
    end = instant(step.after) + timedelta(milliseconds=400)
    metrics = provider.fetch(step.query(start=start, end=end))
    # Both scrape instants lie in [start, end] (and no earlier scrape does): the burst is
    # counted exactly, where increase() would stretch it to the window's edges
    legacy, domain = metrics.baseline, metrics.canary
    assert legacy is not None
    assert (legacy.requests, legacy.errors, legacy.client_errors) == (900, 9, 30)
    assert (domain.requests, domain.errors) == (100, 5)


def test_custom_gate_query_is_evaluated_per_variant(
    step: Step, provider: PrometheusProvider
) -> None:
    two_variants(step)
    gate = Gate(name="error-ratio", metric="custom", query=ERROR_RATIO, max=0.5)
    metrics = provider.fetch(step.query(gates=(gate,)))
    assert metrics.missing == {}
    assert metrics.canary.custom["error-ratio"].value == pytest.approx(0.05)
    assert metrics.canary.custom["error-ratio"].samples == 100
    assert metrics.baseline is not None
    assert metrics.baseline.custom["error-ratio"].value == pytest.approx(0.01)
    rendered = metrics.source["queries"]["error-ratio"]["domain"]
    assert f'flag="{step.flag}", variant="domain"' in rendered
    assert "{window}" not in rendered


def test_a_broken_custom_query_loses_only_its_gate(
    step: Step, provider: PrometheusProvider
) -> None:
    two_variants(step)
    broken = Gate(name="broken", metric="custom", query='sum(rate(x{variant="{variant}"}', max=1)
    several = Gate(
        name="several", metric="custom", query='rollwise_requests_total{variant="{variant}"}', max=1
    )
    empty = Gate(name="empty", metric="custom", query='nothing_here{variant="{variant}"}', max=1)
    mismatch = Gate(metric="mismatch_rate", max=0.01)
    metrics = provider.fetch(step.query(gates=(broken, several, empty, mismatch)))
    assert "parse error" in metrics.missing["broken"]
    assert "expected one" in metrics.missing["several"]
    assert "no series" in metrics.missing["empty"]
    assert "dual-run" in metrics.missing["mismatch_rate"]
    assert metrics.canary.custom == {}
    assert metrics.canary.requests == 100  # the other metrics are all there


def test_a_canary_failing_its_gate_is_rolled_back_on_prometheus_data(
    step: Step, provider: PrometheusProvider
) -> None:
    step.warm_up("domain")
    total = record(step.recorder, step.flag, "domain", {0.01: 400}, errors=200)
    step.burst(total)
    metrics = provider.fetch(step.query(baseline=None))  # blue-green: no baseline
    assert metrics.baseline is None
    judgement = judge_step(
        [Gate(metric="error_rate", max=0.05)],
        metrics.baseline,
        metrics.canary,
        min_samples=100,
        bake_elapsed=False,
    )
    assert judgement.decision is Decision.ROLLBACK


def test_matchers_and_environment_label_narrow_the_selection(
    step: Step, prometheus: PrometheusServer
) -> None:
    two_variants(step)
    matching = PrometheusProvider(
        config(prometheus, matchers={"namespace": "prod"}, environment_label="rollwise_environment")
    )
    elsewhere = PrometheusProvider(config(prometheus, matchers={"namespace": "staging"}))
    try:
        assert matching.fetch(step.query()).canary.requests == 100
        with pytest.raises(NoDataError):
            matching.fetch(step.query(environment="staging"))
        with pytest.raises(NoDataError):
            elsewhere.fetch(step.query())
    finally:
        matching.close()
        elsewhere.close()


def test_a_baseline_without_requests_comes_back_empty(
    step: Step, provider: PrometheusProvider
) -> None:
    step.warm_up("domain")
    step.burst(record(step.recorder, step.flag, "domain", {0.01: 20}))
    metrics = provider.fetch(step.query())
    assert metrics.baseline is not None
    assert (metrics.baseline.requests, metrics.baseline.latency) == (0, None)
    assert metrics.canary.requests == 20


def test_an_unknown_flag_is_no_data(
    prometheus: PrometheusServer, provider: PrometheusProvider
) -> None:
    now = datetime.now(UTC)
    query = MetricQuery(
        "never-seen", "production", "domain", "legacy", now - timedelta(minutes=5), now
    )
    with pytest.raises(NoDataError) as raised:
        provider.fetch(query)
    assert raised.value.details["flag"] == "never-seen"
    assert "never-seen" in raised.value.details["query"]


def test_an_empty_window_is_no_data(provider: PrometheusProvider) -> None:
    now = datetime.now(UTC)
    with pytest.raises(NoDataError, match="empty"):
        provider.fetch(MetricQuery("f", "production", "domain", "legacy", now, now))


def test_prometheus_down_is_a_provider_error_not_no_data() -> None:
    closed = PrometheusProvider(PrometheusConfig(url=f"http://127.0.0.1:{free_port()}", timeout=5))
    now = datetime.now(UTC)
    try:
        with pytest.raises(ProviderError, match="cannot reach prometheus") as raised:
            closed.fetch(
                MetricQuery("f", "production", "domain", "legacy", now - timedelta(minutes=1), now)
            )
    finally:
        closed.close()
    assert not isinstance(raised.value, NoDataError)


def test_wrong_credentials_are_a_provider_error(prometheus: PrometheusServer) -> None:
    refused = PrometheusProvider(
        config(prometheus, basic_auth={"username": USERNAME, "password": "wrong"})
    )
    now = datetime.now(UTC)
    try:
        with pytest.raises(ProviderError, match="credentials") as raised:
            refused.fetch(
                MetricQuery("f", "production", "domain", "legacy", now - timedelta(minutes=1), now)
            )
    finally:
        refused.close()
    assert raised.value.details["status"] == 401


def test_prometheus_refusing_a_query_keeps_its_message(prometheus: PrometheusServer) -> None:
    # a matcher on a label value cannot break the query, so break the metric name Prometheus
    # receives by going around the config's validation: the refusal must come back verbatim
    bad = config(prometheus).model_copy(update={"requests_metric": "rollwise_requests_total{"})
    provider = PrometheusProvider(bad)
    now = datetime.now(UTC)
    try:
        with pytest.raises(PrometheusQueryError, match="parse error") as raised:
            provider.fetch(
                MetricQuery("f", "production", "domain", "legacy", now - timedelta(minutes=1), now)
            )
    finally:
        provider.close()
    assert raised.value.details["error_type"] == "bad_data"
    assert raised.value.details["status"] == 400


@settings(max_examples=30, deadline=None)
@given(text=st.text(st.characters(codec="utf-8", exclude_characters="$\x00"), max_size=30))
def test_escaped_label_values_reach_prometheus_unchanged(
    prometheus: PrometheusServer, text: str
) -> None:
    for quote in ('"', "'"):
        literal = f"{quote}{escape(text, quote)}{quote}"
        result = prometheus.api(f'label_replace(vector(1), "echo", {literal}, "", "")')
        assert result[0]["metric"].get("echo", "") == text


def test_a_custom_alert_rule_fires_on_prometheus_data_relative_to_the_baseline(
    step: Step, provider: PrometheusProvider, store: Any
) -> None:
    from rollwise.controller.alerts import AlertEvaluator
    from rollwise.store import AlertState

    two_variants(step)  # error ratio: domain 5%, legacy 1%
    with store.transaction("admin") as tx:
        tx.environments.create("production")
        tx.flags.create(step.flag, variants=["legacy", "domain"])
        for name, comparison, threshold in (
            ("domain-error-ratio-up", "increase_above", 2.0),  # 5% is 400% above 1%
            ("domain-error-ratio-high", "above", 0.10),  # 5% is not above 10%
        ):
            tx.alerts.create_rule(
                {
                    "name": name,
                    "environment": "production",
                    "flag": step.flag,
                    "variant": "domain",
                    **({"baseline": "legacy"} if comparison == "increase_above" else {}),
                    "metric": "custom",
                    "query": ERROR_RATIO,
                    "comparison": comparison,
                    "threshold": threshold,
                    "window": "5m",
                }
            )
    outcomes = {o.rule: o for o in AlertEvaluator(store, provider).evaluate(instant(step.after))}
    up = outcomes["domain-error-ratio-up"]
    assert up.changed_to is AlertState.FIRING, up
    assert up.observation is not None
    assert up.observation.value == pytest.approx(0.05, rel=0.2)
    assert up.observation.baseline_value == pytest.approx(0.01, rel=0.2)
    assert up.observation.details is not None
    assert up.observation.details["source"]["provider"] == "prometheus"
    high = outcomes["domain-error-ratio-high"]
    assert high.changed_to is None
    assert high.observation is not None
    assert high.observation.breached is False
