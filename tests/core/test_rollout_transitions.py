"""The table of legal transitions, what each action does to the state, and the 409 details."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rollwise.core.rollout import (
    CONTROLLER_ACTIONS,
    CONTROLLER_ACTOR,
    MANUAL_ACTIONS,
    TRANSITIONS,
    RolloutAction,
    RolloutPhase,
    RolloutSpec,
    RolloutState,
    apply_action,
    legal_actions,
    parse_rollout_spec,
    traffic_share,
)
from rollwise.errors import ConflictError, RollwiseError

P = RolloutPhase
A = RolloutAction
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = T0 + timedelta(hours=5)

# The contract, written out independently of the implementation's table.
EXPECTED: dict[RolloutPhase, dict[RolloutAction, RolloutPhase]] = {
    P.PENDING: {A.START: P.PROGRESSING, A.ABORT: P.ABORTED},
    P.PROGRESSING: {
        A.PAUSE: P.PAUSED,
        A.PROMOTE: P.SUCCEEDED,
        A.ABORT: P.ABORTED,
        A.ADVANCE: P.PROGRESSING,
        A.HOLD: P.PROGRESSING,
        A.ROLLBACK: P.ROLLED_BACK,
    },
    P.PAUSED: {A.RESUME: P.PROGRESSING, A.PROMOTE: P.SUCCEEDED, A.ABORT: P.ABORTED},
    P.SUCCEEDED: {},
    P.ROLLED_BACK: {A.RETRY: P.PROGRESSING},
    P.ABORTED: {A.RETRY: P.PROGRESSING},
}

PAIRS = [(phase, action) for phase in P for action in A]
LEGAL = [(p, a) for p, a in PAIRS if a in EXPECTED[p]]
ILLEGAL = [(p, a) for p, a in PAIRS if a not in EXPECTED[p]]


def _spec(**fields: Any) -> RolloutSpec:
    data: dict[str, Any] = {
        "flag": "checkout",
        "environment": "production",
        "variant": "domain",
        "strategy": {"steps": ["10%/1h", "25%/3d", "50%/1w"]},
    }
    data.update(fields)
    return parse_rollout_spec(data)


SPEC = _spec()


def _state(phase: RolloutPhase, step: int = 1, **fields: Any) -> RolloutState:
    if phase is P.PENDING:
        return RolloutState(**fields)
    if phase is P.SUCCEEDED:
        step = len(SPEC.steps) - 1
    return RolloutState(phase=phase, step=step, step_started_at=T0, version=7, **fields)


def test_the_table_is_the_documented_one() -> None:
    assert {phase: dict(actions) for phase, actions in TRANSITIONS.items()} == EXPECTED
    assert set(A) == MANUAL_ACTIONS | CONTROLLER_ACTIONS
    assert {A.PAUSE} == MANUAL_ACTIONS & CONTROLLER_ACTIONS


@pytest.mark.parametrize(("phase", "action"), LEGAL, ids=[f"{p}-{a}" for p, a in LEGAL])
def test_legal_pairs(phase: RolloutPhase, action: RolloutAction) -> None:
    state = _state(phase)
    applied = apply_action(SPEC, state, action, now=LATER, actor="alice")
    assert applied.state.phase is EXPECTED[phase][action]
    if action is A.HOLD:
        assert applied.state == state
        assert applied.record is None
        return
    record = applied.record
    assert record is not None
    assert applied.state.version == state.version + 1 == record.version
    assert (record.from_phase, record.from_step) == (state.phase, state.step)
    assert (record.to_phase, record.to_step) == (applied.state.phase, applied.state.step)
    assert record.from_share == traffic_share(SPEC, state)
    assert record.to_share == traffic_share(SPEC, applied.state)
    assert record.action is action
    assert record.actor == "alice"
    assert record.at == LATER


@pytest.mark.parametrize(("phase", "action"), ILLEGAL, ids=[f"{p}-{a}" for p, a in ILLEGAL])
def test_illegal_pairs_are_conflicts_that_list_the_legal_actions(
    phase: RolloutPhase, action: RolloutAction
) -> None:
    state = _state(phase)
    with pytest.raises(ConflictError) as caught:
        apply_action(SPEC, state, action, now=LATER, actor="alice")
    error = caught.value
    assert isinstance(error, RollwiseError)
    assert error.code == "conflict"
    legal = [a.value for a in EXPECTED[phase]]
    assert error.details["legal_actions"] == legal
    assert error.details["legal_manual_actions"] == [a for a in legal if A(a) in MANUAL_ACTIONS]
    assert error.details["phase"] == phase.value
    assert error.details["action"] == action.value
    assert error.details["flag"] == "checkout"
    assert error.details["environment"] == "production"
    assert f"cannot {action.value} a rollout that is {phase.value}" in error.message
    if legal:
        assert error.message.endswith("legal now: " + ", ".join(legal))
    else:
        assert error.message.endswith("no action is legal now: succeeded is final")


def test_legal_actions_in_table_order() -> None:
    assert legal_actions(P.PAUSED) == (A.RESUME, A.PROMOTE, A.ABORT)
    assert legal_actions(P.SUCCEEDED) == ()


def test_the_conflict_message_says_where_the_rollout_is() -> None:
    with pytest.raises(ConflictError, match=r"that is paused at step 2 of 4; legal now"):
        apply_action(SPEC, _state(P.PAUSED), A.ADVANCE, now=LATER, actor="alice")


@pytest.mark.parametrize(
    ("phase", "terminal", "active"),
    [
        (P.PENDING, False, True),
        (P.PROGRESSING, False, True),
        (P.PAUSED, False, True),
        (P.SUCCEEDED, True, False),
        (P.ROLLED_BACK, True, False),
        (P.ABORTED, True, False),
    ],
)
def test_terminal_and_active(phase: RolloutPhase, terminal: bool, active: bool) -> None:
    assert (phase.is_terminal, phase.is_active) == (terminal, active)


# --- what each action does ---------------------------------------------------------------


def test_a_fresh_rollout_is_pending_at_version_1() -> None:
    state = RolloutState()
    assert (state.phase, state.step, state.step_started_at, state.attempt, state.version) == (
        P.PENDING,
        0,
        None,
        1,
        1,
    )
    assert traffic_share(SPEC, state) == 0


def test_start_begins_the_first_step_now() -> None:
    applied = apply_action(SPEC, RolloutState(), A.START, now=T0, actor="alice")
    assert applied.state == RolloutState(
        phase=P.PROGRESSING, step=0, step_started_at=T0, attempt=1, version=2
    )
    assert traffic_share(SPEC, applied.state) == 1000
    assert applied.record is not None
    assert applied.record.reason == "started"


def test_advance_walks_the_steps_and_succeeds_on_reaching_a_100_percent_step_without_bake() -> None:
    state = apply_action(SPEC, RolloutState(), A.START, now=T0, actor="alice").state
    seen = [(state.phase, state.step, traffic_share(SPEC, state))]
    for hour in range(1, 4):
        now = T0 + timedelta(hours=hour)
        state = apply_action(SPEC, state, A.ADVANCE, now=now, actor=CONTROLLER_ACTOR).state
        assert state.step_started_at == now
        seen.append((state.phase, state.step, traffic_share(SPEC, state)))
    assert seen == [
        (P.PROGRESSING, 0, 1000),
        (P.PROGRESSING, 1, 2500),
        (P.PROGRESSING, 2, 5000),
        (P.SUCCEEDED, 3, 10_000),
    ]


def test_a_100_percent_step_with_a_bake_is_watched_before_success() -> None:
    spec = _spec(strategy={"steps": ["50%/1h", "100%/2h"]})
    state = RolloutState(phase=P.PROGRESSING, step=0, step_started_at=T0)
    state = apply_action(spec, state, A.ADVANCE, now=LATER, actor=CONTROLLER_ACTOR).state
    assert (state.phase, state.step, traffic_share(spec, state)) == (P.PROGRESSING, 1, 10_000)
    state = apply_action(spec, state, A.ADVANCE, now=LATER, actor=CONTROLLER_ACTOR).state
    assert (state.phase, state.step, traffic_share(spec, state)) == (P.SUCCEEDED, 1, 10_000)


def test_blue_green_switches_everyone_at_start_and_back_on_rollback() -> None:
    spec = _spec(strategy={"verify": "30m"}, gates=[{"metric": "error_rate", "max": 0.01}])
    started = apply_action(spec, RolloutState(), A.START, now=T0, actor="alice").state
    assert (started.phase, traffic_share(spec, started)) == (P.PROGRESSING, 10_000)
    failed = apply_action(spec, started, A.ROLLBACK, now=LATER, actor=CONTROLLER_ACTOR)
    assert (failed.state.phase, traffic_share(spec, failed.state)) == (P.ROLLED_BACK, 0)
    assert failed.record is not None
    assert (failed.record.from_share, failed.record.to_share) == (10_000, 0)
    passed = apply_action(spec, started, A.ADVANCE, now=LATER, actor=CONTROLLER_ACTOR).state
    assert (passed.phase, traffic_share(spec, passed)) == (P.SUCCEEDED, 10_000)


def test_pause_keeps_step_and_clock_and_resume_restarts_the_step() -> None:
    progressing = _state(P.PROGRESSING, step=2)
    paused = apply_action(SPEC, progressing, A.PAUSE, now=LATER, actor="bob").state
    assert (paused.phase, paused.step, paused.step_started_at) == (P.PAUSED, 2, T0)
    assert traffic_share(SPEC, paused) == 5000
    resumed = apply_action(SPEC, paused, A.RESUME, now=LATER, actor="bob").state
    assert (resumed.phase, resumed.step, resumed.step_started_at) == (P.PROGRESSING, 2, LATER)


@pytest.mark.parametrize("phase", [P.PROGRESSING, P.PAUSED])
def test_promote_skips_to_100_percent(phase: RolloutPhase) -> None:
    applied = apply_action(SPEC, _state(phase, step=0), A.PROMOTE, now=LATER, actor="alice")
    assert (applied.state.phase, applied.state.step) == (P.SUCCEEDED, 3)
    assert traffic_share(SPEC, applied.state) == 10_000
    assert applied.record is not None
    assert (applied.record.from_share, applied.record.to_share) == (1000, 10_000)


@pytest.mark.parametrize("phase", [P.PENDING, P.PROGRESSING, P.PAUSED])
def test_abort_goes_back_to_the_baseline_and_remembers_the_step(phase: RolloutPhase) -> None:
    before = _state(phase)
    after = apply_action(SPEC, before, A.ABORT, now=LATER, actor="alice").state
    assert (after.phase, after.step, after.step_started_at) == (
        P.ABORTED,
        before.step,
        before.step_started_at,
    )
    assert traffic_share(SPEC, after) == 0


def test_rollback_goes_back_to_the_baseline() -> None:
    applied = apply_action(
        SPEC,
        _state(P.PROGRESSING, step=2),
        A.ROLLBACK,
        now=LATER,
        actor=CONTROLLER_ACTOR,
        reason="p95 +80% vs baseline",
        evidence={"gates": [{"gate": "latency_p95", "verdict": "fail", "canary": 412.0}]},
    )
    assert (applied.state.phase, applied.state.step) == (P.ROLLED_BACK, 2)
    assert traffic_share(SPEC, applied.state) == 0
    record = applied.record
    assert record is not None
    assert (record.from_share, record.to_share) == (5000, 0)
    assert record.actor == "controller"
    assert record.reason == "p95 +80% vs baseline"
    assert record.evidence == {
        "gates": [{"gate": "latency_p95", "verdict": "fail", "canary": 412.0}]
    }


@pytest.mark.parametrize("phase", [P.ROLLED_BACK, P.ABORTED])
def test_retry_starts_again_from_the_first_step_as_a_new_attempt(phase: RolloutPhase) -> None:
    applied = apply_action(SPEC, _state(phase, step=2), A.RETRY, now=LATER, actor="alice")
    assert applied.state == RolloutState(
        phase=P.PROGRESSING, step=0, step_started_at=LATER, attempt=2, version=8
    )
    assert applied.record is not None
    assert applied.record.attempt == 2


def test_records_serialise_for_the_history() -> None:
    applied = apply_action(SPEC, RolloutState(), A.START, now=T0, actor="token:ci")
    assert applied.record is not None
    assert applied.record.model_dump(mode="json") == {
        "action": "start",
        "actor": "token:ci",
        "at": "2026-03-01T12:00:00Z",
        "from_phase": "pending",
        "from_step": 0,
        "from_share": 0,
        "to_phase": "progressing",
        "to_step": 0,
        "to_share": 1000,
        "attempt": 1,
        "version": 2,
        "reason": "started",
        "evidence": None,
    }


def test_states_serialise_and_read_back() -> None:
    state = _state(P.PAUSED, attempt=3)
    assert RolloutState.model_validate_json(state.model_dump_json()) == state


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        apply_action(SPEC, RolloutState(), A.START, now=datetime(2026, 1, 1), actor="a")


def test_the_actor_is_required() -> None:
    with pytest.raises(ValueError, match="actor"):
        apply_action(SPEC, RolloutState(), A.START, now=T0, actor="")


def test_a_state_beyond_the_specs_steps_is_refused() -> None:
    state = RolloutState(phase=P.PROGRESSING, step=9, step_started_at=T0)
    with pytest.raises(ValueError, match="outside"):
        apply_action(SPEC, state, A.PAUSE, now=T0, actor="a")
    with pytest.raises(ValueError, match="outside"):
        traffic_share(SPEC, state)


def test_a_state_needs_an_aware_step_start() -> None:
    with pytest.raises(ValueError, match="timezone"):
        RolloutState(phase=P.PROGRESSING, step_started_at=datetime(2026, 1, 1))
