"""Properties of the rollout state machine and of stickiness, on generated specs and histories."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rollwise.core.bucketing import bucket, split_ranges
from rollwise.core.flags import BUCKETS, Flag
from rollwise.core.rollout import (
    TRANSITIONS,
    RolloutAction,
    RolloutPhase,
    RolloutSpec,
    RolloutState,
    apply_action,
    parse_rollout_spec,
    rollout_spec_issues,
    rollout_split,
    traffic_share,
)
from rollwise.errors import ConflictError

P = RolloutPhase
A = RolloutAction
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def steps(draw: st.DrawFn) -> list[dict[str, Any]]:
    percents = sorted(draw(st.sets(st.integers(1, 100), min_size=1, max_size=6)))
    bakes = draw(
        st.lists(st.integers(0, 3 * 86_400), min_size=len(percents), max_size=len(percents))
    )
    if percents == [100] and bakes[0] == 0:
        bakes[0] = 60
    return [{"percent": p, "bake": b} for p, b in zip(percents, bakes, strict=True)]


@st.composite
def specs(draw: st.DrawFn) -> RolloutSpec:
    data: dict[str, Any] = {"flag": "f", "environment": "prod", "variant": "new", "baseline": "old"}
    if draw(st.booleans()):
        data["strategy"] = {"type": "canary", "steps": draw(steps())}
    else:
        data["strategy"] = {"type": "blue_green", "verify": draw(st.integers(1, 86_400))}
        data["gates"] = [{"metric": "error_rate", "max": 0.01}]
    return parse_rollout_spec(data)


def _expected_share(spec: RolloutSpec, state: RolloutState) -> int:
    if state.phase in (P.PROGRESSING, P.PAUSED):
        return spec.steps[state.step].percent * 100
    return BUCKETS if state.phase is P.SUCCEEDED else 0


def _check(spec: RolloutSpec, state: RolloutState) -> None:
    last = len(spec.steps) - 1
    assert 0 <= state.step <= last
    assert traffic_share(spec, state) == _expected_share(spec, state)
    if state.phase is P.PENDING:
        assert (state.step, state.step_started_at) == (0, None)
    elif state.phase is not P.ABORTED:  # a rollout aborted while pending never started
        assert state.step_started_at is not None
    if state.phase is P.SUCCEEDED:
        assert state.step == last
    if state.phase is P.PROGRESSING and state.step == last:
        assert spec.steps[last].bake > 0  # a 100% step without bake is never waited on


actions = st.lists(st.tuples(st.sampled_from(list(A)), st.integers(0, 7 * 86_400)), max_size=40)


@settings(max_examples=300, deadline=None)
@given(spec=specs(), history=actions)
def test_random_histories_stay_consistent(
    spec: RolloutSpec, history: list[tuple[RolloutAction, int]]
) -> None:
    state = RolloutState()
    now = T0
    for action, seconds in history:
        now += timedelta(seconds=seconds)
        before = state
        legal = TRANSITIONS[before.phase]
        if action not in legal:
            with pytest.raises(ConflictError) as caught:
                apply_action(spec, before, action, now=now, actor="prop")
            assert caught.value.details["legal_actions"] == [a.value for a in legal]
            continue
        applied = apply_action(spec, before, action, now=now, actor="prop")
        state = applied.state
        _check(spec, state)
        if before.phase.is_terminal:
            assert action is A.RETRY
            assert before.phase is not P.SUCCEEDED
            assert state.attempt == before.attempt + 1
        else:
            assert state.attempt == before.attempt
        if applied.record is None:
            assert action is A.HOLD
            assert state == before
            continue
        assert state.version == before.version + 1
        assert applied.record.to_share == traffic_share(spec, state)
        assert applied.record.from_share == traffic_share(spec, before)
        if action is A.ADVANCE and state.phase is P.PROGRESSING:
            assert state.step == before.step + 1


@settings(max_examples=100, deadline=None)
@given(spec=specs(), history=actions)
def test_terminal_phases_are_left_only_by_retry(
    spec: RolloutSpec, history: list[tuple[RolloutAction, int]]
) -> None:
    for terminal in (P.SUCCEEDED, P.ROLLED_BACK, P.ABORTED):
        step = len(spec.steps) - 1 if terminal is P.SUCCEEDED else 0
        state = RolloutState(phase=terminal, step=step, step_started_at=T0)
        for action, _ in history:
            try:
                after = apply_action(spec, state, action, now=T0, actor="prop").state
            except ConflictError:
                continue
            assert action is A.RETRY
            assert terminal is not P.SUCCEEDED
            assert (after.phase, after.step) == (P.PROGRESSING, 0)


# --- stickiness with the real bucketing ---------------------------------------------------

NAMES = ["a", "b", "c", "d"]
units = st.lists(
    st.one_of(st.text(min_size=1, max_size=20), st.integers(0, 2**40)), min_size=1, max_size=80
)


@st.composite
def flags_and_specs(draw: st.DrawFn) -> tuple[Flag, RolloutSpec]:
    count = draw(st.integers(2, 4))
    variants = NAMES[:count]
    baseline, canary = draw(st.permutations(variants))[:2]
    others = [v for v in variants if v not in (baseline, canary)]
    rest = BUCKETS - draw(st.integers(1, BUCKETS)) if others else 0  # the others' total
    size = max(len(others) - 1, 0)
    cuts = sorted(draw(st.lists(st.integers(0, rest), min_size=size, max_size=size)))
    weights = dict.fromkeys(variants, 0)
    if others:
        for variant, low, high in zip(others, [0, *cuts], [*cuts, rest], strict=True):
            weights[variant] = high - low
    weights[baseline] = BUCKETS - sum(weights.values())  # the pool; the canary starts at 0
    salt = draw(st.text(min_size=1, max_size=10))
    flag = Flag.model_validate(
        {
            "key": "f",
            "variants": variants,
            "environments": {"prod": {"split": weights, "salt": salt}},
        }
    )
    spec = parse_rollout_spec(
        {
            "flag": "f",
            "environment": "prod",
            "variant": canary,
            "baseline": baseline,
            "strategy": {"steps": draw(steps())},
        }
    )
    return flag, spec


def _assignments(flag: Flag, spec: RolloutSpec, share: int, ids: list[Any]) -> list[str]:
    ranges = split_ranges(rollout_split(flag, spec, share), flag.variants)
    salt = flag.salt_for(spec.environment)
    return [ranges.variant_for(bucket(salt, unit)) for unit in ids]


@settings(max_examples=200, deadline=None)
@given(case=flags_and_specs(), ids=units)
def test_a_unit_in_the_canary_stays_in_it_at_every_later_step(
    case: tuple[Flag, RolloutSpec], ids: list[Any]
) -> None:
    flag, spec = case
    shares = [0, *(step.share for step in spec.steps), BUCKETS]
    history = [_assignments(flag, spec, share, ids) for share in shares]
    canary, baseline = spec.variant, spec.baseline
    contiguous_pair = not list(rollout_spec_issues(spec, flag))
    for earlier, later in itertools.pairwise(history):
        for before, after in zip(earlier, later, strict=True):
            if before == canary:
                assert after == canary
            elif contiguous_pair:
                # the rollout moves units from the baseline to the canary and nobody else
                assert after == before or (before, after) == (baseline, canary)
    assert canary not in history[0]
    if ids:
        assert baseline not in history[-1]


@settings(max_examples=200, deadline=None)
@given(case=flags_and_specs(), share=st.integers(0, BUCKETS))
def test_splits_are_valid_and_other_variants_keep_their_weights(
    case: tuple[Flag, RolloutSpec], share: int
) -> None:
    flag, spec = case
    before = flag.environments["prod"].split or {}
    split = rollout_split(flag, spec, share)
    assert sum(split.values()) == BUCKETS
    assert all(w >= 0 for w in split.values())
    assert list(split) == [v for v in flag.variants if v in split]
    pool = before[spec.baseline or ""] + before.get(spec.variant, 0)
    assert split[spec.variant] == pool * share // BUCKETS
    for variant, weight in before.items():
        if variant not in (spec.variant, spec.baseline) and weight:
            assert split[variant] == weight
