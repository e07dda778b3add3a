"""A crash at any moment never loses, repeats or half-applies a rollout transition.

A real ``rollwise serve`` (controller inside, fast ticks) drives rollouts on five flags —
two healthy canaries with many short steps, a healthy blue-green switch, a faulty canary
that rolls back (and is retried), and one a person pauses, resumes, promotes, aborts and
retries through the API while the controller judges it — with traffic and the person's
actions going on in background threads. The server is SIGKILLed at random moments
(seeded: from 0.05 to 1.5 s after it became ready, so kills land mid-tick, mid-transaction,
mid-request; now and then while it starts) at least ``MIN_KILLS`` times and restarted on
the same database and port. After every kill and every restart the database is checked
(tests/e2e/_consistency.py): history, rollout rows, flag splits, audit rows, outbox rows,
one active rollout per flag, and the webhook deliveries; the SDK config document is
compared with the database at the same revision. At the end every rollout is final as
expected, every notification was delivered, and no server process is left.

``ROLLWISE_CRASH_SEED`` picks another seed (the test prints the one it used).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from rollwise.core.rollout import RolloutPhase
from rollwise.store import Store

from .._support.net import free_port
from ..notifiers._receivers import HttpReceiver
from ._consistency import (
    Snapshot,
    config_problems,
    delivery_problems,
    read_document,
    read_snapshot,
    snapshot_problems,
)
from ._serve import ADMIN, spawn_serve, wait_ready
from ._workload import Role, Workload, rollout_spec

ENV = "production"
MIN_KILLS = 50
WIND_DOWN_AT = 32
"""From this kill on, nothing new is started: the rollouts finish while the kills go on."""
MAX_KILLS = 300
SEED = int(os.environ.get("ROLLWISE_CRASH_SEED", "5"))
SERVER_ENV = {
    "ROLLWISE_CONTROLLER_TICK": "0.2",
    "ROLLWISE_DISPATCH_INTERVAL": "0.2",
    "ROLLWISE_OUTBOX_LEASE": "2s",  # a delivery cut short by a kill is due again soon
    "ROLLWISE_OUTBOX_BACKOFF": "0.5s",
    "ROLLWISE_OUTBOX_BACKOFF_MAX": "2s",
    "ROLLWISE_OUTBOX_MAX_ATTEMPTS": "1000",  # each claim counts; kills must not exhaust them
    "ROLLWISE_OUTBOX_BATCH": "50",
}
CANARY = {"type": "canary", "steps": ["5%/1s", "10%/1s", "25%/1s", "50%/1s", "100%"]}
GATES = [{"metric": "error_rate", "max": 0.05}, {"metric": "latency_p95", "max_increase": 0.5}]
ROLES = (
    Role("canary-a", CANARY, GATES),
    Role("canary-b", CANARY, GATES),
    Role("switch", {"type": "blue_green", "verify": "1s"}, [{"metric": "error_rate", "max": 0.05}]),
    Role("faulty", CANARY, GATES, faulty=True),
    Role("manual", CANARY, GATES, manual=True),
)
HOOK = "hooks"
VERBOSE = bool(os.environ.get("ROLLWISE_CRASH_VERBOSE"))


def setup_control_plane(url: str, receiver: HttpReceiver) -> str:
    """Environment, flags (everyone on legacy), channels, rollouts; the SDK token."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}) as admin:

        def ok(response: httpx.Response) -> Any:
            assert response.is_success, response.text
            return response.json() if response.content else None

        ok(admin.post("/api/v1/environments", json={"key": ENV}))
        for role in ROLES:
            ok(
                admin.post(
                    "/api/v1/flags", json={"key": role.flag, "variants": ["legacy", "domain"]}
                )
            )
            state = {"split": {"legacy": 10000, "domain": 0}, "version": 0}
            ok(admin.put(f"/api/v1/flags/{role.flag}/environments/{ENV}", json=state))
        channels = [
            ({"type": "webhook", "name": HOOK, "url": receiver.url}, True),
            ({"type": "nop", "name": "quiet"}, True),
            ({"type": "webhook", "name": "off", "url": f"{receiver.origin}/off"}, False),
        ]
        for config, enabled in channels:
            ok(
                admin.post(
                    "/api/v1/notification-channels", json={"config": config, "enabled": enabled}
                )
            )
        token = ok(
            admin.post("/api/v1/tokens", json={"name": "app", "scope": "sdk", "environment": ENV})
        )
        for role in ROLES:
            ok(admin.post("/api/v1/rollouts", json=rollout_spec(role, ENV)))
    return str(token["secret"])


