"""Any number of variants through the prometheus provider, against the real Prometheus the
fixtures start: one query per metric selects exactly the variants asked for."""

from __future__ import annotations

import pytest

from rollwise.analysis import MetricQuery
from rollwise.analysis.providers import PrometheusProvider
from rollwise.core.gates import Gate
from rollwise.errors import NoDataError

from ._prometheus import Step, instant, record

pytestmark = pytest.mark.slow  # a real Prometheus, waits on real scrapes

PER_VARIANT_REQUESTS = (
    'sum(increase(rollwise_requests_total{flag="{flag}", variant="{variant}"}[{window}]))'
)


def arms_query(step: Step, *variants: str, gates: tuple[Gate, ...] = ()) -> MetricQuery:
    return MetricQuery(
        step.flag,
        "production",
        variants=variants,
        start=instant(step.before),
        end=instant(step.after),
        gates=gates,
    )


def test_three_arms_come_back_exact_and_a_lookalike_variant_stays_out(
    step: Step, provider: PrometheusProvider
) -> None:
    # "v1.5" as a regex would also match "v105": the provider escapes it
    step.warm_up("control", "v1.5", "b", "v105")
    total = record(step.recorder, step.flag, "control", {0.03: 500}, errors=5)
    total += record(step.recorder, step.flag, "v1.5", {0.004: 200, 0.6: 50}, errors=25)
    total += record(step.recorder, step.flag, "b", {0.2: 250}, client_errors=10)
    total += record(step.recorder, step.flag, "v105", {0.01: 999})
    step.burst(total)
    answer = provider.fetch(arms_query(step, "control", "v1.5", "b"))
    assert list(answer.variants) == ["control", "v1.5", "b"]
    figures = {name: (m.requests, m.errors, m.client_errors) for name, m in answer.variants.items()}
    assert figures == {"control": (500, 5, 0), "v1.5": (250, 25, 0), "b": (250, 0, 10)}
    latency = answer.variants["v1.5"].latency
    assert latency is not None
    assert latency.count == 250
    assert latency.quantile(0.95) == pytest.approx(0.75, rel=0.011)  # (0.5, 0.75] bucket
    for metrics in answer.variants.values():
        assert metrics.windows is not None
        assert sum(w.requests for w in metrics.windows) == metrics.requests
    requests_query = answer.source["queries"]["requests"]
    assert 'variant=~"control|v1\\\\.5|b"' in requests_query


def test_a_custom_gate_is_evaluated_for_every_arm(step: Step, provider: PrometheusProvider) -> None:
    step.warm_up("control", "a", "b")
    total = sum(
        record(step.recorder, step.flag, variant, {0.01: count})
        for variant, count in (("control", 300), ("a", 200), ("b", 100))
    )
    step.burst(total)
    gate = Gate(name="served", metric="custom", query=PER_VARIANT_REQUESTS, max=1e9)
    answer = provider.fetch(arms_query(step, "control", "a", "b", gates=(gate,)))
    assert answer.missing == {}
    values = {name: m.custom["served"] for name, m in answer.variants.items()}
    assert {name: round(v.value) >= 1 for name, v in values.items()} == dict.fromkeys(
        ("control", "a", "b"), True
    )
    assert {name: v.samples for name, v in values.items()} == {"control": 300, "a": 200, "b": 100}
    assert set(answer.source["queries"]["served"]) == {"control", "a", "b"}


def test_arms_without_traffic_are_zero_and_none_at_all_is_no_data(
    step: Step, provider: PrometheusProvider
) -> None:
    step.warm_up("control")
    step.burst(record(step.recorder, step.flag, "control", {0.01: 40}))
    answer = provider.fetch(arms_query(step, "a", "control"))
    assert [(m.variant, m.requests) for m in answer.variants.values()] == [
        ("a", 0),
        ("control", 40),
    ]
    with pytest.raises(NoDataError, match="any of the variants 'a', 'b'") as raised:
        provider.fetch(arms_query(step, "a", "b"))
    assert 'variant=~"a|b"' in raised.value.details["query"]
