"""Fencing on SQLite and PostgreSQL: a leader that lost its lease while it was frozen wakes
up believing it still leads, and writes nothing — no transition, no judgement, no alert
event, no outbox claim — while the new leader's decisions carry its replica and epoch."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest

from rollwise.controller import Controller, FencedStore, LeaseElector, LeaseLost
from rollwise.core.rollout import RolloutPhase
from rollwise.store import AlertState, RolloutRecord, Store

from .._support.clock import FakeClock
from ..notifiers._receivers import HttpReceiver
from ._support import (
    at_step_start,
    canary_spec,
    history,
    make_controller,
    rollout,
    start_rollout,
    traffic,
)

HEALTHY_10 = {"legacy": (2700, 27), "domain": (300, 3)}


@dataclass
class Pair:
    """Two controllers on one database, each with its own clock, and the database's."""

    store: Store
    clock: FakeClock
    database: FakeClock[float]
    second_clock: FakeClock[float]
    electors: tuple[LeaseElector, LeaseElector]
    first: Controller
    second: Controller

    def freeze_first_until_its_lease_expires(self) -> None:
        """The first stops renewing and its clock stands still (SIGSTOP); the database's
        clock and the second's go on, and the second takes the lease over."""
        self.database.advance(10.5)
        self.second_clock.advance(10.5)
        assert self.second.check_leader()
        assert self.electors[1].epoch == 2


@pytest.fixture
def pair(seeded: Store, clock: FakeClock) -> Iterator[Pair]:
    database, first_clock, second_clock = FakeClock(), FakeClock(), FakeClock()
    electors = (
        LeaseElector(seeded, replica="first", clock=database, monotonic=first_clock),
        LeaseElector(seeded, replica="second", clock=database, monotonic=second_clock),
    )
    with (
        make_controller(seeded, clock, elector=electors[0]) as first,
        make_controller(seeded, clock, elector=electors[1]) as second,
    ):
        assert first.tick().leader
        assert not second.tick().leader
        yield Pair(seeded, clock, database, second_clock, electors, first, second)


def baking_rollout(pair: Pair) -> RolloutRecord:
    started = start_rollout(pair.store, pair.clock, canary_spec())
    traffic(pair.store, at_step_start(started), **HEALTHY_10)
    pair.clock.advance(seconds=10)
    return started


def test_a_deposed_leader_that_wakes_up_applies_no_transition(pair: Pair) -> None:
    store, clock = pair.store, pair.clock
    started = baking_rollout(pair)
    assert pair.first.tick().leader  # judged: the step bakes
    assert rollout(store, started.id).version == 2

    pair.freeze_first_until_its_lease_expires()
    clock.advance(minutes=10)  # the bake is over: whoever judges now advances
    before = history(store, started.id)
    woke = pair.first.tick()  # its own clock stood still: it believes it still leads
    assert not woke.leader
    assert not pair.first.is_leader
    assert history(store, started.id) == before
    assert rollout(store, started.id).version == 2

    assert pair.second.tick().leader
    rows = history(store, started.id)
    assert [(r.actor, r.to_phase, r.to_step) for r in rows[1:]] == [
        ("controller", RolloutPhase.PROGRESSING, 1)
    ]
    evidence = rows[1].evidence
    assert evidence is not None
    assert evidence["leader"] == {"replica": "second", "epoch": 2}
    with store.transaction("read") as tx:
        judged = tx.rollouts.get_judgement(started.id)
    assert judged.evidence["leader"] == {"replica": "second", "epoch": 2}


def test_a_deposed_leader_records_no_alert_event(pair: Pair) -> None:
    store, clock = pair.store, pair.clock
    with store.transaction("admin") as tx:
        tx.alerts.create_rule(
            {
                "name": "domain-errors",
                "environment": "production",
                "metric": "error_rate",
                "flag": "checkout",
                "variant": "domain",
                "threshold": 0.05,
                "window": "5m",
                "for": "1m",
            }
        )
    traffic(store, clock.now - timedelta(seconds=10), legacy=(900, 9), domain=(100, 10))
    pair.freeze_first_until_its_lease_expires()
    report = pair.second.tick()
    assert [(a.rule, a.changed_to) for a in report.alerts] == [
        ("domain-errors", AlertState.PENDING)
    ]

    clock.advance(minutes=2)  # past "for": whoever evaluates now fires it
    report = pair.first.tick()
    assert not report.leader
    assert report.alerts == ()
    with store.transaction("read") as tx:
        assert [e.to_state for e in tx.alerts.list_events("domain-errors")] == [AlertState.PENDING]

    report = pair.second.tick()
    assert [(a.rule, a.changed_to) for a in report.alerts] == [("domain-errors", AlertState.FIRING)]


def test_a_deposed_leader_claims_no_notification(pair: Pair) -> None:
    store = pair.store
    with HttpReceiver() as receiver:
        with store.transaction("admin") as tx:
            tx.channels.create("hooks", {"type": "webhook", "name": "hooks", "url": receiver.url})
            queued = tx.channels.queue_test_notification("hooks")
        pair.freeze_first_until_its_lease_expires()

        assert pair.first.dispatch_tick() == ()
        with store.transaction("read") as tx:
            row = tx.outbox.get(queued.id)
        assert (row.status, row.attempts) == ("pending", 0)
        assert receiver.received == []

        delivered = pair.second.dispatch_tick()
        assert [(d.outbox_id, d.status) for d in delivered] == [(queued.id, "delivered")]
        assert len(receiver.received) == 1


def test_no_write_of_an_old_epoch_commits_after_a_new_epoch_began(pair: Pair) -> None:
    """The fence is checked inside the transaction it protects: a takeover either waits
    for the old leader's transaction in flight (PostgreSQL: the row lock; SQLite: the
    write lock) or happens before it, and then the fence fails."""
    store = pair.store
    old = FencedStore(store, pair.electors[0].fence)
    with old.transaction("controller"):
        pair.database.advance(10.5)
        pair.second_clock.advance(10.5)
        if store.dialect == "postgresql":
            assert not pair.electors[1].check()  # waits for the old epoch, gives up
    assert pair.second.tick().leader
    with pytest.raises(LeaseLost), old.transaction("controller"):
        pass
