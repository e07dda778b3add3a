"""Properties of sticky bucketing and evaluation order, checked on generated inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

import rollwise
from rollwise import ClientOptions

VARIANTS = ["a", "b", "c", "d"]
units = st.one_of(
    st.text(min_size=1, max_size=40).filter(lambda s: s.strip() != ""),
    st.integers(min_value=0, max_value=2**40),
)


def _weights(draw: st.DrawFn, count: int) -> list[int]:
    cuts = sorted(draw(st.lists(st.integers(0, 10_000), min_size=count - 1, max_size=count - 1)))
    bounds = [0, *cuts, 10_000]
    return [bounds[i + 1] - bounds[i] for i in range(count)]


@st.composite
def weight_vectors(draw: st.DrawFn) -> list[int]:
    return _weights(draw, draw(st.integers(2, 4)))


def _config(weights: list[int], salt: str = "prop") -> dict[str, Any]:
    variants = VARIANTS[: len(weights)]
    return {
        "flags": [
            {
                "key": "f",
                "variants": variants,
                "environments": {
                    "production": {"salt": salt, "split": dict(zip(variants, weights, strict=True))}
                },
            }
        ]
    }


@settings(max_examples=60, deadline=None)
@given(
    weights=weight_vectors(),
    grow=st.integers(0, 3),
    amount=st.integers(1, 10_000),
    ids=st.lists(units, min_size=1, max_size=60),
)
def test_raising_one_share_never_moves_a_unit_out_of_it(
    weights: list[int], grow: int, amount: int, ids: list[Any]
) -> None:
    grow %= len(weights)
    amount = min(amount, 10_000 - weights[grow])
    raised = list(weights)
    raised[grow] += amount
    # take the amount from the others, none of them growing
    remaining = amount
    for index in range(len(raised)):
        if index != grow and remaining:
            taken = min(raised[index], remaining)
            raised[index] -= taken
            remaining -= taken
    before = rollwise.Client(_config(weights))
    after = rollwise.Client(_config(raised))
    target = VARIANTS[grow]
    for unit in ids:
        if before.variant("f", {"user_id": unit}) == target:
            assert after.variant("f", {"user_id": unit}) == target


@settings(max_examples=40, deadline=None)
@given(weights=weight_vectors(), ids=st.lists(units, min_size=1, max_size=30))
def test_same_input_same_variant_every_time(weights: list[int], ids: list[Any]) -> None:
    first = rollwise.Client(_config(weights))
    second = rollwise.Client(_config(weights))
    for unit in ids:
        context = {"user_id": unit}
        assert first.variant("f", context) == second.variant("f", context)
        assert first.variant("f", context) == first.variant("f", context)


@pytest.mark.slow  # one real process per hash seed
def test_same_input_same_variant_across_processes_and_hash_seeds() -> None:
    config = _config([2500, 2500, 5000])
    ids = [f"user-{n}" for n in range(2_000)] + list(range(500))
    here = [rollwise.Client(config).variant("f", {"user_id": unit}) for unit in ids]
    script = (
        "import json, sys, rollwise\n"
        "config, ids = json.load(sys.stdin)\n"
        "client = rollwise.Client(config)\n"
        "print(json.dumps([client.variant('f', {'user_id': u}) for u in ids]))\n"
    )
    for seed in ("0", "12345"):
        result = subprocess.run(
            [sys.executable, "-c", script],
            input=json.dumps([config, ids]),
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
        )
        assert json.loads(result.stdout) == here


def test_splits_follow_their_weights_on_100000_units() -> None:
    units_ = [f"user-{n}" for n in range(100_000)]
    for weights in ([2500, 7500], [1000, 9000], [5000, 2500, 2500], [100, 900, 4000, 5000]):
        client = rollwise.Client(_config(weights, salt=f"chi-{len(weights)}"))
        counts = Counter(client.variant("f", {"user_id": unit}) for unit in units_)
        observed = [counts[v] for v in VARIANTS[: len(weights)]]
        expected = [w / 10_000 * len(units_) for w in weights]
        assert sum(observed) == len(units_)
        assert chisquare(observed, expected).pvalue > 0.001, (weights, observed)


def test_a_broken_split_would_fail_the_chi_square_check() -> None:
    # The check above can fail: 26% against an expected 25% is detected on 100,000 units.
    observed = [26_000, 74_000]
    assert chisquare(observed, [25_000, 75_000]).pvalue < 0.001


conditions = st.sampled_from(
    [
        {"attribute": "country", "op": "eq", "value": "NZ"},
        {"attribute": "plan", "op": "in", "value": ["pro", "team"]},
        {"attribute": "age", "op": "gte", "value": 18},
        {"attribute": "email", "op": "ends_with", "value": "@example.com"},
    ]
)
contexts = st.fixed_dictionaries(
    {},
    optional={
        "country": st.sampled_from(["NZ", "AU", "FR"]),
        "plan": st.sampled_from(["free", "pro", "team"]),
        "age": st.integers(0, 99),
        "email": st.sampled_from(["a@example.com", "b@example.org"]),
        "user_id": st.text(min_size=1, max_size=10),
    },
)


def _matches(condition: dict[str, Any], context: dict[str, Any]) -> bool:
    value = context.get(condition["attribute"])
    if value is None:
        return False
    op = condition["op"]
    if op == "eq":
        return bool(value == condition["value"])
    if op == "in":
        return value in condition["value"]
    if op == "gte":
        return bool(value >= condition["value"])
    return str(value).endswith(condition["value"])


@settings(max_examples=100, deadline=None)
@given(rules=st.lists(conditions, min_size=1, max_size=4), context=contexts)
def test_rules_apply_in_order_first_match_wins(
    rules: list[dict[str, Any]], context: dict[str, Any]
) -> None:
    variants = ["fallthrough", "r0", "r1", "r2", "r3"]
    config = {
        "flags": [
            {
                "key": "f",
                "variants": variants,
                "environments": {
                    "production": {
                        "rules": [
                            {"id": f"r{i}", "conditions": [c], "variant": f"r{i}"}
                            for i, c in enumerate(rules)
                        ],
                        "default": "fallthrough",
                    }
                },
            }
        ]
    }
    expected = next((f"r{i}" for i, c in enumerate(rules) if _matches(c, context)), "fallthrough")
    result = rollwise.Client(config).evaluate("f", context)
    assert result.variant == expected
    assert result.reason == ("default" if expected == "fallthrough" else f"rule:{expected}")


@settings(max_examples=50, deadline=None)
@given(context=contexts, weights=weight_vectors())
def test_kill_switch_wins_over_rules_splits_and_defaults(
    context: dict[str, Any], weights: list[int]
) -> None:
    config = _config(weights)
    state = config["flags"][0]["environments"]["production"]
    state["enabled"] = False
    state["rules"] = [{"id": "all", "conditions": [], "variant": "b"}]
    config["flags"][0]["off_variant"] = "a"
    client = rollwise.Client(config)
    assert client.evaluate("f", context).variant == "a"
    assert client.evaluate("f", context).reason == "disabled"
    # ...but not over overrides: the programmatic one, then the operator's variable
    with client.override("f", "b"):
        assert client.evaluate("f", context).variant == "b"
        assert client.evaluate("f", context).reason == "override"
    assert client.variant("f", context) == "a"
    operator = rollwise.Client(config, options=ClientOptions(environ={"ROLLWISE_FLAG_F": "b"}))
    assert operator.evaluate("f", context).variant == "b"
    assert operator.evaluate("f", context).reason == "override"
