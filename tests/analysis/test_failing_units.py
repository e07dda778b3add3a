"""The unit-level gate (``failing_units``): the share of units with a failure, judged with
the conditional-binomial test on failing units; estimation bounds that only slow it down;
no data, with the reason, when units are missing; and the gate spec's checks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rollwise.analysis import Verdict, judge_gate
from rollwise.analysis._unit_counts import UnitCounts
from rollwise.analysis.data import VariantMetrics
from rollwise.core.gates import Gate, PromotionRule

GATE = Gate(metric="failing_units", max_increase=0.2)


def exact(units: int, failing: int) -> UnitCounts:
    return UnitCounts(units, failing, (units, units), (failing, failing))


def metrics(variant: str, counts: UnitCounts | None) -> VariantMetrics:
    return VariantMetrics(variant, requests=10_000, errors=100, units=counts)


def judge(
    canary: UnitCounts | None, baseline: UnitCounts | None, gate: Gate = GATE, **kw: object
) -> object:
    return judge_gate(
        gate, metrics("legacy", baseline), metrics("domain", canary), min_samples=100, **kw
    )


def test_a_canary_failing_many_more_users_is_rolled_back() -> None:
    result = judge(exact(1000, 300), exact(9000, 900))
    assert result.verdict is Verdict.FAIL
    check = result.evidence["checks"][0]
    assert check["test"] == "conditional_binomial_mixture"
    assert check["tested_counts"] == {"canary": [300, 1000], "baseline": [900, 9000]}
    assert "canary failing units 30% vs allowed 12%" in result.reason


def test_the_same_share_passes_and_a_small_excess_holds() -> None:
    assert judge(exact(1000, 100), exact(9000, 900)).verdict is Verdict.PASS
    held = judge(exact(1000, 130), exact(9000, 900))
    assert held.verdict is Verdict.HOLD
    assert "not significant" in held.reason


def test_estimation_bounds_are_taken_against_a_rollback() -> None:
    # the estimates alone would fail the canary; their bounds leave room for the opposite
    wide = UnitCounts(1000, 200, (900, 1100), (150, 250))
    result = judge(wide, UnitCounts(9000, 900, (8500, 9500), (850, 1000)))
    tested = result.evidence["checks"][0]["tested_counts"]
    assert tested == {"canary": [150, 1100], "baseline": [1000, 8500]}
    strict = judge(exact(1000, 200), exact(9000, 900))
    assert strict.verdict is Verdict.FAIL
    assert result.evidence["checks"][0]["statistic"] < strict.evidence["checks"][0]["statistic"]


def test_a_promotion_rule_is_confirmed_at_the_lenient_end() -> None:
    rule = PromotionRule(rule="upper_bound", tolerance=0.25)
    sure = judge(exact(5000, 400), exact(45000, 4500), promotion=rule)
    assert sure.verdict is Verdict.PASS
    assert sure.evidence["checks"][0]["promotion"]["confirmed"] is True
    unsure = judge(exact(200, 20), exact(1800, 180), promotion=rule)
    assert unsure.verdict is Verdict.HOLD


def test_absolute_and_difference_bounds() -> None:
    gate = Gate(metric="failing_units", max=0.05, max_difference=0.02)
    result = judge(exact(2000, 400), exact(9000, 900), gate)
    assert result.verdict is Verdict.FAIL
    assert [c["verdict"] for c in result.evidence["checks"]] == ["fail", "fail"]
    assert judge(exact(2000, 60), exact(9000, 300), gate).verdict is Verdict.PASS


def test_missing_units_are_no_data_with_the_providers_reason() -> None:
    missing = UnitCounts.unavailable("the SDKs reported no unit sketches for domain")
    result = judge(missing, exact(9000, 900))
    assert result.verdict is Verdict.NO_DATA
    assert (
        result.reason
        == "no unit data for the canary: the SDKs reported no unit sketches for domain"
    )
    assert judge(None, exact(9000, 900)).verdict is Verdict.NO_DATA
    assert "baseline" in judge(exact(1000, 10), None).reason
    few = judge(exact(40, 10), exact(9000, 900))
    assert (few.verdict, few.reason) == (Verdict.NO_DATA, "canary has 40 of 100 units")


def test_the_gate_spec_bounds_a_share() -> None:
    with pytest.raises(ValidationError, match="max of a rate must be between 0 and 1"):
        Gate(metric="failing_units", max=1.5)
    assert Gate(metric="failing_units", max_difference=0.01).key == "failing_units"
