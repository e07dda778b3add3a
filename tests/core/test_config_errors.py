"""Every invalid configuration names the flag, the field path and the reason."""

from __future__ import annotations

from typing import Any

import pytest

import rollwise
from rollwise import ConfigError


def _doc(state: dict[str, Any] | None = None, **flag: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"key": "checkout", "variants": ["legacy", "domain"]}
    body.update(flag)
    if state is not None:
        body["environments"] = {"production": state}
    return {"flags": [body]}


def _rule(*conditions: dict[str, Any], **rule: Any) -> dict[str, Any]:
    return {"rules": [{"id": "r1", "conditions": list(conditions), "variant": "domain", **rule}]}


def _issue(document: Any) -> tuple[str | None, str, str]:
    with pytest.raises(ConfigError) as caught:
        rollwise.parse_document(document)
    error = caught.value
    assert error.details["issues"][0] == {
        "flag": error.flag,
        "path": error.path,
        "reason": error.reason,
    }
    return error.flag, error.path, error.reason


SPLIT = "environments.production.split"
RULE = "environments.production.rules.0"
COND = f"{RULE}.conditions.0.value"

CASES: list[tuple[str, Any, str | None, str, str]] = [
    (
        "weights do not sum to 10000",
        _doc({"split": {"legacy": 5000, "domain": 4000}}),
        "checkout",
        SPLIT,
        "sum to 9000",
    ),
    (
        "negative weight",
        _doc({"split": {"domain": -500, "legacy": 10500}}),
        "checkout",
        f"{SPLIT}.domain",
        "outside 0..10000",
    ),
    (
        "weight over 10000",
        _doc({"split": {"legacy": 10001, "domain": -1}}),
        "checkout",
        f"{SPLIT}.legacy",
        "outside 0..10000",
    ),
    (
        "unknown variant in split",
        _doc({"split": {"legacy": 5000, "domian": 5000}}),
        "checkout",
        f"{SPLIT}.domian",
        "unknown variant 'domian'",
    ),
    (
        "unknown variant in rule",
        _doc(_rule(variant="nope")),
        "checkout",
        f"{RULE}.variant",
        "unknown variant 'nope'",
    ),
    (
        "unknown default",
        _doc({"default": "nope"}),
        "checkout",
        "environments.production.default",
        "unknown variant 'nope'",
    ),
    (
        "unknown off variant",
        _doc(off_variant="nope"),
        "checkout",
        "off_variant",
        "unknown variant 'nope'",
    ),
    (
        "duplicate variants",
        _doc(variants=["legacy", "legacy"]),
        "checkout",
        "variants",
        "duplicate variant",
    ),
    ("empty variant list", _doc(variants=[]), "checkout", "variants", "at least 1"),
    (
        "bad flag key",
        {"flags": [{"key": "no spaces please"}]},
        "no spaces please",
        "key",
        "should match pattern",
    ),
    (
        "both split and default",
        _doc({"split": {"legacy": 10000}, "default": "legacy"}),
        "checkout",
        "environments.production",
        "either 'split' or 'default'",
    ),
    (
        "rule with neither variant nor split",
        _doc({"rules": [{"id": "r1", "conditions": []}]}),
        "checkout",
        RULE,
        "exactly one of",
    ),
    (
        "rule with both variant and split",
        _doc(_rule(split={"legacy": 10000})),
        "checkout",
        RULE,
        "exactly one of",
    ),
    (
        "rule split not summing",
        _doc(_rule(variant=None, split={"legacy": 1})),
        "checkout",
        f"{RULE}.split",
        "sum to 1",
    ),
    (
        "duplicate rule ids",
        _doc({"rules": [{"id": "r", "variant": "domain"}, {"id": "r", "variant": "legacy"}]}),
        "checkout",
        "environments.production.rules.1.id",
        "duplicate rule id",
    ),
    (
        "bad regex",
        _doc(_rule({"attribute": "a", "op": "regex", "value": "("})),
        "checkout",
        COND,
        "invalid regular expression",
    ),
    (
        "unknown operator",
        _doc(_rule({"attribute": "a", "op": "like", "value": "x"})),
        "checkout",
        f"{RULE}.conditions.0.op",
        "Input should be",
    ),
    (
        "in with a scalar",
        _doc(_rule({"attribute": "a", "op": "in", "value": "x"})),
        "checkout",
        COND,
        "non-empty list",
    ),
    (
        "not_in with an empty list",
        _doc(_rule({"attribute": "a", "op": "not_in", "value": []})),
        "checkout",
        COND,
        "non-empty list",
    ),
    (
        "numeric op with a string",
        _doc(_rule({"attribute": "a", "op": "lt", "value": "ten"})),
        "checkout",
        COND,
        "needs a number",
    ),
    (
        "numeric op with a boolean",
        _doc(_rule({"attribute": "a", "op": "gte", "value": True})),
        "checkout",
        COND,
        "needs a number",
    ),
    (
        "semver op with a non-version",
        _doc(_rule({"attribute": "a", "op": "semver_gte", "value": "latest"})),
        "checkout",
        COND,
        "semantic version",
    ),
    (
        "before with garbage",
        _doc(_rule({"attribute": "a", "op": "before", "value": "soon"})),
        "checkout",
        COND,
        "ISO 8601",
    ),
    (
        "exists with a value",
        _doc(_rule({"attribute": "a", "op": "exists", "value": 1})),
        "checkout",
        COND,
        "takes no value",
    ),
    (
        "eq with null",
        _doc(_rule({"attribute": "a", "op": "eq", "value": None})),
        "checkout",
        COND,
        "needs a value",
    ),
    (
        "eq with a list",
        _doc(_rule({"attribute": "a", "op": "eq", "value": [1]})),
        "checkout",
        COND,
        "string, number or boolean",
    ),
    (
        "starts_with with a number",
        _doc(_rule({"attribute": "a", "op": "starts_with", "value": 5})),
        "checkout",
        COND,
        "string or a non-empty list of strings",
    ),
    (
        "empty attribute",
        _doc(_rule({"attribute": "", "op": "exists"})),
        "checkout",
        f"{RULE}.conditions.0.attribute",
        "at least 1",
    ),
    (
        "unknown field",
        _doc({"spilt": {"legacy": 10000}}),
        "checkout",
        "environments.production.spilt",
        "Extra inputs are not permitted",
    ),
    (
        "lt with NaN (JSON parsers read it; it compares false with everything)",
        _doc(_rule({"attribute": "a", "op": "lt", "value": float("nan")})),
        "checkout",
        COND,
        "finite number",
    ),
    (
        "gte with infinity",
        _doc(_rule({"attribute": "a", "op": "gte", "value": float("inf")})),
        "checkout",
        COND,
        "finite number",
    ),
    (
        "lt with an integer beyond any float",
        _doc(_rule({"attribute": "a", "op": "lt", "value": 10**400})),
        "checkout",
        COND,
        "finite number",
    ),
    (
        "eq with NaN",
        _doc(_rule({"attribute": "a", "op": "eq", "value": float("nan")})),
        "checkout",
        COND,
        "finite number",
    ),
    (
        "in with infinity",
        _doc(_rule({"attribute": "a", "op": "in", "value": [1, float("-inf")]})),
        "checkout",
        COND,
        "finite number",
    ),
    (
        "before with epoch seconds beyond any float",
        _doc(_rule({"attribute": "a", "op": "before", "value": 10**400})),
        "checkout",
        COND,
        "ISO 8601",
    ),
    (
        "semver with more digits than int() converts",
        _doc(_rule({"attribute": "a", "op": "semver_lt", "value": "1" * 5000})),
        "checkout",
        COND,
        "semantic version",
    ),
    (
        "regex nested beyond the re module's limits",
        _doc(_rule({"attribute": "a", "op": "regex", "value": "(" * 2000 + ")" * 2000})),
        "checkout",
        COND,
        "too deeply nested",
    ),
    (
        "weights of the wrong type",
        _doc({"split": {"legacy": "all"}}),
        "checkout",
        f"{SPLIT}.legacy",
        "valid integer",
    ),
]


