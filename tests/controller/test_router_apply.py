"""A step whose split a router applies is judged from the router's apply, on both databases.

The routers report through the fleet view as the agent does (``router-<type>/<flag>@...``);
the controller runs on a fake clock, the telemetry is ingested, the builtin provider judges.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rollwise.application import act_on_rollout
from rollwise.core.rollout import RolloutAction, RolloutPhase, router_instance_name
from rollwise.core.telemetry import SdkInfo
from rollwise.store import Store

from ._support import (
    ENV,
    FLAG,
    Harness,
    at_step_start,
    canary_spec,
    history,
    later,
    rollout,
    start_rollout,
    traffic,
)

FAILING: dict[str, Any] = {"legacy": (2700, 27), "domain": (300, 90)}
HEALTHY: dict[str, Any] = {"legacy": (2700, 27), "domain": (300, 3)}


def revision(store: Store) -> int:
    with store.reading() as tx:
        return tx.environments.config_revision(ENV)


def router_reports(
    store: Store,
    applied: int | None,
    *,
    router: str = "nginx",
    flag: str = FLAG,
    host: str = "proxy-1",
    pid: int = 7,
) -> str:
    """One report of a router agent that applied revision ``applied``; its instance name."""
    name = router_instance_name(router, flag, host, pid)
    info = SdkInfo(version="1.0", host=host, pid=pid, config_revision=applied)
    with store.transaction("sdk") as tx:
        tx.instances.record(ENV, name, info, tx.now())
    return name


def judgement(store: Store, rollout_id: int) -> Any:
    with store.reading() as tx:
        return tx.rollouts.get_judgement(rollout_id)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def test_a_step_is_judged_only_on_traffic_after_its_router_applied_the_split(
    harness: Harness,
) -> None:
    store, clock = harness.store, harness.clock
    router_reports(store, revision(store))  # an nginx agent serving the flag before
    started = start_rollout(store, clock, canary_spec(router="nginx"))
    split = revision(store)
    [start] = [row for row in history(store, started.id)]
    assert start.evidence == {"split_revision": split}
    begun = at_step_start(started)

    # nginx still serves the old split: what the canary served meanwhile is not the step's
    for seconds in (0, 10, 20):
        traffic(store, later(begun, seconds=seconds), **FAILING)
    clock.advance(seconds=25)
    harness.tick()
    look = judgement(store, started.id)
    assert look.decision == "hold"
    assert "waiting for the router(s) to apply the split" in look.reason
    assert look.evidence["window"] is None
    assert look.evidence["routing"]["applied_at"] is None
    assert rollout(store, started.id).phase is RolloutPhase.PROGRESSING

    clock.advance(seconds=5)  # the agent applied the split and reports it
    name = router_reports(store, split)
    applied = clock.now
    traffic(store, later(begun, seconds=30), **HEALTHY)
    clock.advance(seconds=10)
    harness.tick()
    look = judgement(store, started.id)
    assert look.decision == "hold", look.reason  # the failing traffic before is not counted
    assert look.evidence["window"]["start"] == iso(applied)
    assert look.evidence["routing"]["applied_at"] == iso(applied)
    assert look.evidence["step"]["started_at"] == iso(begun)
    assert look.evidence["step"]["bake_ends_at"] == iso(later(applied, minutes=10))
    assert look.evidence["routing"]["routers"][0]["instance"] == name
    assert look.evidence["samples"] == {"baseline": 2700, "canary": 300}

    # another change reaches the router: the step's window stays where it began
    router_reports(store, split + 1)
    clock.advance(seconds=10)
    harness.tick()
    assert judgement(store, started.id).evidence["window"]["start"] == iso(applied)

    # the bake counts from the apply: 10 minutes after the step began it is still baking
    clock.now = later(begun, minutes=10)
    harness.tick()
    assert rollout(store, started.id).step == 0
    clock.now = later(applied, minutes=10)
    harness.tick()
    moved = rollout(store, started.id)
    assert (moved.phase, moved.step) == (RolloutPhase.PROGRESSING, 1)
    advance = history(store, started.id)[-1]
    assert advance.action is RolloutAction.ADVANCE
    assert advance.evidence is not None
    assert advance.evidence["routing"]["applied_at"] == iso(applied)
    assert advance.evidence["split_revision"] == revision(store)


def test_a_router_that_does_not_apply_in_time_pauses_the_rollout_until_resumed(
    harness: Harness,
) -> None:
    store, clock = harness.store, harness.clock
    with store.transaction("alice") as tx:
        tx.channels.create("ops", {"type": "nop", "name": "ops"})
    before = revision(store)
    name = router_reports(store, before)
    started = start_rollout(store, clock, canary_spec(router_apply_timeout="90s"))
    split = revision(store)

    clock.advance(seconds=80)
    router_reports(store, before)  # alive, and still on the old revision
    harness.tick()
    assert judgement(store, started.id).decision == "hold"

    clock.advance(seconds=10)
    harness.tick()
    paused = rollout(store, started.id)
    assert paused.phase is RolloutPhase.PAUSED
    last = history(store, started.id)[-1]
    assert (last.action, last.actor) == (RolloutAction.PAUSE, "controller")
    assert last.reason == (
        f"step 1: the router(s) did not apply the split (revision {split}) within 1m30s: "
        f"{name} is on revision {before}"
    )
    assert last.evidence is not None
    assert last.evidence["routing"]["routers"][0]["revision"] == before
    with store.reading() as tx:
        sent = tx.outbox.list_outbox(channel="ops")
    [notified] = [row for row in sent if row.notification["title"].find("paused") >= 0]
    assert name in str(notified.notification)

    # the operator fixes the proxy and resumes: the step starts again, judged from the apply
    clock.advance(minutes=5)
    router_reports(store, split)
    with store.transaction("token:bob:1") as tx:
        act_on_rollout(tx, started.id, RolloutAction.RESUME, expected_version=paused.version)
    resumed = rollout(store, started.id)
    traffic(store, at_step_start(resumed), **HEALTHY)
    clock.advance(seconds=10)
    harness.tick()
    look = judgement(store, started.id)
    assert look.decision == "hold"
    assert "baking" in look.reason
    assert look.evidence["window"]["start"] == iso(at_step_start(resumed))
    assert rollout(store, started.id).phase is RolloutPhase.PROGRESSING


def test_a_named_router_that_never_reports_pauses_the_rollout(harness: Harness) -> None:
    store, clock = harness.store, harness.clock
    started = start_rollout(store, clock, canary_spec(router="command"))
    clock.advance(seconds=59)
    harness.tick()
    assert "no command router reports for checkout in production" in (
        judgement(store, started.id).reason
    )
    clock.advance(seconds=1)
    harness.tick()
    assert rollout(store, started.id).phase is RolloutPhase.PAUSED
    assert history(store, started.id)[-1].reason == (
        f"step 1: the split (revision {revision(store)}) was not applied within 1m: "
        "no command router reports for checkout in production"
    )


def test_the_in_process_split_and_other_flags_routers_never_wait(harness: Harness) -> None:
    store, clock = harness.store, harness.clock
    router_reports(store, 0)  # stuck nginx agent of this flag
    router_reports(store, 0, flag="search", host="proxy-9")  # and one of another flag
    started = start_rollout(store, clock, canary_spec(router="flag"))
    traffic(store, at_step_start(started), **HEALTHY)
    clock.advance(minutes=5)
    harness.tick()
    look = judgement(store, started.id)
    assert "routing" not in look.evidence
    assert look.evidence["window"]["start"] == iso(at_step_start(started))
    assert "baking" in look.reason


def test_without_a_router_named_only_the_routers_of_the_flag_are_waited_for(
    harness: Harness,
) -> None:
    store, clock = harness.store, harness.clock
    router_reports(store, 0, flag="search", host="proxy-9")  # stuck, but another flag's
    router_reports(store, 0, router="flag", host="proxy-8")  # the in-process router
    started = start_rollout(store, clock, canary_spec())
    traffic(store, at_step_start(started), **HEALTHY)
    clock.advance(minutes=5)
    harness.tick()
    look = judgement(store, started.id)
    assert "routing" not in look.evidence
    assert "baking" in look.reason

    # a restarted agent (a new pid) replaces its predecessor, which stays on the old revision
    router_reports(store, 0, pid=1)
    clock.advance(seconds=30)
    router_reports(store, revision(store), pid=2)
    clock.advance(seconds=10)
    harness.tick()
    routing = judgement(store, started.id).evidence["routing"]
    assert [r["instance"] for r in routing["routers"]] == [
        router_instance_name("nginx", FLAG, "proxy-1", 2)
    ]
    assert routing["applied_at"] is not None
