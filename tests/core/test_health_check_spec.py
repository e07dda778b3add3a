"""The spec's ``health_check``: defaults, field-named errors, what start does with it, and
the pure count the controller keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rollwise.core.rollout import (
    HealthCheck,
    HealthProbe,
    HealthProgress,
    RolloutAction,
    RolloutPhase,
    RolloutState,
    apply_action,
    health_decision,
    is_verifying,
    parse_rollout_spec,
    probe_due,
    traffic_share,
)
from rollwise.errors import ConfigError

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
URL = "http://10.0.0.21:8000/healthz"


def spec(**health: Any) -> Any:
    return parse_rollout_spec(
        {
            "flag": "camera-release",
            "environment": "production",
            "variant": "v2",
            "baseline": "v1",
            "strategy": {"steps": ["10%/5m", "100%"]},
            "health_check": {"url": URL, **health},
        }
    )


def problems(**health: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        spec(**health)
    return str(caught.value)


def test_defaults_are_three_answers_five_seconds_apart_within_five_minutes() -> None:
    check = spec().health_check
    assert check is not None
    assert (check.successes, check.interval, check.timeout, check.deadline) == (3, 5, 2, 300)
    assert check.expect_status == ["2xx"]
    assert (
        parse_rollout_spec({"flag": "f", "environment": "e", "variant": "b"}).health_check is None
    )


def test_durations_and_statuses_are_written_as_people_write_them() -> None:
    check = spec(interval="10s", timeout="1.5s", deadline="2m", expect_status=204).health_check
    assert check is not None
    assert (check.interval, check.timeout, check.deadline) == (10, 1.5, 120)
    assert check.expect_status == ["204"]
    listed = spec(expect_status=["200", "3XX"]).health_check
    assert listed is not None
    assert listed.expect_status == ["200", "3xx"]


@pytest.mark.parametrize(
    ("health", "field", "says"),
    [
        ({"url": "ftp://host/x"}, "health_check.url", "not an http(s) URL"),
        ({"url": "http:///nohost"}, "health_check.url", "not an http(s) URL"),
        ({"successes": 0}, "health_check.successes", "greater than or equal to 1"),
        ({"interval": 0}, "health_check.interval", "greater than 0"),
        ({"timeout": "31s", "interval": "1m"}, "health_check.timeout", "less than or equal"),
        ({"expect_status": "ok"}, "health_check.expect_status", "not a status code"),
        ({"expect_status": []}, "health_check.expect_status", "at least one"),
        ({"expect_status": 600}, "health_check.expect_status", "not a status code"),
        ({"timeout": "10s"}, "health_check.timeout", "longer than the interval"),
        ({"successes": 10, "deadline": "30s"}, "health_check.deadline", "could never pass"),
        ({"retries": 3}, "health_check.retries", "Extra inputs"),
    ],
)
def test_each_problem_names_its_field(health: dict[str, Any], field: str, says: str) -> None:
    text = problems(**health)
    assert f"{field}: " in text, text
    assert says in text, text


def test_every_problem_is_reported_at_once() -> None:
    text = problems(url="nope", successes=0, expect_status="abc")
    for field in ("health_check.url", "health_check.successes", "health_check.expect_status"):
        assert field in text


def test_status_classes_and_codes() -> None:
    check = HealthCheck(url=URL, expect_status=["2xx", "301"])
    assert [check.healthy(s) for s in (200, 204, 299, 301, 302, 404, 500)] == [
        True, True, True, True, False, False, False,
    ]  # fmt: skip


def test_start_verifies_first_and_moves_no_traffic() -> None:
    checked = spec()
    pending = RolloutState()
    started = apply_action(checked, pending, RolloutAction.START, now=T0, actor="bob")
    state = started.state
    assert (state.phase, state.step_started_at) == (RolloutPhase.PENDING, T0)
    assert is_verifying(checked, state)
    assert not is_verifying(checked, pending)
    assert traffic_share(checked, state) == 0
    assert started.record is not None
    assert "verifying" in started.record.reason

    later = T0 + timedelta(seconds=15)
    healthy = apply_action(checked, state, RolloutAction.START, now=later, actor="controller")
    assert (healthy.state.phase, healthy.state.step, healthy.state.step_started_at) == (
        RolloutPhase.PROGRESSING,
        0,
        later,
    )
    assert traffic_share(checked, healthy.state) == 1000

    aborted = apply_action(checked, state, RolloutAction.ABORT, now=later, actor="controller")
    assert aborted.state.phase is RolloutPhase.ABORTED
    retried = apply_action(checked, aborted.state, RolloutAction.RETRY, now=later, actor="bob")
    assert (retried.state.phase, retried.state.attempt) == (RolloutPhase.PENDING, 2)
    assert is_verifying(checked, retried.state)


def test_without_a_health_check_start_is_unchanged() -> None:
    plain = parse_rollout_spec({"flag": "f", "environment": "e", "variant": "b", "baseline": "a"})
    started = apply_action(plain, RolloutState(), RolloutAction.START, now=T0, actor="bob")
    assert started.state.phase is RolloutPhase.PROGRESSING


def probe(at: datetime, healthy: bool, status: int | None = 200) -> HealthProbe:
    return HealthProbe(at, healthy, status=status, error=None if status else "refused")


def test_the_count_resets_on_failure_and_starts_at_the_required_number() -> None:
    check = HealthCheck(url=URL, successes=2)
    progress = HealthProgress()
    decisions = []
    for i, healthy in enumerate((True, False, True, True)):
        at = T0 + timedelta(seconds=5 * i)
        decision = health_decision(
            check, progress, probe(at, healthy, 200 if healthy else 503), started_at=T0, now=at
        )
        progress = decision.progress
        decisions.append((decision.action, progress.consecutive))
    assert decisions == [
        (RolloutAction.HOLD, 1),
        (RolloutAction.HOLD, 0),
        (RolloutAction.HOLD, 1),
        (RolloutAction.START, 2),
    ]
    assert (progress.total, progress.failures) == (4, 1)


def test_the_deadline_aborts_and_the_evidence_round_trips() -> None:
    check = HealthCheck(url=URL, successes=2, deadline=10)
    first = health_decision(check, HealthProgress(), probe(T0, False, None), started_at=T0, now=T0)
    kept = HealthProgress.from_evidence({"health_check": first.progress.evidence(check, T0)})
    assert kept == first.progress
    end = T0 + timedelta(seconds=10)
    assert not probe_due(check, kept, T0 + timedelta(seconds=4))
    assert probe_due(check, kept, T0 + timedelta(seconds=5))
    last = health_decision(check, kept, None, started_at=T0, now=end)
    assert (last.action, last.verdict) == (RolloutAction.ABORT, "fail")
    assert "refused" in last.reason
    assert "no traffic was shifted" in last.reason
    assert HealthProgress.from_evidence(None) == HealthProgress()
