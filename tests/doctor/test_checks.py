"""Each planted inconsistency is found, with its numbers and a fix; a healthy setup has none."""

from __future__ import annotations

from sqlalchemy import update

from rollwise.application.doctor import Severity
from rollwise.core import FlagEnvironment
from rollwise.store.tables import flag_states

from ._support import ENV, FLAG, Scene


def test_a_healthy_setup_has_no_findings(scene: Scene) -> None:
    scene.healthy()
    scene.tick()
    report = scene.doctor()
    assert report.findings == []
    assert report.status == "healthy"
    assert report.environments == [ENV]
    assert "stale_revision" in report.checks
    assert "leader_held" in report.checks


def test_instances_stuck_on_an_old_revision_are_named_with_the_share_they_serve(
    scene: Scene,
) -> None:
    scene.healthy(instances=4)
    old = scene.revision()
    scene.clock.advance(minutes=5)
    scene.act("advance")  # 10% → 50%: a new revision
    scene.instances["web-3:103"] = old  # this one never takes it
    scene.tick(0)
    for _ in range(2):  # not yet stale: 20 s behind is within the grace
        scene.tick()
    assert scene.codes() == []
    scene.tick()  # 30 s behind
    [finding] = scene.doctor().findings
    assert finding.code == "fleet.stale_revision"
    assert finding.severity is Severity.ERROR
    assert finding.details["instances"] == ["web-3:103"]
    assert finding.details["config_revision"] == old
    assert f"1 of 4 reporting instances still evaluate revision {old}" in finding.message
    assert "rollout" in finding.message
    assert "at 50%" in finding.message
    assert "still serve 10%" in finding.message
    assert finding.fix
    # it catches up: the finding goes
    scene.instances["web-3:103"] = None
    scene.tick()
    assert scene.codes() == []


def test_an_instance_that_reports_no_revision_is_not_judged(scene: Scene) -> None:
    """No revision: none yet, or a configuration file of its own; either way unknown."""
    scene.healthy()
    for _ in range(4):
        scene.tick()
        scene.report("web-9:9", configured=False)
    assert scene.codes() == []


def test_an_instance_that_stops_reporting_while_others_do_is_silent(scene: Scene) -> None:
    scene.healthy(instances=3)
    del scene.instances["web-2:102"]
    for _ in range(6):
        scene.tick()
    assert scene.codes() == []  # 60 s: within six report intervals
    scene.tick()
    [finding] = scene.doctor().findings
    assert finding.code == "fleet.silent_instances"
    assert finding.details["instances"] == ["web-2:102"]
    assert "while 2 others report" in finding.message
    scene.tick(3600)  # an hour later it is gone (a deploy), not a finding
    assert scene.codes() == []


def test_every_instance_silent_is_its_own_finding(scene: Scene) -> None:
    scene.healthy(instances=2)
    scene.instances.clear()
    scene.tick(70)
    assert scene.codes() == ["fleet.no_reports"]


def test_a_split_that_differs_from_the_rollouts_share_is_found(scene: Scene) -> None:
    """The API refuses a hand-made split under a rollout; a database edit (a restored
    backup, an older rollwise) does not."""
    scene.healthy()
    state = FlagEnvironment(split={"legacy": 7000, "domain": 3000})
    with scene.store.engine.begin() as connection:
        connection.execute(
            update(flag_states)
            .where(flag_states.c.flag == FLAG, flag_states.c.environment == ENV)
            .values(state=state.model_dump(mode="json", exclude_none=True))
        )
    scene.tick()
    [finding] = scene.doctor().findings
    assert finding.code == "rollout.split_mismatch"
    assert finding.severity is Severity.ERROR
    assert "is at 10%" in finding.message
    assert "gives domain 30%" in finding.message
    assert finding.details["served_share"] == 3000
    assert finding.details["expected_split"] == {"legacy": 9000, "domain": 1000}
    # the fix it names works: pause and resume write the rollout's split again
    scene.act("pause")
    scene.act("resume")
    scene.tick()
    assert scene.codes() == []


def test_a_kill_switch_under_a_rollout_is_found(scene: Scene) -> None:
    scene.healthy()
    with scene.store.transaction("oncall") as tx:
        state = tx.flags.get_state(FLAG, ENV).state.model_copy(update={"enabled": False})
        tx.flags.put_state(FLAG, ENV, state, None)
    scene.tick()
    assert scene.codes() == ["rollout.flag_disabled"]


def test_a_step_past_its_maximum_duration_is_overdue(scene: Scene) -> None:
    scene.healthy()
    scene.tick(2 * 3600 - 60)  # the step may last 2 h; the controller has a minute's grace
    assert scene.codes() == []
    scene.tick(121)
    [finding] = scene.doctor().findings
    assert finding.code == "rollout.step_overdue"
    assert "past its maximum step duration of 2h" in finding.message
    assert f"rollwise rollout pause|promote|abort {scene.rollout_id}" in finding.fix


def test_pending_notifications_nobody_sends_are_stuck_and_given_up_ones_dead(
    scene: Scene,
) -> None:
    scene.healthy(channel=True)  # the rollout's start queued one notification for "ops"
    scene.tick(4 * 60)
    assert scene.codes() == []
    scene.tick(2 * 60)
    [stuck] = scene.doctor(environment=ENV).findings
    assert stuck.code == "outbox.stuck"
    assert stuck.environment is None
    assert stuck.subject == "channel ops"
    with scene.store.transaction("dispatcher") as tx:
        [row] = tx.outbox.claim_due(scene.clock())
        tx.outbox.mark_failed(row.id, "HTTP 404 from the receiver")
    [dead] = scene.doctor().findings
    assert dead.code == "outbox.dead"
    assert "HTTP 404 from the receiver" in dead.message
    scene.tick(25 * 3600)  # a day later it is history, not a finding
    assert "outbox.dead" not in scene.codes()


def test_progressing_rollouts_without_a_leader_are_found(scene: Scene) -> None:
    scene.healthy()
    with scene.store.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM controller_lease")
    [never] = scene.doctor().findings
    assert never.code == "controller.no_leader"
    assert "no controller ever took the lease" in never.message
    scene.expired_lease()
    [expired] = scene.doctor().findings
    assert "controller-1, let it expire" in expired.message
    scene.act("pause")  # nothing progressing: nobody needs to lead
    assert scene.codes() == []


def test_no_telemetry_for_a_flag_under_rollout_is_a_gap(scene: Scene) -> None:
    scene.healthy()
    for _ in range(30):  # instances still report, but without any traffic for the flag
        scene.tick(10, traffic=False)
    [finding] = scene.doctor().findings
    assert finding.code == "telemetry.gap"
    assert finding.subject == f"flag {FLAG}"
    assert "no telemetry for flag checkout in the last 5m" in finding.message


def test_every_environment_is_checked_when_none_is_named(scene: Scene) -> None:
    scene.healthy()
    with scene.store.transaction("alice") as tx:
        tx.environments.create("staging")
    report = scene.doctor(environment=None)
    assert report.environments == [ENV, "staging"] or report.environments == ["staging", ENV]
    assert report.status == "healthy"