@pytest.mark.parametrize(
    ("document", "flag", "path", "reason"),
    [pytest.param(doc, flag, path, reason, id=name) for name, doc, flag, path, reason in CASES],
)
def test_config_error_names_flag_path_and_reason(
    document: Any, flag: str | None, path: str, reason: str
) -> None:
    got_flag, got_path, got_reason = _issue(document)
    assert got_flag == flag
    assert got_path == path
    assert reason in got_reason


def test_duplicate_flag_keys() -> None:
    document = {"flags": [{"key": "a"}, {"key": "a"}]}
    assert _issue(document) == ("a", "flags.1.key", "duplicate flag key")


def test_document_that_is_not_a_mapping() -> None:
    flag, path, reason = _issue(["not", "a", "mapping"])
    assert (flag, path) == (None, "")
    assert "expected a mapping" in reason


def test_flags_that_are_not_a_list() -> None:
    flag, path, reason = _issue({"flags": {"a": {}}})
    assert (flag, path) == (None, "flags")
    assert "valid list" in reason


def test_every_issue_is_reported_not_just_the_first() -> None:
    document = _doc(
        {"split": {"legacy": 1, "nope": 2}, "rules": [{"id": "r", "variant": "x"}]},
        off_variant="y",
    )
    with pytest.raises(ConfigError) as caught:
        rollwise.parse_document(document)
    paths = {issue.path for issue in caught.value.issues}
    assert {"off_variant", SPLIT, f"{SPLIT}.nope", f"{RULE}.variant"} <= paths
    assert "and 3 more" in str(caught.value)


def test_parse_flag_reports_the_flag_key() -> None:
    with pytest.raises(ConfigError) as caught:
        rollwise.parse_flag({"key": "f", "variants": ["a"], "off_variant": "b"})
    assert (caught.value.flag, caught.value.path) == ("f", "off_variant")
    with pytest.raises(ConfigError) as caught:
        rollwise.parse_flag({"key": "f", "variants": "ab"})
    assert (caught.value.flag, caught.value.path) == ("f", "variants")


def test_a_valid_document_passes() -> None:
    document = rollwise.parse_document(_doc({"split": {"legacy": 9000, "domain": 1000}}))
    assert document.flags[0].key == "checkout"
