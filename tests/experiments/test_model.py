"""The experiment model: validation naming the field, and the legal state changes."""

from __future__ import annotations

from typing import Any

import pytest

from rollwise.core.experiment import (
    TRANSITIONS,
    check_arms,
    next_state,
    parse_decision,
    parse_experiment,
)
from rollwise.errors import ConfigError, ConflictError

from ._support import DEFINITION, definition


def _problem(data: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_experiment(data)
    return caught.value


def test_a_valid_definition_parses_with_control_first() -> None:
    parsed = parse_experiment(DEFINITION)
    assert parsed.control_arm == "control"
    assert parsed.planned_duration == 7 * 86400
    assert parsed.events() == {"purchase", "revenue", "session", "error"}
    assert [role for role, _ in parsed.metrics()] == [
        "primary",
        "secondary",
        "secondary",
        "guardrail",
    ]


def test_control_can_name_another_arm() -> None:
    assert parse_experiment(definition(control="variant_b")).control_arm == "variant_b"


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"arms": {"control": 5000, "variant_a": 4000}}, "arms"),
        ({"arms": {"control": 10000, "variant_a": 0}}, "arms.variant_a"),
        ({"arms": {"control": 10000}}, "arms"),
        ({"control": "nope"}, "control"),
        ({"key": "has space"}, "key"),
        ({"primary": []}, "primary"),
        ({"planned_duration": "soon"}, "planned_duration"),
        ({"primary": [{"key": "c", "kind": "ratio", "event": "a"}]}, "primary.0.denominator_event"),
        (
            {"primary": [{"key": "c", "kind": "mean", "event": "a", "denominator_event": "b"}]},
            "primary.0.denominator_event",
        ),
        (
            {"primary": [{"key": "c", "kind": "proportion", "event": "a", "capping": 3}]},
            "primary.0.capping",
        ),
        ({"primary": [{"key": "c", "kind": "median", "event": "a"}]}, "primary.0.kind"),
        (
            {"primary": [{"key": "c", "kind": "mean", "event": "a", "threshold": 0.1}]},
            "primary.0.threshold",
        ),
        (
            {"guardrails": [{"key": "c", "kind": "mean", "event": "a", "threshold": -1}]},
            "guardrails.0.threshold",
        ),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_every_invalid_input_names_its_field(changes: dict[str, Any], path: str) -> None:
    error = _problem(definition(**changes))
    paths = [issue.path for issue in error.issues]
    assert any(p == path or p.startswith(path + ".") for p in paths), paths


def test_a_duplicate_metric_key_is_named() -> None:
    data = definition(secondary=[{"key": "conversion", "kind": "mean", "event": "x"}])
    assert "secondary.0.key" in [issue.path for issue in _problem(data).issues]


def test_not_a_mapping_is_refused() -> None:
    assert "mapping" in str(_problem([1, 2]))


def test_arms_must_be_the_flags_variants() -> None:
    parsed = parse_experiment(DEFINITION)
    check_arms(parsed, ["control", "variant_a", "variant_b", "spare"])
    with pytest.raises(ConfigError) as caught:
        check_arms(parsed, ["control", "variant_a"])
    assert caught.value.path == "arms.variant_b"


def test_decisions() -> None:
    parsed = parse_experiment(DEFINITION)
    assert parse_decision({"kind": "ship", "arm": "variant_b"}, parsed).arm == "variant_b"
    assert parse_decision({"kind": "inconclusive"}, parsed).arm is None
    for bad, path in [
        ({"kind": "ship"}, "decision.arm"),
        ({"kind": "ship", "arm": "nope"}, "decision.arm"),
        ({"kind": "keep_control", "arm": "variant_a"}, "decision.arm"),
        ({"kind": "maybe"}, "decision.kind"),
    ]:
        with pytest.raises(ConfigError) as caught:
            parse_decision(bad, parsed)
        assert caught.value.path == path


def test_transitions_are_draft_running_stopped_only() -> None:
    assert next_state("e", "draft", "start") == "running"
    assert next_state("e", "running", "stop") == "stopped"
    assert set(TRANSITIONS) == {("draft", "start"), ("running", "stop")}
    for state, action in [
        ("draft", "stop"),
        ("running", "start"),
        ("stopped", "start"),
        ("stopped", "stop"),
    ]:
        with pytest.raises(ConflictError) as caught:
            next_state("e", state, action)  # type: ignore[arg-type]
        assert caught.value.details["state"] == state