class Server:
    """``rollwise serve`` on one database and port, killed and started again and again."""

    def __init__(self, database_url: str, log: Path) -> None:
        self.database_url = database_url
        self.log = log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.started: list[subprocess.Popen[bytes]] = []

    def spawn(self) -> subprocess.Popen[bytes]:
        assert self.process is None or self.process.poll() is not None
        self.process = spawn_serve(self.database_url, self.port, self.log, extra_env=SERVER_ENV)
        self.started.append(self.process)
        return self.process

    def start(self) -> None:
        wait_ready(self.spawn(), self.url, self.log)

    def sigkill(self) -> None:
        """SIGKILL now, without waiting (a timer thread calls it)."""
        assert self.process is not None
        self.process.kill()

    def kill(self) -> None:
        self.sigkill()
        assert self.process is not None
        self.process.wait(30)

    def stop(self) -> int:
        assert self.process is not None
        self.process.terminate()
        return self.process.wait(30)

    def close(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.wait(30)


class Checker:
    """Checks the database (and the webhook receiver's deliveries) against itself."""

    def __init__(self, store: Store, receiver: HttpReceiver, server: Server) -> None:
        self.store = store
        self.receiver = receiver
        self.server = server
        self.checks = 0
        self.config_agreed = 0

    def check(self, moment: str) -> Snapshot:
        received = self.receiver.received  # before the snapshot: their rows exist by then
        snapshot = read_snapshot(self.store, ENV)
        problems = snapshot_problems(snapshot) + delivery_problems(snapshot, received, HOOK)
        problems += [
            f"webhook {r.path}: a disabled channel got it" for r in received if r.path != "/hook"
        ]
        if problems:
            pytest.fail(f"inconsistent {moment}:\n" + "\n".join(problems) + self._log_tail())
        self.checks += 1
        return snapshot

    def check_config(self, sdk_token: str, *, settle: bool = False) -> None:
        """The SDK config document served at the database's revision says what it says.

        The server may be killed under the check (then it is skipped); ``settle`` waits
        until the served revision catches up with the database's and requires the match.
        """
        headers = {"Authorization": f"Bearer {sdk_token}"}
        for _ in range(200 if settle else 20):
            document = read_document(self.store, ENV)
            try:
                response = httpx.get(
                    f"{self.server.url}/api/v1/sdk/config", headers=headers, timeout=2
                )
            except httpx.TransportError:
                if settle:
                    raise
                return
            assert response.status_code == 200, response.text
            served = response.json()
            if served["revision"] == document.revision:
                problems = config_problems(document, served)
                assert not problems, "\n".join(problems)
                self.config_agreed += 1
                return
            time.sleep(0.05)
        assert not settle, f"the SDK config never reached revision {document.revision}"

    def _log_tail(self) -> str:
        return "\n--- server log (tail) ---\n" + self.server.log.read_text()[-6000:]


def all_final(snapshot: Snapshot) -> bool:
    return bool(snapshot.rollouts) and not any(r.phase.is_active for r in snapshot.rollouts)


@pytest.mark.timeout(600)
def test_sigkill_at_random_moments_never_breaks_a_transition(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(SEED)
    server = Server(database_url, tmp_path / "serve.log")
    store = Store(database_url)
    kills = startup_kills = 0
    began = time.monotonic()
    try:
        with HttpReceiver() as receiver:
            checker = Checker(store, receiver, server)
            server.start()
            sdk_token = setup_control_plane(server.url, receiver)
            with Workload(server.url, ADMIN, sdk_token, ENV, ROLES, seed=SEED + 1) as workload:
                while True:  # the server is up and ready here
                    timer = threading.Timer(rng.uniform(0.05, 1.5), server.sigkill)
                    timer.start()
                    checker.check(f"after start {len(server.started)} ({kills} kills so far)")
                    checker.check_config(sdk_token)
                    timer.join()
                    server.kill()
                    kills += 1
                    settled = checker.check(f"after kill {kills}")
                    assert not workload.unexpected, "\n".join(workload.unexpected[:5])
                    if VERBOSE:
                        phases = [(r.flag, r.phase.value, r.step) for r in settled.rollouts]
                        print(f"kill {kills} at {time.monotonic() - began:.1f}s: {phases}")
                    if kills >= WIND_DOWN_AT:
                        workload.wind_down()
                    if kills >= MIN_KILLS and all_final(settled):
                        break
                    if kills >= MAX_KILLS:
                        pytest.fail(f"rollouts still active after {kills} kills: {settled}")
                    if rng.random() < 0.1:  # a crash while it starts: migrations, first tick
                        server.spawn()
                        time.sleep(rng.uniform(0.0, 1.5))
                        server.kill()
                        startup_kills += 1
                        checker.check(f"after a kill during start {len(server.started)}")
                    server.start()
            assert not workload.unexpected, "\n".join(workload.unexpected[:5])

            # the last start: every notification goes out, nothing is left half-done
            server.start()
            final = drain(checker)
            checker.check_config(sdk_token, settle=True)
            assert server.stop() in (0, -signal.SIGTERM)  # uvicorn re-raises it when done
            received = receiver.received
    finally:
        server.close()
        store.close()

    assert_final_phases(final)
    hook_rows = {row.id for row in final.outbox if row.channel == HOOK}
    delivered = [r.headers["x-rollwise-event-id"] for r in received]
    assert set(delivered) == hook_rows
    assert {row.status for row in final.outbox} == {"delivered"}
    assert all(process.poll() is not None for process in server.started)
    with capsys.disabled():
        print(
            f"\ncrash consistency on {store.dialect} (seed {SEED}): {kills} SIGKILLs after ready "
            f"+ {startup_kills} during start-up, {len(server.started)} server starts, "
            f"{checker.checks} consistency checks, SDK config agreed {checker.config_agreed} "
            f"times; {final.transitions} transitions in {len(final.rollouts)} rollouts "
            f"({workload.actions} manual actions, {workload.created} rollouts created), "
            f"{len(delivered)} webhook deliveries for {len(hook_rows)} notifications "
            f"({len(delivered) - len(set(delivered))} duplicates); "
            f"{time.monotonic() - began:.0f} s"
        )


def drain(checker: Checker) -> Snapshot:
    """Wait until every outbox row is delivered (a killed dispatcher's lease runs out)."""
    for _ in range(600):
        snapshot = checker.check("while the outbox drains")
        if not snapshot.pending_outbox():
            return snapshot
        time.sleep(0.1)
    pytest.fail(f"undelivered: {snapshot.pending_outbox()}")


def assert_final_phases(snapshot: Snapshot) -> None:
    for role in ROLES:
        latest = snapshot.latest(role.flag)
        assert latest is not None
        mine = [r for r in snapshot.rollouts if r.flag == role.flag]
        if role.faulty:
            assert {r.phase for r in mine} == {RolloutPhase.ROLLED_BACK}  # every attempt
            rollbacks = [h for h in snapshot.history[latest.id] if h.action.value == "rollback"]
            assert len(rollbacks) == latest.attempt
            assert all(h.actor == "controller" for h in rollbacks)
        elif role.manual:
            assert latest.phase in (RolloutPhase.SUCCEEDED, RolloutPhase.ABORTED)
        else:
            assert {r.phase for r in mine} == {RolloutPhase.SUCCEEDED}
            for rollout in mine:
                assert all(h.actor == "controller" for h in snapshot.history[rollout.id][1:])
