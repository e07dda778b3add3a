"""The application layer over a store that only persists (SQLite and PostgreSQL): the
store's own writes touch nothing else, a use case does the whole transition in its
caller's transaction, and the controller's decision is recorded at the judged version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rollwise.application import act_on_rollout, create_rollout, record_step_decision
from rollwise.core.rollout import CONTROLLER_ACTOR, RolloutAction, RolloutPhase, apply_action
from rollwise.errors import ConflictError
from rollwise.store import Store

from ..store._support import EVIDENCE, SPEC, seed

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _split(store: Store) -> dict[str, int] | None:
    with store.reading() as tx:
        return tx.flags.get_state("checkout", "production").state.split


def test_the_store_persists_a_transition_and_nothing_more(store: Store) -> None:
    seed(store)
    with store.transaction("nop") as tx:
        tx.channels.create("all", {"type": "nop", "name": "all"})
    with store.transaction("bob") as tx:
        created = create_rollout(tx, SPEC)
        before = tx.rollouts.get(created.id, lock=True)
        applied = apply_action(before.spec, before.state, RolloutAction.START, now=T0, actor="bob")
        assert applied.record is not None
        after = tx.rollouts.save_transition(before, applied.state, applied.record)
    assert (after.phase, after.version, after.share) == (RolloutPhase.PROGRESSING, 2, 1000)
    assert _split(store) == {"legacy": 10000, "domain": 0}  # the split is the use case's
    with store.reading() as tx:
        assert [h.action.value for h in tx.rollouts.list_history(created.id)] == ["start"]
        assert [a.action for a in tx.audit.list_audit(target_type="rollout")] == [
            "rollout.start",
            "rollout.create",
        ]
        assert tx.outbox.list_outbox() == []  # and so are the notifications


def test_a_use_case_is_all_or_nothing_in_its_callers_transaction(store: Store) -> None:
    seed(store)
    with store.transaction("nop") as tx:
        tx.channels.create("all", {"type": "nop", "name": "all"})
    with store.transaction("bob") as tx:
        rollout = create_rollout(tx, SPEC)

    def fail_after_the_use_case() -> None:
        with store.transaction("bob") as tx:
            act_on_rollout(tx, rollout.id, "start", expected_version=1, now=T0)
            raise RuntimeError("the request failed after the use case")

    with pytest.raises(RuntimeError):
        fail_after_the_use_case()
    assert _split(store) == {"legacy": 10000, "domain": 0}
    with store.reading() as tx:
        assert tx.rollouts.get(rollout.id).version == 1
        assert tx.rollouts.list_history(rollout.id) == []
        assert tx.outbox.list_outbox() == []
    with store.transaction("bob") as tx:
        act_on_rollout(tx, rollout.id, "start", expected_version=1, now=T0)
    assert _split(store) == {"legacy": 9000, "domain": 1000}
    with store.reading() as tx:
        assert [row.kind for row in tx.outbox.list_outbox()] == ["rollout.transition"]
        assert [a.action for a in tx.audit.list_audit(action="flag.rollout_split")] == [
            "flag.rollout_split"
        ]


def test_a_controller_hold_records_the_judgement_and_moves_nothing(store: Store) -> None:
    seed(store)
    with store.transaction("bob") as tx:
        rollout = create_rollout(tx, SPEC, start=True, now=T0)
    with store.transaction(CONTROLLER_ACTOR) as tx:
        kept = record_step_decision(
            tx, rollout, RolloutAction.HOLD, at=T0, reason="baking", verdict="hold",
            evidence={"decision": "hold"},
        )  # fmt: skip
    assert kept.rollout == rollout
    assert (kept.judgement.decision, kept.judgement.rollout_version) == ("hold", 2)
    with store.reading() as tx:
        assert tx.rollouts.get(rollout.id).version == 2
        assert len(tx.rollouts.list_history(rollout.id)) == 1


def test_a_controller_decision_carries_its_evidence_into_history(store: Store) -> None:
    seed(store)
    with store.transaction("bob") as tx:
        rollout = create_rollout(tx, SPEC, start=True, now=T0)
    later = T0 + timedelta(hours=2)
    with store.transaction(CONTROLLER_ACTOR) as tx:
        kept = record_step_decision(
            tx, rollout, RolloutAction.ROLLBACK, at=later, reason="a gate failed",
            verdict="fail", evidence=EVIDENCE,
        )  # fmt: skip
    assert kept.rollout.phase is RolloutPhase.ROLLED_BACK
    assert kept.judgement.decision == "rollback"
    assert _split(store) == {"legacy": 10000, "domain": 0}
    with store.reading() as tx:
        last = tx.rollouts.list_history(rollout.id)[-1]
    assert (last.actor, last.evidence, last.at) == (CONTROLLER_ACTOR, EVIDENCE, later)


def test_a_decision_on_a_version_a_person_changed_records_nothing(store: Store) -> None:
    seed(store)
    with store.transaction("bob") as tx:
        judged = create_rollout(tx, SPEC, start=True, now=T0)
        act_on_rollout(tx, judged.id, "pause", expected_version=2, now=T0)
    with pytest.raises(ConflictError), store.transaction(CONTROLLER_ACTOR) as tx:
        record_step_decision(
            tx, judged, RolloutAction.ADVANCE, at=T0, reason="passed", verdict="pass",
            evidence={},
        )  # fmt: skip
    with store.reading() as tx:
        assert tx.rollouts.get_judgement(judged.id) is None
        assert tx.rollouts.get(judged.id).phase is RolloutPhase.PAUSED


def test_an_unchanged_split_is_not_written_again(store: Store) -> None:
    seed(store, split={"legacy": 9000, "domain": 1000})
    with store.transaction("bob") as tx:
        create_rollout(tx, SPEC, start=True, now=T0)
    with store.reading() as tx:
        assert tx.audit.list_audit(action="flag.rollout_split") == []
        assert tx.flags.get_state("checkout", "production").version == 1
