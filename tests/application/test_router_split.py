"""Routers and a rollout's split: the spec says which router applies it, each transition to
a step to judge keeps the config revision of its split, the doctor names a router that has
not applied it (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rollwise.application import act_on_rollout, create_rollout
from rollwise.application.doctor import DoctorContext
from rollwise.application.doctor.fleet import routers_behind, stale_revision
from rollwise.application.releases import record_release
from rollwise.application.rollouts import split_revision
from rollwise.core import FlagEnvironment
from rollwise.core.rollout import RolloutAction, parse_rollout_spec, router_instance_name
from rollwise.core.telemetry import SdkInfo
from rollwise.errors import ConfigError
from rollwise.store import Store

from .._support.clock import FakeClock
from ..store._telemetry import NOW

ENV = "production"
FLAG = "checkout"
SPEC: dict[str, Any] = {
    "flag": FLAG,
    "environment": ENV,
    "variant": "domain",
    "strategy": {"steps": ["10%/10m", "50%/10m"]},
}


@pytest.fixture
def clock() -> FakeClock[Any]:
    return FakeClock(NOW)


@pytest.fixture
def store(database_url: str, clock: FakeClock[Any]) -> Iterator[Store]:
    store = Store(database_url, clock=clock)
    with store.transaction("alice") as tx:
        tx.environments.create(ENV)
        tx.flags.create(FLAG, variants=["legacy", "domain"])
        tx.flags.put_state(FLAG, ENV, FlagEnvironment(split={"legacy": 10000, "domain": 0}), 0)
    try:
        yield store
    finally:
        store.close()


def report(store: Store, applied: int | None, *, router: str = "nginx", pid: int = 7) -> str:
    name = router_instance_name(router, FLAG, "proxy-1", pid)
    with store.transaction("sdk") as tx:
        info = SdkInfo(version="1.0", host="proxy-1", pid=pid, config_revision=applied)
        tx.instances.record(ENV, name, info, tx.now())
    return name


def revision(store: Store) -> int:
    with store.reading() as tx:
        return tx.environments.config_revision(ENV)


def doctor(store: Store, check: Any) -> list[Any]:
    return list(check(DoctorContext(store, ENV, store.now())))


def test_the_router_fields_are_checked_like_the_others() -> None:
    spec = parse_rollout_spec({**SPEC, "router": "nginx", "router_apply_timeout": "2m"})
    assert (spec.router, spec.router_apply_timeout) == ("nginx", 120.0)
    default = parse_rollout_spec(SPEC)
    assert (default.router, default.router_apply_timeout) == (None, 60.0)
    with pytest.raises(ConfigError) as raised:
        parse_rollout_spec({**SPEC, "router": "Nginx!", "router_apply_timeout": 0})
    assert {issue.path for issue in raised.value.issues} == {"router", "router_apply_timeout"}


def test_each_step_to_judge_keeps_the_revision_of_its_split(
    store: Store, clock: FakeClock[Any]
) -> None:
    with store.transaction("bob") as tx:
        started = create_rollout(tx, SPEC, start=True)
        first = split_revision(tx, started.id)
    assert first is not None
    assert (first.revision, first.at) == (revision(store), clock.now)

    clock.advance(minutes=1)
    with store.transaction("bob") as tx:
        paused = act_on_rollout(tx, started.id, RolloutAction.PAUSE, expected_version=2)
        resumed = act_on_rollout(tx, started.id, "resume", expected_version=paused.version)
        kept = split_revision(tx, started.id)
        history = tx.rollouts.list_history(started.id)
    assert kept == first  # pausing and resuming leave the split alone
    assert [h.evidence for h in history[1:]] == [None, None]

    with store.transaction("bob") as tx:
        act_on_rollout(tx, started.id, "promote", expected_version=resumed.version)
        assert split_revision(tx, started.id) == first  # no step to judge after it


def test_a_release_takes_its_router_from_the_environment_defaults(store: Store) -> None:
    with store.transaction("ci") as tx:
        tx.flags.create("camera-release", variants=["v1"])
        tx.flags.put_state("camera-release", ENV, FlagEnvironment(default="v1"), 0)
        started = record_release(
            tx, ENV, "camera-release", "v2", rollout={"router": "nginx", "router_apply_timeout": 30}
        ).rollout
    assert started is not None
    assert (started.spec.router, started.spec.router_apply_timeout) == ("nginx", 30.0)


def test_the_doctor_names_a_router_that_has_not_applied_the_current_split(
    store: Store, clock: FakeClock[Any]
) -> None:
    before = revision(store)
    name = report(store, before)
    with store.transaction("bob") as tx:
        started = create_rollout(tx, {**SPEC, "router": "nginx"}, start=True)
    split = revision(store)
    assert doctor(store, routers_behind) == []  # just committed: the router has a moment

    clock.advance(seconds=45)
    report(store, before)
    [finding] = doctor(store, routers_behind)
    assert (finding.code, finding.severity, finding.subject) == (
        "fleet.routers_behind",
        "error",
        name,
    )
    assert f"rollout {started.id} is at 10% since revision {split}" in finding.message
    assert f"the router is on revision {before}" in finding.message
    assert finding.details["split_revision"] == split
    assert doctor(store, stale_revision) == []  # routers are this check's, not that one's

    report(store, split)
    assert doctor(store, routers_behind) == []


def test_the_doctor_names_a_rollout_whose_router_does_not_report(store: Store) -> None:
    with store.transaction("bob") as tx:
        started = create_rollout(tx, {**SPEC, "router": "command"}, start=True)
    report(store, revision(store), router="nginx")  # another type's agent does not count
    [finding] = doctor(store, routers_behind)
    assert finding.subject == f"rollout {started.id} ({FLAG})"
    assert "no command router has reported for checkout" in finding.message


def test_a_router_behind_the_environment_is_a_warning(store: Store, clock: FakeClock[Any]) -> None:
    before = revision(store)
    name = report(store, before)
    with store.transaction("alice") as tx:
        tx.flags.create("search", variants=["off", "on"])  # a change the router must follow
    clock.advance(seconds=5)
    report(store, before)  # it did not get it
    clock.advance(seconds=40)
    report(store, before)
    [finding] = doctor(store, routers_behind)
    assert (finding.severity, finding.subject) == ("warning", name)
    assert f"reports revision {before}; the control plane serves revision" in finding.message
