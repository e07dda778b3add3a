"""Guardrails stop experiments (SQLite and PostgreSQL): one controller look at a running
experiment whose guardrail arm is clearly worse stops it with the decision ``keep_control``,
the evidence, audit rows and an outbox row, and sends every unit to control; a healthy one
keeps running and is judged at most once per interval; a stopped one is left alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from rollwise.application.experiments import EXPERIMENT_STOPPED, check_guardrails
from rollwise.controller import AlwaysLeader, Controller, ControllerSettings
from rollwise.core.telemetry import Exposure, TrackedEvent
from rollwise.store import Store

from .._support.clock import FakeClock
from ._support import DEFINITION, seed

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
KEY = DEFINITION["key"]
UNITS = {"control": 1200, "variant_a": 600, "variant_b": 600}


@pytest.fixture
def clock() -> FakeClock[datetime]:
    return FakeClock(T0)


@pytest.fixture
def running(database_url: str, clock: FakeClock[datetime]) -> Iterator[Store]:
    """The 50/25/25 experiment started, and a notification channel that wants everything."""
    store = Store(database_url, clock=clock)
    seed(store)
    with store.transaction("alice") as tx:
        tx.experiments.create(DEFINITION)
        tx.experiments.start(KEY)
        tx.channels.create("oncall", {"type": "nop", "name": "oncall"})
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def controller(running: Store, clock: FakeClock[datetime]) -> Iterator[Controller]:
    settings = ControllerSettings(tick_seconds=0.05, guardrail_seconds=60)
    with Controller(running, settings, elector=AlwaysLeader(), clock=clock) as made:
        yield made


def traffic(store: Store, error_rates: dict[str, float], batch: str = "batch-1") -> None:
    """Exposed units per arm (:data:`UNITS`), 10% of them buying, and errors at the rates
    given: every ``1 / rate``-th unit of the arm errs (deterministic)."""
    exposures, events = [], []
    for arm, count in UNITS.items():
        every = round(1 / error_rates[arm])
        for i in range(count):
            unit = f"{arm}-{i}"
            exposures.append(Exposure(experiment=KEY, unit=unit, arm=arm, at=T0))
            later = T0 + timedelta(minutes=1)
            if i % 10 == 0:
                events.append(TrackedEvent(event="purchase", unit=unit, at=later))
            if i % every == 0:
                events.append(TrackedEvent(event="error", unit=unit, at=later))
    with store.transaction("sdk") as tx:
        tx.experiment_data.record("production", batch, exposures, events)


HEALTHY = {"control": 0.05, "variant_a": 0.05, "variant_b": 0.05}
HARMFUL = {"control": 0.05, "variant_a": 0.05, "variant_b": 0.25}


def audit(store: Store) -> dict[str, dict[str, object] | None]:
    """What the controller wrote to the audit log: action → its ``after``."""
    with store.reading() as tx:
        return {row.action: row.after for row in tx.audit.list_audit(actor="controller")}


def test_a_failing_guardrail_stops_the_experiment_in_one_look(
    running: Store, controller: Controller
) -> None:
    traffic(running, HARMFUL)
    report = controller.reconcile_tick()

    assert report.leader
    [outcome] = report.experiments
    assert outcome.status == "stopped"
    assert "errors on variant_b" in outcome.reason
    with running.reading() as tx:
        record = tx.experiments.get(KEY)
        split = tx.flags.get_state("checkout_page", "production").state.split
        outbox = tx.outbox.list_outbox()
    assert record.state == "stopped"
    assert record.decision is not None
    assert record.decision.kind == "keep_control"
    assert record.decision.reason.startswith("guardrail failed: errors on variant_b")
    assert split == {"control": 10000, "variant_a": 0, "variant_b": 0}

    rows = audit(running)
    assert set(rows) == {
        "experiment.stop",
        "experiment.decision",
        "experiment.guardrail_stop",
        "flag_state.update",
    }
    evidence = rows["experiment.guardrail_stop"]
    assert isinstance(evidence, dict)
    json.dumps(evidence, allow_nan=False)  # stored JSON: no NaN
    guardrails = evidence["guardrails"]
    assert isinstance(guardrails, dict)
    assert guardrails["action"] == "stop"
    [failure] = guardrails["failures"]
    assert (failure["metric"], failure["arm"], failure["status"]) == ("errors", "variant_b", "fail")
    assert failure["relative"]["lower"] > 0.05  # the whole interval is beyond the tolerance
    assert evidence["units"] == UNITS
    assert evidence["split"] == split

    [row] = outbox
    assert (row.channel, row.kind, row.status) == ("oncall", EXPERIMENT_STOPPED, "pending")
    notification = row.notification
    assert notification["severity"] == "critical"
    assert notification["subject"] == {
        "flag": "checkout_page",
        "environment": "production",
        "rollout": None,
        "alert_rule": None,
    }
    assert "guardrail errors on variant_b" in notification["fields"]
    assert notification["evidence"]["guardrails"]["failures"] == guardrails["failures"]

    # the next look finds it stopped: nothing more is written
    assert controller.reconcile_tick().experiments == ()
    with running.reading() as tx:
        assert len(tx.outbox.list_outbox()) == 1


def test_a_healthy_experiment_keeps_running_and_is_judged_once_per_interval(
    running: Store, controller: Controller, clock: FakeClock[datetime]
) -> None:
    traffic(running, HEALTHY)

    [outcome] = controller.reconcile_tick().experiments
    assert outcome.status == "running"
    assert outcome.evidence is not None
    assert outcome.evidence["guardrails"]["action"] == "continue"
    assert controller.reconcile_tick().experiments == ()  # looked at less than 60 s ago
    clock.advance(seconds=59)
    assert controller.reconcile_tick().experiments == ()
    clock.advance(seconds=1)
    [again] = controller.reconcile_tick().experiments
    assert again.status == "running"

    with running.reading() as tx:
        assert tx.experiments.get(KEY).state == "running"
        assert tx.outbox.list_outbox() == []
    assert audit(running) == {}  # a look that finds nothing wrong writes nothing


def test_a_stopped_experiment_is_left_alone(running: Store, controller: Controller) -> None:
    traffic(running, HARMFUL)
    with running.transaction("alice") as tx:
        tx.experiments.stop(KEY, {"kind": "inconclusive", "reason": "ran out of time"})

    assert controller.reconcile_tick().experiments == ()
    with running.transaction("controller") as tx:  # and the use case itself refuses to act
        check = check_guardrails(tx, KEY, T0)
    assert (check.status, check.reason) == ("skipped", "experiment is stopped")
    with running.reading() as tx:
        record = tx.experiments.get(KEY)
        assert tx.outbox.list_outbox() == []
    assert record.decision is not None
    assert record.decision.kind == "inconclusive"
    assert audit(running) == {}


def test_an_experiment_that_cannot_be_judged_is_logged_and_counted(
    running: Store, controller: Controller, monkeypatch: pytest.MonkeyPatch
) -> None:
    traffic(running, HARMFUL)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the warehouse is down")

    monkeypatch.setattr("rollwise.controller.experiments.check_guardrails", broken)
    [outcome] = controller.reconcile_tick().experiments
    assert (outcome.status, outcome.reason) == ("error", "the warehouse is down")
    assert controller.experiments.errors == 1
    with running.reading() as tx:
        assert tx.experiments.get(KEY).state == "running"
