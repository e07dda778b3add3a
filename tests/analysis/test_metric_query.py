"""The provider contract for any number of variants: queries, answers, the comparison view.

A query names the variants it wants (any number, in order) or a canary and its baseline; an
answer maps each variant to its metrics and, for a comparison, still gives ``canary`` and
``baseline`` the way the judge has always read them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rollwise.analysis import (
    Comparison,
    Decision,
    MetricQuery,
    StepMetrics,
    VariantMetrics,
    judge_step,
)
from rollwise.analysis.providers import Roles, require_traffic
from rollwise.core.gates import Gate
from rollwise.errors import NoDataError

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
END = START + timedelta(minutes=5)


def arms(**requests: int) -> list[VariantMetrics]:
    return [VariantMetrics(name, requests=count) for name, count in requests.items()]


def test_a_query_names_any_number_of_variants_in_order() -> None:
    query = MetricQuery(
        "checkout", "production", variants=["control", "a", "b"], start=START, end=END
    )
    assert query.variants == ("control", "a", "b")
    assert query.required == ()
    assert query.roles is None
    assert query.describe()["variants"] == ["control", "a", "b"]
    assert "canary" not in query.describe()
    with pytest.raises(ValueError, match="names no canary"):
        _ = query.canary
    one = MetricQuery("checkout", "production", variants=("v1.5.0",), start=START, end=END)
    assert one.variants == ("v1.5.0",)


def test_a_comparison_is_a_query_of_two_variants_that_requires_the_canary() -> None:
    query = MetricQuery("checkout", "production", "domain", "legacy", START, END)
    assert query.variants == ("domain", "legacy")
    assert query.required == ("domain",)
    assert (query.canary, query.baseline) == ("domain", "legacy")
    assert query.roles == Roles("domain", "legacy")
    assert query.describe() == {
        "flag": "checkout",
        "environment": "production",
        "canary": "domain",
        "baseline": "legacy",
        "start": START.isoformat(),
        "end": END.isoformat(),
    }
    blue_green = MetricQuery(
        flag="checkout", environment="production", canary="domain", baseline=None,
        start=START, end=END,
    )  # fmt: skip
    assert blue_green.variants == ("domain",)
    assert blue_green.baseline is None


@pytest.mark.parametrize(
    ("variants", "required", "message"),
    [
        ((), (), "at least one"),
        ("control", (), "sequence of names"),
        (("a", "b", "a"), (), "must not repeat: 'a'"),
        (("a", "b"), ("c",), "not among"),
    ],
)
def test_a_query_refuses_what_no_provider_could_answer(
    variants: tuple[str, ...], required: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        MetricQuery(
            "checkout", "production", variants=variants, start=START, end=END, required=required
        )


def test_a_query_refuses_mixed_forms_and_backward_windows() -> None:
    with pytest.raises(ValueError, match="same variant"):
        MetricQuery("checkout", "production", "domain", "domain", START, END)
    with pytest.raises(ValueError, match="before it starts"):
        MetricQuery("checkout", "production", variants=("a",), start=END, end=START)
    with pytest.raises(TypeError, match="requires its canary"):
        MetricQuery(  # type: ignore[call-overload]
            "checkout", "production", "domain", "legacy", START, END, required=("legacy",)
        )
    with pytest.raises(TypeError, match="not both"):
        MetricQuery(  # type: ignore[call-overload]
            "checkout", "production", "domain", variants=("a",), start=START, end=END
        )


def test_naive_instants_are_utc() -> None:
    naive = MetricQuery(
        "checkout", "production", variants=("a",), start=START.replace(tzinfo=None), end=END
    )
    assert naive.start == START
    assert naive.seconds == 300


def test_an_answer_maps_every_variant_and_any_two_form_a_comparison() -> None:
    query = MetricQuery(
        "checkout", "production", variants=("control", "a", "b"), start=START, end=END
    )
    answer = StepMetrics.for_query(query, arms(control=500, a=250, b=250), {}, {"provider": "t"})
    assert list(answer.variants) == ["control", "a", "b"]
    assert answer.variants["b"].requests == 250
    pair = answer.pair("a", "control")
    assert isinstance(pair, Comparison)
    assert (pair.canary.variant, pair.baseline and pair.baseline.variant) == ("a", "control")
    assert answer.pair("b").baseline is None
    with pytest.raises(ValueError, match="not in the answer"):
        answer.pair("c", "control")
    with pytest.raises(ValueError, match="names no canary"):
        _ = answer.canary
    summary = answer.summary()
    assert list(summary["variants"]) == ["control", "a", "b"]
    assert summary["variants"]["a"]["requests"] == 250
    assert summary["source"] == {"provider": "t"}


def test_an_answer_must_hold_each_queried_variant_once_in_order() -> None:
    query = MetricQuery("checkout", "production", variants=("control", "a"), start=START, end=END)
    for wrong in (arms(a=1, control=1), arms(control=1), arms(control=1, a=1, b=1)):
        with pytest.raises(ValueError, match="each queried variant once"):
            StepMetrics.for_query(query, wrong)


def test_a_comparisons_answer_reads_as_canary_and_baseline_as_before() -> None:
    query = MetricQuery("checkout", "production", "domain", "legacy", START, END)
    domain, legacy = arms(domain=100, legacy=900)
    built = StepMetrics.for_query(query, [domain, legacy])
    direct = StepMetrics(domain, legacy, {}, {"provider": "t"})
    for answer in (built, direct):
        assert answer.canary is domain
        assert answer.baseline is legacy
        assert answer.roles == Roles("domain", "legacy")
        assert answer.comparison == Comparison(domain, legacy)
        assert set(answer.summary()) == {"canary", "baseline", "missing", "source"}
    alone = StepMetrics(domain, None)
    assert alone.baseline is None
    assert alone.summary()["baseline"] is None


def test_the_judge_reads_any_pair_of_an_n_variant_answer() -> None:
    query = MetricQuery(
        "checkout", "production", variants=("control", "a", "b"), start=START, end=END
    )
    metrics = [
        VariantMetrics("control", requests=10_000, errors=100),
        VariantMetrics("a", requests=10_000, errors=95),
        VariantMetrics("b", requests=10_000, errors=600),
    ]
    answer = StepMetrics.for_query(query, metrics)
    gate = Gate(metric="error_rate", max_increase=0.5)
    decisions = {}
    for arm in ("a", "b"):
        pair = answer.pair(arm, "control")
        decisions[arm] = judge_step(
            [gate], pair.baseline, pair.canary, min_samples=100, bake_elapsed=True
        ).decision
    assert decisions == {"a": Decision.PROMOTE, "b": Decision.ROLLBACK}


def test_no_data_is_a_required_variant_without_traffic_or_no_traffic_at_all() -> None:
    comparison = MetricQuery("checkout", "production", "domain", "legacy", START, END)
    with pytest.raises(NoDataError, match="no requests for canary 'domain'") as raised:
        require_traffic(comparison, {"legacy": 10}, provider="test")
    assert raised.value.details["provider"] == "test"
    require_traffic(comparison, {"domain": 1})  # a baseline without traffic is no error
    three = MetricQuery("checkout", "production", variants=("c", "a", "b"), start=START, end=END)
    require_traffic(three, {"a": 1})
    with pytest.raises(NoDataError, match="any of the variants 'c', 'a', 'b'") as none:
        require_traffic(three, {}, provider="test", query="promql")
    assert none.value.details["variants"] == ["c", "a", "b"]
    assert none.value.details["query"] == "promql"
    strict = MetricQuery(
        "checkout", "production", variants=("c", "a"), start=START, end=END, required=("a",)
    )
    with pytest.raises(NoDataError, match="no requests for variant 'a'"):
        require_traffic(strict, {"c": 5})
