"""The crash test's checks are not vacuous: each half-applied transition is caught.

A few transitions (a person's and a controller's) are made through the store, then one
piece of what a transition writes is lost, repeated or changed behind its back, as a
transaction that is not atomic could leave it. ``snapshot_problems`` must say so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Connection, delete, func, insert, select, update

from rollwise.application import act_on_rollout, create_rollout
from rollwise.core import FlagEnvironment
from rollwise.core.rollout import CONTROLLER_ACTOR, RolloutAction
from rollwise.store import Store
from rollwise.store.tables import audit_log, flag_states, outbox, rollout_history, rollouts

from ..notifiers._receivers import Received
from ._consistency import delivery_problems, read_snapshot, snapshot_problems

ENV = "production"
SPEC = {
    "flag": "checkout",
    "environment": ENV,
    "variant": "domain",
    "strategy": {"steps": ["10%/1s", "50%/1s"]},
    "gates": [{"metric": "error_rate", "max": 0.05}],
}


def make_history(store: Store) -> None:
    """start (a person), advance (the controller, with its look), pause (a person)."""
    with store.transaction("token:alice:1") as tx:
        tx.environments.create(ENV)
        tx.flags.create("checkout", variants=["legacy", "domain"])
        tx.flags.put_state("checkout", ENV, FlagEnvironment(split={"legacy": 10000}), 0)
        hook = {"type": "webhook", "name": "hooks", "url": "http://127.0.0.1:9/hook"}
        tx.channels.create("hooks", hook)
        tx.channels.create("quiet", {"type": "nop", "name": "quiet"})
        tx.channels.create("off", {"type": "nop", "name": "off"}, enabled=False)
        started = create_rollout(tx, SPEC, start=True)
    assert started.step_started_at is not None
    look = {
        "action": "advance",
        "step": {"index": 0, "started_at": started.step_started_at.isoformat()},
    }
    with store.transaction(CONTROLLER_ACTOR) as tx:
        moment = started.step_started_at + timedelta(seconds=2)
        advanced = act_on_rollout(
            tx,
            started.id, RolloutAction.ADVANCE, expected_version=started.version,
            actor=CONTROLLER_ACTOR, now=moment, evidence=look,
        )  # fmt: skip
    with store.transaction("token:alice:1") as tx:
        act_on_rollout(tx, started.id, RolloutAction.PAUSE, expected_version=advanced.version)


def last_history(connection: Connection) -> int:
    return int(connection.execute(select(func.max(rollout_history.c.seq))).scalar_one())


def lose_history_row(connection: Connection) -> None:
    seq = last_history(connection)
    connection.execute(delete(rollout_history).where(rollout_history.c.seq == seq))


def repeat_history_row(connection: Connection) -> None:
    seq = last_history(connection)
    row = connection.execute(select(rollout_history).where(rollout_history.c.seq == seq)).one()
    values = row._asdict() | {"seq": seq + 1, "version": row.version + 1}
    connection.execute(insert(rollout_history).values(**values))
    connection.execute(update(rollouts).values(version=rollouts.c.version + 1))


def leave_rollout_row_behind(connection: Connection) -> None:
    connection.execute(update(rollouts).values(phase="progressing", version=rollouts.c.version - 1))


def lose_audit_row(connection: Connection) -> None:
    newest = connection.execute(
        select(func.max(audit_log.c.id)).where(audit_log.c.action == "rollout.pause")
    ).scalar_one()
    connection.execute(delete(audit_log).where(audit_log.c.id == newest))


def lose_outbox_row(connection: Connection) -> None:
    victim = connection.execute(select(outbox.c.id).where(outbox.c.channel == "hooks")).first()
    assert victim is not None
    connection.execute(delete(outbox).where(outbox.c.id == victim.id))


def notify_disabled_channel(connection: Connection) -> None:
    row = connection.execute(select(outbox).where(outbox.c.channel == "quiet")).first()
    assert row is not None
    copy = row._asdict() | {"id": "0" * 36, "channel": "off"}
    copy["notification"] = dict(row.notification) | {"id": copy["id"]}
    connection.execute(insert(outbox).values(**copy))


def keep_old_split(connection: Connection) -> None:
    state = {"split": {"legacy": 10000, "domain": 0}}
    connection.execute(update(flag_states).values(state=state))


def judge_another_state(connection: Connection) -> None:
    look = {"action": "advance", "step": {"index": 1, "started_at": "2020-01-01T00:00:00+00:00"}}
    connection.execute(
        update(rollout_history).where(rollout_history.c.action == "advance").values(evidence=look)
    )


BREAKAGES: dict[str, tuple[Callable[[Connection], None], str]] = {
    "history row lost": (lose_history_row, "history rows give"),
    "history row repeated": (repeat_history_row, "is illegal"),
    "rollout row left behind": (leave_rollout_row_behind, "history rows give"),
    "audit row lost": (lose_audit_row, "audit rows"),
    "outbox row lost": (lose_outbox_row, "channel 'hooks' has outbox rows"),
    "disabled channel notified": (notify_disabled_channel, "channel 'off' has outbox rows"),
    "split not written": (keep_old_split, "split"),
    "decided on another state": (judge_another_state, "was decided on another state"),
}


def test_a_whole_history_is_consistent(store: Store) -> None:
    make_history(store)
    snapshot = read_snapshot(store, ENV)
    assert snapshot.transitions == 3
    assert snapshot_problems(snapshot) == []
    stranger = Received("POST", "/hook", {"x-rollwise-event-id": "nope"}, b"{}")
    assert delivery_problems(snapshot, [stranger], "hooks") == [
        "received event 'nope' on /hook has no outbox row"
    ]


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_each_half_applied_transition_is_caught(store: Store, breakage: str) -> None:
    make_history(store)
    damage, said = BREAKAGES[breakage]
    with store.engine.begin() as connection:
        damage(connection)
    problems = snapshot_problems(read_snapshot(store, ENV))
    assert any(said in problem for problem in problems), problems
