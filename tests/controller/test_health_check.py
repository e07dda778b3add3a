"""The health-check gate: a started rollout shifts no traffic until its candidate's health
URL has answered healthy enough times in a row, on both databases.

The candidate is a real HTTP server on loopback whose answer the test flips; the
controller runs on a fake clock, so the interval and the deadline are exact.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from rollwise.application import act_on_rollout
from rollwise.application.releases import record_release, sync_release
from rollwise.core.release import ReleaseOutcome
from rollwise.core.rollout import HEALTH_EVIDENCE, RolloutAction, RolloutPhase
from rollwise.store import Store

from .._support.net import free_port
from ._support import ENV, FLAG, Harness, canary_spec, history, rollout, split, start_rollout


class Candidate:
    """A health endpoint answering ``status`` (flip it) and counting the probes it got."""

    def __init__(self) -> None:
        self.status = 200
        self.probes = 0
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with owner._lock:
                    owner.probes += 1
                    status = owner.status
                body = b"ok" if status < 400 else b"not ready"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/healthz"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=30)


@pytest.fixture
def candidate() -> Iterator[Candidate]:
    served = Candidate()
    try:
        yield served
    finally:
        served.close()


def check(url: str, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"url": url, "successes": 3, "interval": "5s", "deadline": "1m"}
    values.update(overrides)
    return values


def judgement(store: Store, rollout_id: int) -> Any:
    with store.reading() as tx:
        return tx.rollouts.get_judgement(rollout_id)


def counted(store: Store, rollout_id: int) -> dict[str, Any]:
    found = judgement(store, rollout_id)
    assert found is not None
    return dict(found.evidence[HEALTH_EVIDENCE])


def test_healthy_after_n_probes_the_first_step_starts(
    harness: Harness, candidate: Candidate
) -> None:
    store, clock = harness.store, harness.clock
    started = start_rollout(store, clock, canary_spec(health_check=check(candidate.url)))
    assert started.phase is RolloutPhase.PENDING  # verifying: no traffic moved
    assert split(store) == {"legacy": 10000, "domain": 0}

    harness.tick()
    assert counted(store, started.id)["consecutive"] == 1
    harness.tick()  # the interval has not passed: no probe
    assert candidate.probes == 1
    assert judgement(store, started.id).reason.startswith("verifying candidate health: 1/3")

    clock.advance(seconds=5)
    harness.tick()
    assert rollout(store, started.id).phase is RolloutPhase.PENDING
    assert split(store) == {"legacy": 10000, "domain": 0}
    clock.advance(seconds=5)
    harness.tick()

    after = rollout(store, started.id)
    assert (after.phase, after.step, candidate.probes) == (RolloutPhase.PROGRESSING, 0, 3)
    assert after.step_started_at == clock.now  # step 1's clock starts when it starts
    assert split(store) == {"legacy": 9000, "domain": 1000}
    rows = history(store, started.id)
    assert [(r.action, r.to_phase, r.actor) for r in rows] == [
        (RolloutAction.START, RolloutPhase.PENDING, "token:bob:1"),
        (RolloutAction.START, RolloutPhase.PROGRESSING, "controller"),
    ]
    assert "verifying" in rows[0].reason
    evidence = rows[1].evidence or {}
    probes = evidence[HEALTH_EVIDENCE]["probes"]
    assert [(p["status"], p["healthy"]) for p in probes] == [(200, True)] * 3
    assert "split_revision" in evidence  # a step to judge, like any start


def test_a_failing_probe_resets_the_count(harness: Harness, candidate: Candidate) -> None:
    store, clock = harness.store, harness.clock
    started = start_rollout(store, clock, canary_spec(health_check=check(candidate.url)))
    for status in (200, 200, 503, 200, 200):
        candidate.status = status
        harness.tick()
        clock.advance(seconds=5)
    seen = counted(store, started.id)
    assert (seen["consecutive"], seen["probes_total"], seen["failures_total"]) == (2, 5, 1)
    assert rollout(store, started.id).phase is RolloutPhase.PENDING
    assert "last: HTTP 200" in judgement(store, started.id).reason

    harness.tick()
    assert rollout(store, started.id).phase is RolloutPhase.PROGRESSING
    evidence = history(store, started.id)[-1].evidence or {}
    statuses = [p["status"] for p in evidence[HEALTH_EVIDENCE]["probes"]]
    assert statuses == [200, 200, 503, 200, 200, 200]


def test_never_healthy_is_aborted_at_the_deadline_with_the_evidence(
    harness: Harness, candidate: Candidate
) -> None:
    store, clock = harness.store, harness.clock
    with store.transaction("alice") as tx:
        tx.channels.create("quiet", {"type": "nop", "name": "quiet"})
    candidate.status = 503
    spec = canary_spec(health_check=check(candidate.url, successes=2, deadline="30s"))
    started = start_rollout(store, clock, spec)
    for _ in range(6):  # 0s .. 25s: before the deadline
        harness.tick()
        assert rollout(store, started.id).phase is RolloutPhase.PENDING
        clock.advance(seconds=5)
    harness.tick()  # 30s: the deadline

    after = rollout(store, started.id)
    assert after.phase is RolloutPhase.ABORTED
    assert split(store) == {"legacy": 10000, "domain": 0}  # nothing ever moved
    last = history(store, started.id)[-1]
    assert (last.action, last.actor) == (RolloutAction.ABORT, "controller")
    assert "not healthy within 30s" in last.reason
    assert "7 of 7 probes failed" in last.reason
    probes = (last.evidence or {})[HEALTH_EVIDENCE]["probes"]
    assert len(probes) == 7
    assert {p["status"] for p in probes} == {503}
    assert judgement(store, started.id).verdict == "fail"
    with store.reading() as tx:
        sent = [row.notification for row in tx.outbox.list_outbox(channel="quiet")]
    aborted = [n for n in sent if "aborted" in str(n.get("title"))]
    assert len(aborted) == 1
    assert "not healthy" in str(aborted[0])


def test_an_unreachable_candidate_records_the_error_and_counts_as_unhealthy(
    harness: Harness,
) -> None:
    store, clock = harness.store, harness.clock
    url = f"http://127.0.0.1:{free_port()}/healthz"  # nobody listens
    started = start_rollout(store, clock, canary_spec(health_check=check(url, successes=1)))
    harness.tick()
    [probe] = counted(store, started.id)["probes"]
    assert probe["healthy"] is False
    assert probe["status"] is None
    assert probe["error"]
    assert rollout(store, started.id).phase is RolloutPhase.PENDING


def test_blue_green_switches_only_once_the_candidate_is_healthy(
    harness: Harness, candidate: Candidate
) -> None:
    store, clock = harness.store, harness.clock
    spec = canary_spec(
        strategy={"type": "blue_green", "verify": "10m"},
        gates=[{"metric": "error_rate", "max": 0.05}],
        health_check=check(candidate.url, successes=2),
    )
    started = start_rollout(store, clock, spec)
    candidate.status = 500
    harness.tick()
    assert split(store) == {"legacy": 10000, "domain": 0}
    candidate.status = 204
    for _ in range(2):
        clock.advance(seconds=5)
        harness.tick()
    assert rollout(store, started.id).phase is RolloutPhase.PROGRESSING
    assert split(store) == {"legacy": 0, "domain": 10000}


def test_a_release_whose_candidate_never_gets_healthy_fails_and_retry_verifies_again(
    harness: Harness, candidate: Candidate
) -> None:
    store, clock = harness.store, harness.clock
    with store.transaction("ci") as tx:
        record_release(tx, ENV, "svc", "v1", now=clock.now)
    candidate.status = 500
    with store.transaction("ci") as tx:
        started = record_release(
            tx,
            ENV,
            "svc",
            "v2",
            rollout={
                "strategy": {"steps": ["50%/5m"]},
                "health_check": check(candidate.url, successes=1, deadline="10s"),
            },
            now=clock.now,
        )
    assert started.rollout is not None
    rollout_id = started.rollout.id
    harness.tick()
    clock.advance(seconds=10)
    harness.tick()
    assert rollout(store, rollout_id).phase is RolloutPhase.ABORTED
    with store.transaction("ci") as tx:
        assert sync_release(tx, started.release.id).outcome is ReleaseOutcome.FAILED
        weights = tx.flags.get_state("svc", ENV).state
    assert weights.default == "v1" or (weights.split or {}).get("v2", 0) == 0

    # a retry checks the candidate again before any traffic moves
    version = rollout(store, rollout_id).version
    with store.transaction("alice") as tx:
        retried = act_on_rollout(tx, rollout_id, RolloutAction.RETRY, expected_version=version)
    assert (retried.phase, retried.attempt) == (RolloutPhase.PENDING, 2)
    candidate.status = 200
    clock.advance(seconds=5)
    harness.tick()
    after = rollout(store, rollout_id)
    assert (after.phase, after.step) == (RolloutPhase.PROGRESSING, 0)


def test_a_person_aborting_while_it_verifies_wins(harness: Harness, candidate: Candidate) -> None:
    store, clock = harness.store, harness.clock
    candidate.status = 503
    started = start_rollout(store, clock, canary_spec(health_check=check(candidate.url)))
    harness.tick()
    with store.transaction("alice") as tx:
        current = tx.rollouts.get(started.id)
        act_on_rollout(tx, started.id, RolloutAction.ABORT, expected_version=current.version)
    clock.advance(seconds=5)
    probes = candidate.probes
    harness.tick()
    assert candidate.probes == probes  # no longer verifying: left alone
    assert rollout(store, started.id).phase is RolloutPhase.ABORTED
    assert split(store) == {"legacy": 10000, "domain": 0}
    assert FLAG == "checkout"
