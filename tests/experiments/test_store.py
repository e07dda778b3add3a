"""Experiments in the store (SQLite and PostgreSQL): lifecycle, the locked split, audit,
exposures (first wins) and events folded into per-unit aggregates, once per batch id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rollwise.analysis.experiment import ExperimentMetric
from rollwise.analysis.experiment.sources.base import AnalysisWindow
from rollwise.core import FlagEnvironment
from rollwise.core.telemetry import Exposure, TrackedEvent
from rollwise.errors import ConfigError, ConflictError
from rollwise.store import Store
from rollwise.store.telemetry.types import TelemetryPolicy

from .._support.clock import FakeClock
from ._support import DEFINITION, definition, seed

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _started(store: Store) -> None:
    seed(store)
    with store.transaction("alice") as tx:
        tx.experiments.create(DEFINITION)
        tx.experiments.start("checkout-test")


def test_lifecycle_is_audited_and_locks_the_split(store: Store) -> None:
    seed(store)
    with store.transaction("alice") as tx:
        created = tx.experiments.create(DEFINITION)
        assert (created.state, created.version) == ("draft", 1)
        edited = tx.experiments.update("checkout-test", definition(hypothesis="faster"))
        assert edited.definition.hypothesis == "faster"
        started = tx.experiments.start("checkout-test")
        assert started.state == "running"
        assert started.started_at is not None
        state = tx.flags.get_state("checkout_page", "production").state
        assert state.split == {"control": 5000, "variant_a": 2500, "variant_b": 2500}
        assert state.enabled
        assert state.unit == "user_id"
        document = tx.config.document("production")
        assert document.experiments is not None
        assert document.experiments[0].key == "checkout-test"
        assert set(document.experiments[0].events) == {"purchase", "revenue", "session", "error"}
        assert tx.config.document("staging").experiments is None
    with store.transaction("bob") as tx, pytest.raises(ConflictError) as caught:
        tx.flags.put_state(
            "checkout_page",
            "production",
            FlagEnvironment(split={"control": 10000}),
            None,
        )
    assert caught.value.details["experiment"] == "checkout-test"
    with store.transaction("bob") as tx:  # the kill switch still works
        tx.flags.set_enabled("checkout_page", "production", False)
        tx.flags.set_enabled("checkout_page", "production", True)
    with store.transaction("bob") as tx, pytest.raises(ConflictError):
        tx.experiments.update("checkout-test", definition(hypothesis="x"))
    with store.transaction("carol") as tx:
        stopped = tx.experiments.stop("checkout-test", {"kind": "ship", "arm": "variant_b"})
        assert stopped.state == "stopped"
        assert stopped.decision is not None
        assert stopped.decision.arm == "variant_b"
        assert tx.config.document("production").experiments is None
        tx.flags.put_state(  # unlocked again
            "checkout_page", "production", FlagEnvironment(split={"variant_b": 10000}), None
        )
    with store.reading() as tx:
        actions = [row.action for row in tx.audit.list_audit(target_type="experiment")]
    for action in ("experiment.create", "experiment.update", "experiment.start"):
        assert action in actions
    assert "experiment.stop" in actions
    assert "experiment.decision" in actions


def test_invalid_transitions_and_inputs(store: Store) -> None:
    seed(store)
    with store.transaction("alice") as tx:
        tx.experiments.create(DEFINITION)
    with store.transaction("alice") as tx, pytest.raises(ConflictError):
        tx.experiments.stop("checkout-test", {"kind": "inconclusive"})
    with store.transaction("alice") as tx, pytest.raises(ConflictError):
        tx.experiments.create(DEFINITION)
    with store.transaction("alice") as tx, pytest.raises(ConfigError) as caught:
        tx.experiments.create(definition(key="other", arms={"control": 5000, "nope": 5000}))
    assert caught.value.path == "arms.nope"
    with store.transaction("alice") as tx:
        tx.experiments.start("checkout-test")
    with store.transaction("alice") as tx, pytest.raises(ConflictError):
        tx.experiments.start("checkout-test")
    with store.transaction("alice") as tx:
        tx.experiments.create(definition(key="second"))
    with store.transaction("alice") as tx, pytest.raises(ConflictError) as conflict:
        tx.experiments.start("second")  # one running experiment per flag and environment
    assert conflict.value.details["running"] == "checkout-test"


def test_exposures_first_wins_and_events_count_once_per_batch(store: Store) -> None:
    _started(store)
    exposures = [
        Exposure(experiment="checkout-test", unit="u1", arm="control", at=T0),
        Exposure(experiment="checkout-test", unit="u2", arm="variant_b", at=T0),
        Exposure(experiment="checkout-test", unit="u1", arm="control", at=T0 + timedelta(1)),
        Exposure(experiment="other", unit="u3", arm="control", at=T0),
    ]
    events = [
        TrackedEvent(event="purchase", unit="u1", at=T0 - timedelta(minutes=1)),  # before
        TrackedEvent(event="purchase", unit="u2", at=T0 + timedelta(minutes=1)),
        TrackedEvent(event="revenue", unit="u2", value=30.0, at=T0 + timedelta(minutes=2)),
        TrackedEvent(event="revenue", unit="u2", value=12.5, at=T0 + timedelta(minutes=3)),
        TrackedEvent(event="purchase", unit="never", at=T0),
        TrackedEvent(event="unmeasured", unit="u1", at=T0),
    ]
    for attempt in range(2):
        with store.transaction("sdk") as tx:
            result = tx.experiment_data.record("production", "batch-0001", exposures, events)
        assert result.duplicate == (attempt == 1)
    assert result.duplicate
    with store.transaction("sdk") as tx:  # a later batch: u2 seen in another arm
        tx.experiment_data.record(
            "production",
            "batch-0002",
            [Exposure(experiment="checkout-test", unit="u2", arm="control", at=T0)],
            [],
        )
        tx.experiment_data.record(
            "production",
            "batch-0003",
            [Exposure(experiment="checkout-test", unit="u4", arm="variant_b", at=T0)],
            [TrackedEvent(event="revenue", unit="u4", value=5000, at=T0 + timedelta(1))],
        )
    window = AnalysisWindow()
    with store.reading() as tx:
        exposed = tx.experiment_data.exposures("checkout-test", window)
        assert dict(exposed.units) == {"control": 1, "variant_b": 1}
        assert exposed.excluded_units == 1
        spec = tx.experiments.get("checkout-test").definition
        conversion = tx.experiment_data.arm_totals(
            "checkout-test", ExperimentMetric("conversion", "proportion"), spec.primary[0], window
        )
        revenue = tx.experiment_data.arm_totals(
            "checkout-test",
            ExperimentMetric("revenue", "mean", role="secondary"),
            spec.secondary[0],
            window,
        )
    assert (conversion["control"].n, conversion["control"].sum) == (1, 0.0)  # before exposure
    assert revenue["variant_b"].sum == 5000.0  # u4 only (u2 is mixed), uncapped here


def test_capping_and_ratio_in_the_database(store: Store) -> None:
    _started(store)
    exposures = [
        Exposure(experiment="checkout-test", unit=f"u{i}", arm="variant_a", at=T0) for i in range(3)
    ]
    later = T0 + timedelta(minutes=5)
    events = [
        TrackedEvent(event="revenue", unit="u0", value=2000.0, at=later),
        TrackedEvent(event="revenue", unit="u1", value=10.0, at=later),
        TrackedEvent(event="session", unit="u0", at=later),
        TrackedEvent(event="session", unit="u0", at=later),
        TrackedEvent(event="session", unit="u1", at=later),
    ]
    with store.transaction("sdk") as tx:
        tx.experiment_data.record("production", "batch-0009", exposures, events)
    from rollwise.analysis.experiment import Capping

    with store.reading() as tx:
        spec = tx.experiments.get("checkout-test").definition
        mean = tx.experiment_data.arm_totals(
            "checkout-test",
            ExperimentMetric("revenue", "mean", capping=Capping(upper=1000.0)),
            spec.secondary[0],
            AnalysisWindow(),
        )["variant_a"]
        ratio = tx.experiment_data.arm_totals(
            "checkout-test",
            ExperimentMetric("revenue_per_session", "ratio"),
            spec.secondary[1],
            AnalysisWindow(),
        )["variant_a"]
    assert (mean.n, mean.sum, mean.sum_squares) == (3, 1010.0, 1000.0**2 + 100.0)
    assert (ratio.sum, ratio.denominator_sum, ratio.denominator_sum_squares) == (2010.0, 3.0, 5.0)
    assert ratio.cross_sum == 2000.0 * 2 + 10.0


def test_retention_forgets_experiment_batch_ids_with_the_telemetry_ones(database_url: str) -> None:
    clock = FakeClock(T0)
    policy = TelemetryPolicy(keep_batch_ids=timedelta(days=1))
    store = Store(database_url, clock=clock, telemetry=policy)
    try:
        _started(store)
        exposure = Exposure(experiment="checkout-test", unit="u1", arm="control", at=T0)
        with store.transaction("sdk") as tx:
            tx.experiment_data.record("production", "batch-0001", [exposure], [])

        def purge() -> int:
            with store.transaction("retention") as tx:
                return tx.telemetry.purge().deleted["experiment_batches"]

        assert purge() == 0
        clock.advance(days=1, hours=1)
        assert purge() == 1
    finally:
        store.close()
