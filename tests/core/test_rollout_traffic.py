"""The canary's share derived from phase and step, and the flag split that serves it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from rollwise.core import compile_flag, parse_flag
from rollwise.core.flags import Flag
from rollwise.core.rollout import (
    RolloutPhase,
    RolloutSpec,
    RolloutState,
    apply_share,
    parse_rollout_spec,
    rollout_split,
    traffic_share,
)
from rollwise.errors import ConfigError

P = RolloutPhase
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _flag(variants: list[str] | None = None, **production: Any) -> Flag:
    data: dict[str, Any] = {"key": "checkout", "variants": variants or ["legacy", "domain"]}
    if production:
        data["environments"] = {"production": production}
    return parse_flag(data)


def _spec(**fields: Any) -> RolloutSpec:
    data: dict[str, Any] = {
        "flag": "checkout",
        "environment": "production",
        "variant": "domain",
        "baseline": "legacy",
        "strategy": {"steps": ["10%/1h", "25%/3d", "50%/1w"]},
    }
    data.update(fields)
    return parse_rollout_spec(data)


@pytest.mark.parametrize(
    ("phase", "step", "share"),
    [
        (P.PENDING, 0, 0),
        (P.PROGRESSING, 0, 1000),
        (P.PROGRESSING, 2, 5000),
        (P.PAUSED, 1, 2500),
        (P.SUCCEEDED, 3, 10_000),
        (P.ROLLED_BACK, 2, 0),
        (P.ABORTED, 1, 0),
    ],
)
def test_share_follows_phase_and_step(phase: RolloutPhase, step: int, share: int) -> None:
    state = RolloutState(phase=phase, step=step, step_started_at=T0)
    assert traffic_share(_spec(), state) == share


@pytest.mark.parametrize("variants", [["legacy", "domain"], ["domain", "legacy"]])
@pytest.mark.parametrize("share", [0, 1, 1000, 2500, 9999, 10_000])
def test_two_variants_split_everyone(variants: list[str], share: int) -> None:
    flag = _flag(variants, split={"legacy": 10_000, "domain": 0})
    split = rollout_split(flag, _spec(), share)
    assert split == {"legacy": 10_000 - share, "domain": share}
    assert list(split) == variants


def test_other_variants_keep_their_weights_and_the_pool_is_baseline_plus_canary() -> None:
    flag = _flag(
        ["control", "legacy", "domain", "beta"],
        split={"control": 2000, "legacy": 6000, "beta": 2000},
    )
    assert rollout_split(flag, _spec(), 2500) == {
        "control": 2000,
        "legacy": 4500,
        "domain": 1500,
        "beta": 2000,
    }
    assert rollout_split(flag, _spec(), 10_000) == {
        "control": 2000,
        "legacy": 0,
        "domain": 6000,
        "beta": 2000,
    }
    assert rollout_split(flag, _spec(), 0) == {
        "control": 2000,
        "legacy": 6000,
        "domain": 0,
        "beta": 2000,
    }


def test_the_pool_is_kept_through_the_rollouts_own_changes() -> None:
    flag = _flag(split={"legacy": 7000, "domain": 3000})
    assert rollout_split(flag, _spec(), 5000) == {"legacy": 5000, "domain": 5000}


def test_a_default_counts_as_the_whole_split() -> None:
    state = apply_share(_flag(default="legacy"), _spec(), 1000)
    assert (state.split, state.default) == ({"legacy": 9000, "domain": 1000}, None)


def test_a_flag_without_state_gets_one_with_the_off_variant_as_baseline() -> None:
    flag = _flag()
    state = apply_share(flag, _spec(baseline=None), 2500)
    assert state.enabled
    assert state.split == {"legacy": 7500, "domain": 2500}


def test_rules_stay_in_front_and_the_kill_switch_still_wins() -> None:
    rule = {
        "id": "staff",
        "conditions": [{"attribute": "staff", "op": "eq", "value": True}],
        "variant": "legacy",
    }
    flag = _flag(split={"legacy": 10_000}, rules=[rule], salt="s1", unit="account")
    state = apply_share(flag, _spec(), 10_000)
    assert state.rules == flag.environments["production"].rules
    assert (state.salt, state.unit) == ("s1", "account")
    updated = flag.model_copy(update={"environments": {"production": state}})
    evaluate = compile_flag(updated, "production")
    assert evaluate({"account": "a1"}).variant == "domain"
    assert evaluate({"account": "a1", "staff": True}).variant == "legacy"

    off = _flag(enabled=False, split={"legacy": 10_000})
    killed = apply_share(off, _spec(), 10_000)
    assert not killed.enabled
    evaluate = compile_flag(
        off.model_copy(update={"environments": {"production": killed}}), "production"
    )
    assert evaluate({"user_id": "u1"}).variant == "legacy"


def test_evaluation_serves_the_share() -> None:
    flag = _flag(split={"legacy": 10_000})
    state = apply_share(flag, _spec(), 2500)
    evaluate = compile_flag(
        flag.model_copy(update={"environments": {"production": state}}), "production"
    )
    counts = Counter(evaluate({"user_id": f"u{i}"}).variant for i in range(20_000))
    assert 0.23 < counts["domain"] / 20_000 < 0.27


def test_no_traffic_to_take_from_is_a_config_error() -> None:
    flag = _flag(["off", "v1", "v2"], default="v1")
    spec = parse_rollout_spec({"flag": "checkout", "environment": "production", "variant": "v2"})
    with pytest.raises(ConfigError) as caught:
        rollout_split(flag, spec, 1000)
    assert caught.value.path == "environments.production.split"
    assert "neither the baseline 'off' nor 'v2' gets traffic" in caught.value.reason


@pytest.mark.parametrize("share", [-1, 10_001])
def test_share_is_in_basis_points(share: int) -> None:
    with pytest.raises(ValueError, match="basis points"):
        rollout_split(_flag(split={"legacy": 10_000}), _spec(), share)
