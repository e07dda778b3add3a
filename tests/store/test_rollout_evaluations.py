"""A rollout's evaluations on SQLite and PostgreSQL: every change of mind kept, repeats at most
once a minute, paging oldest first, and retention of finished rollouts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rollwise.application import act_on_rollout, create_rollout, record_step_decision
from rollwise.core.rollout import CONTROLLER_ACTOR, RolloutAction
from rollwise.errors import NotFoundError
from rollwise.store import RolloutRecord, Store

from ._support import EVIDENCE, SPEC, seed

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def started(store: Store) -> RolloutRecord:
    seed(store)
    with store.transaction("bob") as tx:
        return create_rollout(tx, SPEC, start=True, now=T0)


def judge(store: Store, rollout_id: int, action: RolloutAction, seconds: float) -> RolloutRecord:
    """One controller look ``seconds`` after T0, deciding ``action`` (as the controller does)."""
    with store.transaction(CONTROLLER_ACTOR) as tx:
        rollout = tx.rollouts.get(rollout_id)
        kept = record_step_decision(
            tx,
            rollout,
            action,
            at=T0 + timedelta(seconds=seconds),
            reason=f"{action.value} at {seconds}s",
            verdict="pass" if action is RolloutAction.ADVANCE else "hold",
            evidence=EVIDENCE,
        )
        return kept.rollout


def test_changes_are_all_kept_and_repeats_at_most_once_a_minute(store: Store) -> None:
    rollout = started(store)
    for seconds in range(0, 125, 5):  # a hold every 5 s for two minutes
        judge(store, rollout.id, RolloutAction.HOLD, seconds)
    judge(store, rollout.id, RolloutAction.ADVANCE, 127)  # a change of decision (and step)
    judge(store, rollout.id, RolloutAction.HOLD, 130)  # the next step's first look
    judge(store, rollout.id, RolloutAction.HOLD, 135)  # a repeat: not kept
    with store.reading() as tx:
        kept = tx.evaluations.list_evaluations(rollout.id)
        latest = tx.rollouts.get_judgement(rollout.id)
    assert [(e.seq, e.at - T0, e.step, e.decision) for e in kept] == [
        (1, timedelta(0), 0, "hold"),
        (2, timedelta(seconds=60), 0, "hold"),
        (3, timedelta(seconds=120), 0, "hold"),
        (4, timedelta(seconds=127), 0, "advance"),
        (5, timedelta(seconds=130), 1, "hold"),
    ]
    first = kept[0]
    assert (first.verdict, first.reason, first.evidence) == ("hold", "hold at 0s", EVIDENCE)
    assert (first.attempt, first.rollout_version, first.rollout_id) == (1, 2, rollout.id)
    assert kept[4].rollout_version == 3  # judged after the advance
    assert latest is not None
    assert latest.at == T0 + timedelta(seconds=135)  # the latest judgement: every look


def test_a_failure_look_is_kept_as_an_evaluation(store: Store) -> None:
    rollout = started(store)
    judge(store, rollout.id, RolloutAction.HOLD, 0)
    with store.transaction(CONTROLLER_ACTOR) as tx:
        tx.rollouts.record_judgement(rollout.id, decision="error", reason="provider down", at=T0)
    with store.reading() as tx:
        assert [e.decision for e in tx.evaluations.list_evaluations(rollout.id)] == [
            "hold",
            "error",
        ]


def test_pages_oldest_first_after_a_seq(store: Store) -> None:
    rollout = started(store)
    for minute in range(5):
        judge(store, rollout.id, RolloutAction.HOLD, 60 * minute)
    with store.reading() as tx:
        first = tx.evaluations.list_evaluations(rollout.id, limit=2)
        second = tx.evaluations.list_evaluations(rollout.id, since=first[-1].seq, limit=2)
        rest = tx.evaluations.list_evaluations(rollout.id, since=second[-1].seq, limit=2)
        after_all = tx.evaluations.list_evaluations(rollout.id, since=rest[-1].seq)
    assert [e.seq for e in first + second + rest] == [1, 2, 3, 4, 5]
    assert after_all == []


def test_an_unknown_rollout_is_not_found_and_an_unjudged_one_has_none(store: Store) -> None:
    rollout = started(store)
    with store.reading() as tx:
        assert tx.evaluations.list_evaluations(rollout.id) == []
        with pytest.raises(NotFoundError):
            tx.evaluations.list_evaluations(rollout.id + 1)


def test_retention_deletes_only_the_evaluations_of_rollouts_finished_long_ago(
    database_url: str,
) -> None:
    now = [T0]
    store = Store(database_url, clock=lambda: now[0])
    try:
        seed(store)
        with store.transaction("bob") as tx:
            old = create_rollout(tx, SPEC, start=True, now=T0)
        judge(store, old.id, RolloutAction.HOLD, 0)
        with store.transaction("bob") as tx:
            act_on_rollout(tx, old.id, "abort", expected_version=2, now=T0)
        with store.transaction("bob") as tx:
            active = create_rollout(tx, SPEC, start=True, now=T0)
        judge(store, active.id, RolloutAction.HOLD, 0)

        now[0] = T0 + timedelta(days=9)
        with store.transaction("retention") as tx:
            assert tx.evaluations.purge(timedelta(days=10)) == 0  # finished 9 days ago
        now[0] = T0 + timedelta(days=11)
        with store.transaction("retention") as tx:
            assert tx.evaluations.purge(timedelta(days=10)) == 1
        with store.reading() as tx:
            assert tx.evaluations.list_evaluations(old.id) == []
            assert len(tx.evaluations.list_evaluations(active.id)) == 1  # active: kept however old
            assert (
                tx.rollouts.get_judgement(old.id) is not None
            )  # the latest look stays with the rollout
    finally:
        store.close()
