"""A person's action racing the controller, and two controllers racing each other, on SQLite
and PostgreSQL: no transition is lost, repeated or half-applied."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Sequence

import pytest

from rollwise.analysis.providers import MetricProvider, MetricQuery, StepMetrics
from rollwise.application import act_on_rollout
from rollwise.controller import AlwaysLeader, Controller, build_provider
from rollwise.core.gates import Gate
from rollwise.core.rollout import RolloutAction, RolloutPhase
from rollwise.errors import ConflictError
from rollwise.store import RolloutHistoryRecord, RolloutRecord, Store

from .._support.clock import FakeClock
from ._support import (
    at_step_start,
    canary_spec,
    fast_settings,
    history,
    make_controller,
    rollout,
    split,
    start_rollout,
    traffic,
)

# These tests feed the same traffic whatever the step's share (the races are the point), so
# the sample-ratio check, which would rightly pause such a rollout, is off.
FIXED_TRAFFIC = {"sample_ratio": {"enabled": False}}


class PauseDuringLook:
    """Failure injection: while the controller looks, a person pauses the rollout."""

    def __init__(self, store: Store, inner: MetricProvider) -> None:
        self.store = store
        self.inner = inner
        self.armed = True

    def fetch(self, query: MetricQuery) -> StepMetrics:
        if self.armed:
            self.armed = False
            with self.store.transaction("token:carol:2") as tx:
                current = tx.rollouts.get_active(query.flag, query.environment)
                assert current is not None
                act_on_rollout(tx, current.id, "pause", expected_version=current.version)
        return self.inner.fetch(query)

    def validate_gates(self, gates: Sequence[Gate]) -> None:
        pass

    def close(self) -> None:
        self.inner.close()


def test_a_person_acting_while_the_controller_judges_wins_and_nothing_is_lost(
    seeded: Store, clock: FakeClock
) -> None:
    provider = PauseDuringLook(seeded, build_provider(seeded, {"type": "builtin"}))
    with make_controller(seeded, clock, provider=provider) as controller:
        started = start_rollout(seeded, clock, canary_spec(**FIXED_TRAFFIC))
        traffic(seeded, at_step_start(started), legacy=(2700, 27), domain=(300, 3))
        clock.advance(minutes=11)  # the step would advance now...

        report = controller.tick()  # ...but carol pauses while it is being judged
        assert [o.status for o in report.rollouts] == ["conflict"]
        paused = rollout(seeded, started.id)
        assert (paused.phase, paused.step, paused.version) == (RolloutPhase.PAUSED, 0, 3)
        assert [(r.action, r.actor) for r in history(seeded, started.id)] == [
            (RolloutAction.START, "token:bob:1"),
            (RolloutAction.PAUSE, "token:carol:2"),
        ]
        with seeded.transaction("read") as tx:
            assert (
                tx.rollouts.get_judgement(started.id) is None
            )  # the stale look left nothing behind

        controller.tick()
        assert rollout(seeded, started.id) == paused

        with seeded.transaction("token:carol:2") as tx:
            resumed = act_on_rollout(tx, started.id, "resume", expected_version=3)
        traffic(seeded, at_step_start(resumed), legacy=(2700, 27), domain=(300, 3))
        clock.advance(minutes=11)  # resume restarted the step's clock: a fresh bake
        controller.tick()
        assert rollout(seeded, started.id).step == 1


def test_two_controllers_that_both_believe_they_lead_apply_each_transition_once(
    seeded: Store, clock: FakeClock
) -> None:
    first = make_controller(seeded, clock)
    second = make_controller(seeded, clock)
    started = start_rollout(seeded, clock, canary_spec(**FIXED_TRAFFIC))
    try:
        for _ in range(3):
            traffic(seeded, clock.now, legacy=(2700, 27), domain=(300, 3))
            clock.advance(minutes=11)
            barrier = threading.Barrier(2)
            threads = [
                threading.Thread(target=_tick_together, args=(c, barrier)) for c in (first, second)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            if rollout(seeded, started.id).phase is RolloutPhase.SUCCEEDED:
                break
    finally:
        first.close()
        second.close()
    rows = history(seeded, started.id)
    assert [(r.action, r.to_step) for r in rows] == [
        (RolloutAction.START, 0),
        (RolloutAction.ADVANCE, 1),
        (RolloutAction.ADVANCE, 2),
    ]
    assert_consistent(rows, rollout(seeded, started.id))


def _tick_together(controller: Controller, barrier: threading.Barrier) -> None:
    barrier.wait()
    controller.tick()


def assert_consistent(rows: list[RolloutHistoryRecord], final: RolloutRecord) -> None:
    """Each transition starts where the previous one ended; versions count transitions."""
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert [r.version for r in rows] == list(range(2, len(rows) + 2))
    for before, after in itertools.pairwise(rows):
        assert (after.from_phase, after.from_step, after.from_share) == (
            before.to_phase,
            before.to_step,
            before.to_share,
        )
    assert final.version == len(rows) + 1
    last = rows[-1]
    assert (final.phase, final.step, final.share) == (last.to_phase, last.to_step, last.to_share)


@pytest.mark.slow  # threads racing for seconds on purpose
def test_people_and_the_controller_hammering_one_rollout_keep_its_history_whole(
    seeded: Store, clock: FakeClock
) -> None:
    steps = [f"{p}%" for p in range(10, 100, 10)]  # no bake: every passing look advances
    spec = canary_spec(strategy={"steps": steps}, min_samples=20, **FIXED_TRAFFIC)
    started = start_rollout(seeded, clock, spec)
    controller = Controller(
        seeded, fast_settings(), elector=AlwaysLeader(), clock=clock
    )  # one clock for both: what the person's transactions and the controller call now
    applied_by_controller = 0
    applied_by_people = 0
    finished = threading.Event()

    def drive() -> None:
        nonlocal applied_by_controller
        try:
            for _ in range(200):
                traffic(seeded, clock.now, legacy=(200, 2), domain=(200, 2))
                clock.advance(seconds=10)
                report = controller.tick()
                applied_by_controller += sum(o.status == "applied" for o in report.rollouts)
                if rollout(seeded, started.id).phase.is_terminal:
                    return
                time.sleep(0.005)  # let the person in between ticks, too
        finally:
            finished.set()

    def meddle() -> None:
        nonlocal applied_by_people
        while not finished.is_set():
            current = rollout(seeded, started.id)
            action = {RolloutPhase.PROGRESSING: "pause", RolloutPhase.PAUSED: "resume"}.get(
                current.phase
            )
            if action is None:
                return
            try:
                with seeded.transaction("token:dave:3") as tx:
                    act_on_rollout(tx, started.id, action, expected_version=current.version)
                applied_by_people += 1
            except ConflictError:
                continue  # the controller moved first: read again and retry
            finished.wait(0.002)

    threads = [threading.Thread(target=drive), threading.Thread(target=meddle)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    controller.close()
    # people resumed it last, or the controller finished it: either way it can finish
    while rollout(seeded, started.id).phase is RolloutPhase.PAUSED:
        current = rollout(seeded, started.id)
        with seeded.transaction("token:dave:3") as tx:
            act_on_rollout(tx, started.id, "resume", expected_version=current.version)
        applied_by_people += 1

    final = rollout(seeded, started.id)
    rows = history(seeded, started.id)
    assert_consistent(rows, final)
    by_controller = [r for r in rows if r.actor == "controller"]
    by_people = [r for r in rows if r.actor == "token:dave:3"]
    assert len(by_controller) == applied_by_controller
    assert len(by_people) == applied_by_people
    assert {r.action for r in by_controller} <= {RolloutAction.ADVANCE}
    assert split(seeded) == {
        "legacy": 10000 - final.share,
        "domain": final.share,
    }
