"""Rollout specs: the accepted forms, the defaults, and errors that name the field and why."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollwise.core import parse_flag
from rollwise.core.flags import Flag
from rollwise.core.gates import NoDataPolicy
from rollwise.core.rollout import (
    DEFAULT_MIN_SAMPLES,
    BlueGreenStrategy,
    CanaryStrategy,
    RolloutSpec,
    Step,
    check_rollout_spec,
    parse_rollout_spec,
    resolved_baseline,
)
from rollwise.errors import ConfigError


def _flag(split: dict[str, int] | None = None, **body: Any) -> Flag:
    data: dict[str, Any] = {"key": "checkout", "variants": ["legacy", "domain"]}
    data.update(body)
    if split is not None:
        data["environments"] = {"production": {"split": split}}
    return parse_flag(data)


def _spec(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"flag": "checkout", "environment": "production", "variant": "domain"}
    data.update(fields)
    return data


def _issues(data: Any, flag: Flag | None = None) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_rollout_spec(data, flag)
    error = caught.value
    for issue in error.issues:
        assert issue.flag == (data.get("flag") if isinstance(data, dict) else None)
    assert error.details["issues"][0]["path"] == error.path
    return [(issue.path, issue.reason) for issue in error.issues]


def test_the_documented_canary_example() -> None:
    document = yaml.safe_load(
        """
        flag: checkout
        environment: production
        variant: domain
        baseline: legacy
        strategy:
          type: canary
          steps: [10%/1h, 25%/3d, {percent: 50, bake: 1w}, 100%]
        gates:
          - {metric: error_rate, max: 0.01}
          - {metric: latency_p95, max_increase: 0.5}
        min_samples: 500
        max_step_duration: 2w
        on_no_data: pause
        """
    )
    spec = parse_rollout_spec(document, _flag({"legacy": 10_000}))
    assert spec.steps == (
        Step(percent=10, bake=3600),
        Step(percent=25, bake=3 * 86_400),
        Step(percent=50, bake=7 * 86_400),
        Step(percent=100, bake=0),
    )
    assert [step.share for step in spec.steps] == [1000, 2500, 5000, 10_000]
    assert spec.min_samples == 500
    assert spec.max_step_duration == 14 * 86_400
    assert spec.on_no_data is NoDataPolicy.PAUSE
    assert [gate.key for gate in spec.gates] == ["error_rate", "latency_p95"]


def test_defaults() -> None:
    spec = parse_rollout_spec(_spec())
    assert isinstance(spec.strategy, CanaryStrategy)
    assert [(s.percent, s.bake) for s in spec.steps] == [
        (10, 3600),
        (25, 3600),
        (50, 3600),
        (100, 0),
    ]
    assert spec.baseline is None
    assert spec.gates == []
    assert spec.min_samples == DEFAULT_MIN_SAMPLES == 200
    assert spec.max_step_duration is None
    assert spec.on_no_data is NoDataPolicy.HOLD
    assert not spec.is_blue_green


def test_a_final_100_percent_step_is_added_with_no_bake() -> None:
    spec = parse_rollout_spec(_spec(strategy={"steps": ["5%/30m", 50]}))
    assert spec.steps == (Step(percent=5, bake=1800), Step(percent=50), Step(percent=100))


def test_a_final_100_percent_step_keeps_its_bake() -> None:
    spec = parse_rollout_spec(_spec(strategy={"steps": ["20%/1h", "100%/2h"]}))
    assert spec.steps[-1] == Step(percent=100, bake=7200)


def test_a_lone_100_percent_step_with_a_bake_is_a_verification_window() -> None:
    spec = parse_rollout_spec(_spec(strategy={"steps": ["100%/15m"]}))
    assert spec.steps == (Step(percent=100, bake=900),)


@pytest.mark.parametrize(
    "strategy",
    [
        "blue_green",
        {"type": "blue_green"},
        {"verify": "30m"},
        {"type": "blue_green", "verify": 1800},
    ],
)
def test_blue_green_is_one_100_percent_step_of_verify(strategy: Any) -> None:
    spec = parse_rollout_spec(
        _spec(strategy=strategy, gates=[{"metric": "error_rate", "max": 0.02}])
    )
    assert isinstance(spec.strategy, BlueGreenStrategy)
    assert spec.is_blue_green
    assert spec.steps == (Step(percent=100, bake=1800),)


def test_strategy_shorthand_canary() -> None:
    spec = parse_rollout_spec(_spec(strategy="canary"))
    assert spec.strategy == CanaryStrategy()


def test_spec_round_trips_through_json() -> None:
    spec = parse_rollout_spec(
        _spec(
            strategy={"steps": ["10%/1h", "100%/1d"]},
            gates=[{"name": "errors", "metric": "error_rate", "max": 0.01}],
            max_step_duration="2d",
        )
    )
    again = parse_rollout_spec(spec.model_dump(mode="json"))
    assert again == spec
    assert RolloutSpec.model_validate_json(spec.model_dump_json()) == spec


def test_specs_are_frozen() -> None:
    spec = parse_rollout_spec(_spec())
    with pytest.raises(ValueError, match="frozen"):
        spec.variant = "other"  # type: ignore[misc]


STEPS = "strategy.steps"


@pytest.mark.parametrize(
    ("fields", "path", "reason"),
    [
        ({"flag": "bad key!"}, "flag", "pattern"),
        ({"environment": ""}, "environment", "pattern"),
        ({"variant": ""}, "variant", "at least 1 character"),
        ({"surprise": 1}, "surprise", "Extra inputs"),
        ({"baseline": "domain"}, "baseline", "must differ"),
        ({"min_samples": 0}, "min_samples", "greater than or equal to 1"),
        ({"max_step_duration": "soon"}, "max_step_duration", "invalid duration 'soon'"),
        ({"max_step_duration": 0}, "max_step_duration", "greater than 0"),
        ({"on_no_data": "panic"}, "on_no_data", "'hold', 'pause' or 'rollback'"),
        ({"strategy": "rainbow"}, "strategy", "'canary', 'blue_green'"),
        ({"strategy": {"steps": []}}, STEPS, "at least 1 item"),
        ({"strategy": {"steps": ["10%/1h", "5%"]}}, f"{STEPS}.1.percent", "not above"),
        ({"strategy": {"steps": ["100%", "50%"]}}, f"{STEPS}.1.percent", "100% comes last"),
        ({"strategy": {"steps": ["10%/1h", "10%/2h"]}}, f"{STEPS}.1.percent", "not above"),
        ({"strategy": {"steps": ["100%"]}}, f"{STEPS}.0", "judges nothing"),
        ({"strategy": {"steps": ["10%/1h", "five"]}}, f"{STEPS}.1", "invalid step 'five'"),
        ({"strategy": {"steps": ["10%/1h", "20%/1y"]}}, f"{STEPS}.1.bake", "invalid duration '1y'"),
        ({"strategy": {"steps": [0]}}, f"{STEPS}.0.percent", "greater than or equal to 1"),
        ({"strategy": {"steps": ["150%"]}}, f"{STEPS}.0.percent", "less than or equal to 100"),
        ({"strategy": {"steps": [{"percent": 10, "wait": "1h"}]}}, f"{STEPS}.0.wait", "Extra"),
        ({"strategy": {"steps": [True]}}, f"{STEPS}.0", "valid dictionary"),
        ({"strategy": {"type": "blue_green", "verify": 0}}, "strategy.verify", "greater than 0"),
        ({"strategy": {"type": "blue_green", "steps": []}}, "strategy.steps", "Extra"),
        ({"gates": [{"metric": "error_rate"}]}, "gates.0", "a gate needs a bound"),
        ({"gates": [{"metric": "speed", "max": 1}]}, "gates.0.metric", "Input should be"),
        (
            {
                "gates": [
                    {"metric": "error_rate", "max": 0.01},
                    {"metric": "error_rate", "max": 0.1},
                ]
            },
            "gates.1.metric",
            "already gates.0",
        ),
        (
            {
                "gates": [
                    {"name": "errors", "metric": "error_rate", "max": 0.01},
                    {"name": "errors", "metric": "latency_p95", "max": 0.5},
                ]
            },
            "gates.1.name",
            "already gates.0",
        ),
        (
            {"strategy": {"steps": ["10%/1h", "50%/3d"]}, "max_step_duration": "1d"},
            "max_step_duration",
            "shorter than the bake of strategy.steps.1.bake (3d)",
        ),
        (
            {
                "strategy": {"verify": "2h"},
                "max_step_duration": "1h",
                "gates": [{"metric": "error_rate", "max": 0.01}],
            },
            "max_step_duration",
            "strategy.verify (2h)",
        ),
        (
            {
                "strategy": "blue_green",
                "gates": [
                    {"metric": "error_rate", "max": 0.01},
                    {"metric": "latency_p95", "max": 0.5, "max_increase": 0.5},
                ],
            },
            "gates.1.max_increase",
            "no baseline traffic",
        ),
        (
            {"strategy": "blue_green", "gates": [{"metric": "error_rate", "max_difference": 0.01}]},
            "gates.0.max_difference",
            "use absolute bounds",
        ),
        ({"strategy": "blue_green"}, "gates", "at least one gate with an absolute bound"),
        (
            {
                "strategy": {"steps": ["10%/1h", "100%/15m"]},
                "gates": [{"metric": "error_rate", "max_increase": 0.2}],
            },
            f"{STEPS}.1.bake",
            "only absolute bounds judge it",
        ),
        (
            {
                "strategy": {"steps": ["100%/15m"]},
                "gates": [{"metric": "latency_p95", "max_increase": 0.5}],
            },
            f"{STEPS}.0.bake",
            "add a gate with max or min",
        ),
        ({"gates": [{"metric": "latency_p95", "max": float("nan")}]}, "gates.0.max", "finite"),
        (
            {"gates": [{"metric": "error_rate", "max_increase": float("inf")}]},
            "gates.0.max_increase",
            "finite",
        ),
        (
            {"gates": [{"metric": "error_rate", "max_increase": 1e308}]},
            "gates.0.max_increase",
            "less than or equal to 100",
        ),
        (
            {"gates": [{"metric": "error_rate", "max_difference": 5}]},
            "gates.0",
            "max_difference of a rate",
        ),
    ],
)
def test_invalid_specs_name_the_field_and_the_reason(
    fields: dict[str, Any], path: str, reason: str
) -> None:
    issues = _issues(_spec(**fields))
    assert any(p == path and reason in r for p, r in issues), issues


def test_every_problem_is_listed() -> None:
    issues = _issues(
        _spec(
            strategy={"steps": ["50%/1h", "20%/1h", "10%"]},
            min_samples=-1,
            surprise=True,
        )
    )
    assert [path for path, _ in issues] == [
        "strategy.steps.1.percent",
        "strategy.steps.2.percent",
        "min_samples",
        "surprise",
    ]


def test_the_message_lists_every_issue() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_rollout_spec(_spec(strategy={"steps": ["50%", "20%", "10%"]}))
    message = str(caught.value)
    assert message.startswith("flag 'checkout': strategy.steps.1.percent: 20% is not above")
    assert "strategy.steps.2.percent: 10% is not above" in message


@pytest.mark.parametrize("data", [None, [], "flag: checkout", 3])
def test_a_spec_must_be_a_mapping(data: Any) -> None:
    with pytest.raises(ConfigError, match="expected a mapping") as caught:
        parse_rollout_spec(data)
    assert caught.value.path == ""


def test_direct_construction_validates_too() -> None:
    with pytest.raises(ValueError, match=r"1\.percent: 5% is not above"):
        CanaryStrategy(steps=[Step(percent=10), Step(percent=5)])


# --- against the flag ---------------------------------------------------------------------


def test_the_baseline_defaults_to_the_flags_off_variant_and_is_resolved() -> None:
    flag = _flag({"legacy": 10_000}, off_variant="legacy")
    spec = parse_rollout_spec(_spec())
    assert resolved_baseline(spec, flag) == "legacy"
    checked = check_rollout_spec(spec, flag)
    assert checked.baseline == "legacy"
    assert parse_rollout_spec(_spec(), flag) == checked


def test_an_explicit_baseline_is_kept() -> None:
    flag = _flag({"a": 2000, "legacy": 8000}, variants=["a", "legacy", "domain"])
    spec = check_rollout_spec(parse_rollout_spec(_spec(baseline="legacy")), flag)
    assert spec.baseline == "legacy"


@pytest.mark.parametrize(
    ("flag_body", "fields", "path", "reason"),
    [
        ({}, {"flag": "search"}, "flag", "names flag 'search', not 'checkout'"),
        ({}, {"variant": "new"}, "variant", "unknown variant 'new' (variants are: legacy, domain)"),
        ({}, {"baseline": "old"}, "baseline", "unknown variant 'old'"),
        ({}, {"variant": "legacy"}, "baseline", "is the flag's off variant"),
        (
            {"variants": ["off", "v1", "v2"], "environments": {"production": {"default": "v1"}}},
            {"variant": "v2"},
            "baseline",
            "neither the baseline 'off' nor 'v2' gets traffic in production",
        ),
        (
            {
                "variants": ["legacy", "other", "domain"],
                "environments": {"production": {"split": {"legacy": 8000, "other": 2000}}},
            },
            {},
            "variant",
            "'other' (20%) sit(s) between 'legacy' and 'domain'",
        ),
    ],
)
def test_specs_are_checked_against_the_flag(
    flag_body: dict[str, Any], fields: dict[str, Any], path: str, reason: str
) -> None:
    flag = _flag(**flag_body)
    issues = _issues(_spec(**fields), flag)
    assert any(p == path and reason in r for p, r in issues), issues


def test_variants_without_traffic_may_sit_between() -> None:
    flag = _flag(
        variants=["legacy", "other", "domain"],
        environments={"production": {"split": {"legacy": 10_000, "other": 0}}},
    )
    assert check_rollout_spec(parse_rollout_spec(_spec()), flag).baseline == "legacy"


def test_a_flag_without_state_in_the_environment_has_its_off_variant_as_pool() -> None:
    flag = _flag()
    assert check_rollout_spec(parse_rollout_spec(_spec()), flag).baseline == "legacy"


DOCS = Path(__file__).parents[2] / "docs" / "rollouts.md"


def test_every_yaml_example_in_the_docs_is_a_valid_spec() -> None:
    """Whole specs as they are; a fragment (a few fields) as part of the first example."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), re.S)
    assert len(blocks) >= 2
    whole = yaml.safe_load(blocks[0])
    for block in blocks:
        data = yaml.safe_load(block)
        data = data if "flag" in data else {**whole, **data}
        spec = parse_rollout_spec(data)
        flag = parse_flag(
            {
                "key": spec.flag,
                "variants": [data["baseline"], data["variant"]],
                "environments": {spec.environment: {"default": data["baseline"]}},
            }
        )
        assert check_rollout_spec(spec, flag) == spec


