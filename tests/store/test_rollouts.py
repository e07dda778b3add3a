"""Rollout operations on SQLite and PostgreSQL: transitions, history, audit, the flag's split,
one active rollout per flag and environment, and atomicity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rollwise.application import act_on_rollout, create_rollout
from rollwise.core import FlagEnvironment
from rollwise.core.rollout import RolloutPhase
from rollwise.errors import ConfigError, ConflictError, NotFoundError
from rollwise.notifiers import Notification
from rollwise.store import Store

from ._support import EVIDENCE, SPEC, seed

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def split_of(store: Store) -> dict[str, int] | None:
    with store.transaction("read") as tx:
        return tx.flags.get_state("checkout", "production").state.split


def revision(store: Store) -> int:
    with store.transaction("read") as tx:
        return tx.environments.config_revision("production")


def test_create_pending_resolves_the_baseline_and_touches_nothing_else(store: Store) -> None:
    seed(store)
    before = revision(store)
    with store.transaction("bob") as tx:
        rollout = create_rollout(tx, SPEC)
    assert (rollout.phase, rollout.step, rollout.version, rollout.attempt) == (
        RolloutPhase.PENDING,
        0,
        1,
        1,
    )
    assert (rollout.baseline, rollout.spec.baseline, rollout.share) == ("legacy", "legacy", 0)
    assert rollout.created_by == "bob"
    assert rollout.step_started_at is None
    assert split_of(store) == {"legacy": 10000, "domain": 0}
    assert revision(store) == before
    with store.transaction("read") as tx:
        assert tx.rollouts.list_history(rollout.id) == []
        created = tx.audit.list_audit(action="rollout.create")
        assert [(a.target, a.actor) for a in created] == [(str(rollout.id), "bob")]
        assert created[0].after is not None
        assert created[0].after["spec"]["baseline"] == "legacy"
        assert tx.outbox.list_outbox() == []


def test_manual_actions_move_the_split_and_leave_history_and_audit(store: Store) -> None:
    seed(store)
    with store.transaction("bob") as tx:
        rollout = create_rollout(tx, SPEC, start=True, now=T0)
    assert (rollout.phase, rollout.version, rollout.share) == (RolloutPhase.PROGRESSING, 2, 1000)
    assert rollout.step_started_at == T0
    assert split_of(store) == {"legacy": 9000, "domain": 1000}
    started_revision = revision(store)

    later = T0 + timedelta(minutes=10)
    with store.transaction("carol") as tx:
        paused = act_on_rollout(tx, rollout.id, "pause", expected_version=2, now=later)
    assert (paused.phase, paused.share, paused.step_started_at) == (RolloutPhase.PAUSED, 1000, T0)
    assert revision(store) == started_revision  # the share did not change: no new config

    resumed_at = T0 + timedelta(minutes=20)
    with store.transaction("carol") as tx:
        resumed = act_on_rollout(
            tx, rollout.id, "resume", expected_version=3, now=resumed_at, reason="looked fine"
        )
        promoted = act_on_rollout(tx, rollout.id, "promote", expected_version=4)
    assert resumed.step_started_at == resumed_at
    assert (promoted.phase, promoted.step, promoted.share) == (RolloutPhase.SUCCEEDED, 2, 10000)
    assert split_of(store) == {"legacy": 0, "domain": 10000}
    assert revision(store) > started_revision

    with store.transaction("read") as tx:
        history = tx.rollouts.list_history(rollout.id)
        audit = tx.audit.list_audit(target_type="rollout", target=str(rollout.id))
        splits = tx.audit.list_audit(action="flag.rollout_split")
    assert [(h.seq, h.version, h.action.value, h.actor) for h in history] == [
        (1, 2, "start", "bob"),
        (2, 3, "pause", "carol"),
        (3, 4, "resume", "carol"),
        (4, 5, "promote", "carol"),
    ]
    assert [(h.from_share, h.to_share) for h in history] == [
        (0, 1000),
        (1000, 1000),
        (1000, 1000),
        (1000, 10000),
    ]
    assert history[2].reason == "looked fine"
    assert [a.action for a in reversed(audit)] == [
        "rollout.create",
        "rollout.start",
        "rollout.pause",
        "rollout.resume",
        "rollout.promote",
    ]
    assert len(splits) == 2  # start and promote changed the flag; pause and resume did not


def test_abort_then_retry_is_a_new_attempt_from_the_first_step(store: Store) -> None:
    seed(store)
    with store.transaction("bob") as tx:
        rollout = create_rollout(tx, SPEC, start=True, now=T0)
        aborted = act_on_rollout(tx, rollout.id, "abort", expected_version=2, now=T0)
    assert (aborted.phase, aborted.share) == (RolloutPhase.ABORTED, 0)
    assert split_of(store) == {"legacy": 10000, "domain": 0}
    with store.transaction("bob") as tx:
        retried = act_on_rollout(tx, rollout.id, "retry", expected_version=3)
        assert tx.rollouts.get_active("checkout", "production") == retried
    assert (retried.phase, retried.step, retried.attempt, retried.share) == (
        RolloutPhase.PROGRESSING,
        0,
        2,
        1000,
    )
    assert split_of(store) == {"legacy": 9000, "domain": 1000}


def test_aborting_a_pending_rollout_leaves_the_flag_alone(store: Store) -> None:
    seed(store, split={"legacy": 8000, "domain": 2000})
    with store.transaction("bob") as tx:
        rollout = create_rollout(tx, SPEC)
        act_on_rollout(tx, rollout.id, "abort", expected_version=1)
        assert tx.audit.list_audit(action="flag.rollout_split") == []
    assert split_of(store) == {"legacy": 8000, "domain": 2000}


def test_controller_actions_carry_evidence_to_history_and_notifications(store: Store) -> None:
    seed(store)
    with store.transaction("admin") as tx:
        tx.channels.create("all", {"type": "nop", "name": "all"})
    with store.transaction("bob") as tx:
        rollout = create_rollout(tx, SPEC, start=True, now=T0)
    with store.transaction("controller") as tx:
        held = act_on_rollout(tx, rollout.id, "hold", expected_version=2, actor="controller")
        assert held == tx.rollouts.get(rollout.id)
        advanced = act_on_rollout(
            tx,
            rollout.id,
            "advance",
            expected_version=2,
            actor="controller",
            now=T0 + timedelta(hours=1),
            evidence={"decision": "promote", "gates": []},
        )
        assert (advanced.step, advanced.share) == (1, 5000)
        rolled_back = act_on_rollout(
            tx,
            rollout.id,
            "rollback",
            expected_version=3,
            actor="controller",
            reason="step 2: a gate failed",
            evidence=EVIDENCE,
        )
    assert (rolled_back.phase, rolled_back.share) == (RolloutPhase.ROLLED_BACK, 0)
    assert split_of(store) == {"legacy": 10000, "domain": 0}
    with store.transaction("read") as tx:
        history = tx.rollouts.list_history(rollout.id)
        rows = tx.outbox.list_outbox()
    assert [h.action.value for h in history] == ["start", "advance", "rollback"]
    assert history[-1].evidence == EVIDENCE
    assert history[-1].actor == "controller"
    newest = Notification.from_dict(rows[0].notification)
    assert newest.id == rows[0].id
    assert (newest.kind, newest.severity.value) == ("rollout.transition", "critical")
    assert newest.subject.rollout == str(rollout.id)
    assert newest.fields["phase"] == "progressing → rolled_back"
    assert newest.fields["share"] == "50% → 0%"
    assert newest.fields["gate error_rate"] == "fail — 5.1% vs 1.0%"
    assert newest.evidence == EVIDENCE
    assert newest.summary == "step 2: a gate failed"


def test_advancing_past_the_last_judged_step_succeeds(store: Store) -> None:
    seed(store)
    with store.transaction("controller") as tx:
        rollout = create_rollout(tx, SPEC, start=True, now=T0)
        one = act_on_rollout(tx, rollout.id, "advance", expected_version=2)
        done = act_on_rollout(tx, rollout.id, "advance", expected_version=one.version)
    assert (done.phase, done.share) == (RolloutPhase.SUCCEEDED, 10000)
    assert split_of(store) == {"legacy": 0, "domain": 10000}


def test_illegal_and_stale_actions_are_conflicts_that_change_nothing(store: Store) -> None:
    seed(store)
    with store.transaction("bob") as tx:
        rollout = create_rollout(tx, SPEC, start=True, now=T0)
    with store.transaction("bob") as tx, pytest.raises(ConflictError) as illegal:
        act_on_rollout(tx, rollout.id, "resume", expected_version=2)
    details = illegal.value.details
    assert details["legal_actions"] == ["pause", "promote", "abort", "advance", "hold", "rollback"]
    assert details["legal_manual_actions"] == ["pause", "promote", "abort"]
    with store.transaction("bob") as tx, pytest.raises(ConflictError) as stale:
        act_on_rollout(tx, rollout.id, "pause", expected_version=1)
    assert (stale.value.details["expected_version"], stale.value.details["current_version"]) == (
        1,
        2,
    )
    with store.transaction("bob") as tx, pytest.raises(NotFoundError):
        act_on_rollout(tx, 999, "pause", expected_version=1)
    with store.transaction("read") as tx:
        assert len(tx.rollouts.list_history(rollout.id)) == 1
        assert tx.rollouts.get(rollout.id).version == 2


def test_a_failure_after_the_transition_rolls_all_of_it_back(store: Store) -> None:
    """The transition, its history, the split, the audit and the outbox are one transaction."""
    seed(store)
    with store.transaction("admin") as tx:
        tx.channels.create("all", {"type": "nop", "name": "all"})
        rollout = create_rollout(tx, SPEC)
    before_revision = revision(store)

    def crash_before_commit() -> None:
        with store.transaction("bob") as tx:
            act_on_rollout(tx, rollout.id, "start", expected_version=1)
            raise RuntimeError("the process died before the commit")

    with pytest.raises(RuntimeError):
        crash_before_commit()
    with store.transaction("read") as tx:
        assert tx.rollouts.get(rollout.id).phase is RolloutPhase.PENDING
        assert tx.rollouts.list_history(rollout.id) == []
        assert tx.outbox.list_outbox() == []
        assert tx.audit.list_audit(action="rollout.start") == []
    assert split_of(store) == {"legacy": 10000, "domain": 0}
    assert revision(store) == before_revision


def test_one_active_rollout_per_flag_and_environment(store: Store) -> None:
    seed(store)
    with store.transaction("bob") as tx:
        tx.flags.put_state("checkout", "staging", FlagEnvironment(default="legacy"), 0)
        first = create_rollout(tx, SPEC)
        other_env = create_rollout(tx, {**SPEC, "environment": "staging"})
    with store.transaction("bob") as tx, pytest.raises(ConflictError) as taken:
        create_rollout(tx, SPEC)
    assert taken.value.details["rollout_id"] == first.id
    assert str(first.id) in taken.value.message
    with store.transaction("bob") as tx:
        act_on_rollout(tx, first.id, "abort", expected_version=1)
        second = create_rollout(tx, SPEC, start=True)
    assert other_env.environment == "staging"
    with store.transaction("bob") as tx, pytest.raises(ConflictError) as retry:
        act_on_rollout(tx, first.id, "retry", expected_version=2)
    assert retry.value.details["rollout_id"] == second.id
    with store.transaction("read") as tx:
        assert [r.id for r in tx.rollouts.list_rollouts(active=True)] == [second.id, other_env.id]
        assert [r.id for r in tx.rollouts.list_rollouts(phases=["aborted"])] == [first.id]
        assert [r.id for r in tx.rollouts.list_rollouts(environment="staging")] == [other_env.id]
        assert tx.rollouts.get(first.id).phase is RolloutPhase.ABORTED


def test_the_spec_is_checked_against_the_flag(store: Store) -> None:
    seed(store)
    with store.transaction("bob") as tx:
        with pytest.raises(ConfigError) as unknown:
            create_rollout(tx, {**SPEC, "variant": "domian"})
        assert unknown.value.path == "variant"
        with pytest.raises(ConfigError) as steps:
            create_rollout(tx, {**SPEC, "strategy": {"steps": ["50%", "10%"]}})
        assert steps.value.path == "strategy.steps.1.percent"
        with pytest.raises(NotFoundError):
            create_rollout(tx, {**SPEC, "flag": "nope"})
        with pytest.raises(NotFoundError):
            create_rollout(tx, {**SPEC, "environment": "nowhere"})
        tx.flags.create("old")
        tx.flags.archive("old")
        with pytest.raises(ConflictError):
            create_rollout(tx, {**SPEC, "flag": "old", "variant": "on"})


def test_manual_split_changes_are_refused_while_a_rollout_is_active(store: Store) -> None:
    seed(store)
    with store.transaction("bob") as tx:
        rollout = create_rollout(tx, SPEC, start=True)
    with store.transaction("bob") as tx, pytest.raises(ConflictError) as refused:
        tx.flags.put_state(
            "checkout", "production", FlagEnvironment(split={"legacy": 5000, "domain": 5000}), None
        )
    assert refused.value.details["rollout_id"] == rollout.id
    assert f"rollout {rollout.id}" in refused.value.message
    with store.transaction("bob") as tx:
        current = tx.flags.get_state("checkout", "production")
        with_rule = current.state.model_copy(update={"unit": "account_id"})
        tx.flags.put_state("checkout", "production", with_rule, current.version)
        killed = tx.flags.set_enabled("checkout", "production", False)
        assert not killed.state.enabled
        act_on_rollout(tx, rollout.id, "abort", expected_version=2)
        tx.flags.put_state(
            "checkout", "production", FlagEnvironment(split={"legacy": 5000, "domain": 5000}), None
        )


def test_judgements_are_kept_without_a_new_version(store: Store) -> None:
    seed(store)
    with store.transaction("bob") as tx:
        rollout = create_rollout(tx, SPEC, start=True, now=T0)
        assert tx.rollouts.get_judgement(rollout.id) is None
    with store.transaction("controller") as tx:
        tx.rollouts.record_judgement(
            rollout.id, decision="hold", verdict="no_data", reason="waiting", at=T0
        )
        latest = tx.rollouts.record_judgement(
            rollout.id,
            decision="hold",
            verdict="pass",
            reason="baking",
            evidence=EVIDENCE,
            at=T0 + timedelta(seconds=5),
        )
    assert (latest.verdict, latest.reason, latest.at) == (
        "pass",
        "baking",
        T0 + timedelta(seconds=5),
    )
    assert (latest.step, latest.attempt, latest.rollout_version) == (0, 1, 2)
    with store.transaction("read") as tx:
        assert tx.rollouts.get_judgement(rollout.id) == latest
        assert tx.rollouts.get(rollout.id).version == 2
        assert tx.audit.list_audit(target_type="rollout", action="rollout.judgement") == []
