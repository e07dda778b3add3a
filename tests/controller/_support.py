"""Helpers for controller tests: a seeded store on a fake clock, traffic as telemetry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rollwise.application import create_rollout
from rollwise.controller import AlwaysLeader, Controller, ControllerSettings, DeliveryPolicy
from rollwise.core import FlagEnvironment
from rollwise.store import RolloutHistoryRecord, RolloutRecord, Store

from .._support.clock import FakeClock
from ..store._telemetry import batch, series, window

FLAG = "checkout"
ENV = "production"


def seed(store: Store, split: dict[str, int] | None = None) -> None:
    """production, and the flag 'checkout' (legacy/domain) with everyone on legacy."""
    with store.transaction("alice") as tx:
        tx.environments.create(ENV)
        tx.flags.create(FLAG, variants=["legacy", "domain"])
        state = FlagEnvironment(split=split or {"legacy": 10000, "domain": 0})
        tx.flags.put_state(FLAG, ENV, state, 0)


def canary_spec(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "flag": FLAG,
        "environment": ENV,
        "variant": "domain",
        "strategy": {"steps": ["10%/10m", "50%/10m"]},
        "gates": [
            {"metric": "error_rate", "max_increase": 0.5},
            {"metric": "latency_p95", "max_increase": 0.5},
        ],
        "min_samples": 200,
    }
    spec.update(overrides)
    return spec


def start_rollout(store: Store, clock: FakeClock, spec: dict[str, Any]) -> RolloutRecord:
    with store.transaction("token:bob:1") as tx:
        return create_rollout(tx, spec, start=True, now=clock.now)


def latencies(count: int, base: float) -> list[float]:
    """``count`` latencies spread over [base, 1.1 * base): a realistic, fixed shape."""
    return [base * (1 + (i % 100) / 1000) for i in range(count)]


def traffic(
    store: Store,
    at: datetime,
    *,
    legacy: tuple[int, int] = (0, 0),
    domain: tuple[int, int] = (0, 0),
    legacy_latency: float = 0.05,
    domain_latency: float = 0.05,
) -> None:
    """One 10-second window starting at ``at``: (requests, errors) per variant."""
    parts = []
    for variant, (requests, errors), base in (
        ("legacy", legacy, legacy_latency),
        ("domain", domain, domain_latency),
    ):
        if requests:
            parts.append(series(FLAG, variant, latencies(requests, base), errors=errors))
    with store.transaction("sdk") as tx:
        result = tx.telemetry.ingest(ENV, batch(window(at, series=parts)))
    assert result.windows == 1, result


def rollout(store: Store, rollout_id: int) -> RolloutRecord:
    with store.transaction("read") as tx:
        return tx.rollouts.get(rollout_id)


def history(store: Store, rollout_id: int) -> list[RolloutHistoryRecord]:
    with store.transaction("read") as tx:
        return tx.rollouts.list_history(rollout_id)


def split(store: Store) -> dict[str, int] | None:
    with store.transaction("read") as tx:
        return tx.flags.get_state(FLAG, ENV).state.split


@dataclass
class Harness:
    """A controller on a fake clock that always leads, ticked by hand."""

    store: Store
    clock: FakeClock
    controller: Controller

    def tick(self) -> None:
        report = self.controller.tick()
        assert report.leader
        errors = [o for o in report.rollouts if o.status == "error"]
        assert not errors, errors


def fast_settings(**overrides: Any) -> ControllerSettings:
    values: dict[str, Any] = {
        "tick_seconds": 0.05,
        "dispatch_seconds": 0.05,
        "delivery": DeliveryPolicy(backoff_seconds=10, max_backoff_seconds=600, max_attempts=4),
    }
    values.update(overrides)
    return ControllerSettings(**values)


def make_controller(store: Store, clock: FakeClock, **kwargs: Any) -> Controller:
    kwargs.setdefault("elector", AlwaysLeader())
    settings = kwargs.pop("settings", fast_settings())
    return Controller(store, settings, clock=clock, **kwargs)


def at_step_start(record: RolloutRecord) -> datetime:
    assert record.step_started_at is not None
    return record.step_started_at


def later(moment: datetime, **delta: float) -> datetime:
    return moment + timedelta(**delta)