def test_promotion_sample_ratio_and_alpha_budget_are_spec_options() -> None:
    spec = parse_rollout_spec(
        _spec(
            promotion={"rule": "upper_bound", "tolerance": 0.1, "alpha": 0.01},
            sample_ratio={"tolerance": 0.5},
            alpha_budget=0.05,
        )
    )
    assert spec.promotion.rule.value == "upper_bound"
    assert (spec.promotion.tolerance, spec.promotion.alpha) == (0.1, 0.01)
    assert spec.sample_ratio.enabled
    assert spec.sample_ratio.tolerance == 0.5
    assert spec.alpha_budget == 0.05
    default = parse_rollout_spec(_spec())
    assert default.promotion.rule.value == "estimate"
    assert default.alpha_budget is None


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"promotion": {"rule": "maybe"}}, "promotion.rule"),
        ({"promotion": {"tolerance": 0}}, "promotion.tolerance"),
        ({"promotion": {"alpha": 0.7}}, "promotion.alpha"),
        ({"promotion": {"tolerance": 0.1, "typo": 1}}, "promotion.typo"),
        ({"sample_ratio": {"alpha": 0}}, "sample_ratio.alpha"),
        ({"sample_ratio": {"tolerance": -1}}, "sample_ratio.tolerance"),
        ({"alpha_budget": 0.5}, "alpha_budget"),
        ({"alpha_budget": 0}, "alpha_budget"),
    ],
)
def test_judging_options_are_refused_naming_the_field(fields: dict[str, Any], path: str) -> None:
    issues = _issues(_spec(**fields))
    assert [p for p, _ in issues] == [path]
