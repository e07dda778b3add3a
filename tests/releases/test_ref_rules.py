"""Which environment a git ref deploys to: the first matching rule, or none."""

from __future__ import annotations

import pytest

from rollwise.core.release import environment_for_ref, parse_deploy_rules
from rollwise.errors import ConfigError

RULES = parse_deploy_rules(
    [
        {"ref": "refs/heads/main", "environment": "staging"},
        {"ref": "refs/tags/v*", "environment": "production"},
    ]
)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("refs/heads/main", "staging"),
        ("refs/tags/v1.5.0", "production"),
        ("refs/heads/feature/login", None),
        ("refs/heads/main-old", None),
        ("refs/tags/release-1", None),
        ("refs/pull/12/merge", None),
    ],
)
def test_a_ref_deploys_where_the_first_matching_rule_says(ref: str, expected: str | None) -> None:
    assert environment_for_ref(RULES, ref) == expected


def test_the_first_matching_rule_wins() -> None:
    rules = parse_deploy_rules(
        [
            {"ref": "refs/tags/v*-rc*", "environment": "staging"},
            {"ref": "refs/tags/v*", "environment": "production"},
        ]
    )
    assert environment_for_ref(rules, "refs/tags/v2.0.0-rc1") == "staging"
    assert environment_for_ref(rules, "refs/tags/v2.0.0") == "production"


def test_no_rules_deploy_nothing() -> None:
    assert parse_deploy_rules(None) == []
    assert environment_for_ref([], "refs/heads/main") is None


def test_every_problem_is_named_by_its_path() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_deploy_rules(
            [
                {"ref": "main", "environment": "staging"},
                {"ref": "refs/tags/v*", "environment": "production", "extra": 1},
                {"ref": "refs/tags/v*", "environment": "production"},
                {"ref": "refs/heads/x", "environment": "no spaces"},
            ]
        )
    paths = sorted(issue.path for issue in caught.value.issues)
    assert paths == ["deploy[0].ref", "deploy[1].extra", "deploy[3].environment"]
    with pytest.raises(ConfigError) as caught:
        parse_deploy_rules({"refs/heads/main": "staging"})
    assert [issue.path for issue in caught.value.issues] == ["deploy"]
