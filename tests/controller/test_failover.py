"""Failover of real ``rollwise controller`` processes when the leader cannot prove it is
alive: frozen (SIGSTOP) or cut off from PostgreSQL (a proxy that stops forwarding). Another
replica must take the lease over, and the old leader, once it runs again, must not act:
every controller decision afterwards carries the new leader's replica and epoch.

Each test prints how long the takeover took (``-s`` shows it); it asserts the behaviour,
never the time, within a generous deadline.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from rollwise.store import Store
from rollwise.store.leases import Lease, read_lease

from .._support.net import free_port
from ..e2e._serve import ADMIN, rollwise_serve
from ._processes import (
    report_traffic,
    rollwise_controller,
    seed,
    start,
    wait_for_log,
    wait_for_phase,
)
from ._proxy import CuttableProxy

DEADLINE = 90.0
"""Seconds a takeover may take on a loaded machine (the target is 15: lease 10 + renew 2)."""

# three processes and a takeover, on a shared machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def current_lease(store: Store) -> Lease | None:
    with store.engine.connect() as connection:
        return read_lease(connection, "controller")


def wait_for_lease(store: Store, condition: Callable[[Lease], bool], what: str) -> Lease:
    deadline = time.monotonic() + DEADLINE
    while True:
        lease = current_lease(store)
        if lease is not None and lease.valid and condition(lease):
            return lease
        if time.monotonic() > deadline:
            pytest.fail(f"never happened within {DEADLINE}s: {what} (lease: {lease})")
        time.sleep(0.1)


def pid_of(lease: Lease) -> int:
    return int(lease.holder.split(":")[-2])  # <hostname>:<pid>:<random>


def controller_decisions(admin: httpx.Client) -> list[dict[str, Any]]:
    """The leader evidence of every controller transition and latest judgement."""
    found: list[dict[str, Any]] = []
    rollouts = sorted(admin.get("/api/v1/rollouts").json(), key=lambda r: r["id"])
    for rollout in rollouts:
        history = admin.get(f"/api/v1/rollouts/{rollout['id']}/history").json()
        found += [h["evidence"]["leader"] for h in history if h["actor"] == "controller"]
        judgement = admin.get(f"/api/v1/rollouts/{rollout['id']}").json().get("judgement")
        if judgement is not None:
            found.append(judgement["evidence"]["leader"])
    return found


def drive_a_rollout(admin: httpx.Client, log: Path) -> None:
    rollout = start(admin)
    report_traffic(admin, rollout)
    wait_for_phase(admin, rollout["id"], "succeeded", log)


class Replicas:
    """Two ``rollwise controller`` processes and a ``serve`` without one, on one database."""

    def __init__(self, stack: ExitStack, database_url: str, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.stack = stack
        self.store = Store(database_url)
        stack.callback(self.store.close)
        serve_log = tmp_path / "serve.log"
        url = stack.enter_context(
            rollwise_serve(
                database_url, free_port(), serve_log, extra_env={"ROLLWISE_CONTROLLER": "off"}
            )
        )
        self.admin = stack.enter_context(
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"})
        )
        seed(self.admin)
        self.processes: dict[int, tuple[subprocess.Popen[bytes], Path]] = {}

    def start(self, name: str, database_url: str, **env: str) -> subprocess.Popen[bytes]:
        log = self.tmp_path / f"{name}.log"
        process = self.stack.enter_context(rollwise_controller(database_url, log, env))
        self.processes[process.pid] = (process, log)
        return process

    def log_of(self, lease: Lease) -> Path:
        return self.processes[pid_of(lease)][1]


def check_failover(
    replicas: Replicas, old: Lease, stop: Callable[[], None], resume: Callable[[], None]
) -> float:
    """Stop the leader's access, wait for the other to lead, resume it, check it does not act."""
    admin, store = replicas.admin, replicas.store
    drive_a_rollout(admin, replicas.log_of(old))
    stopped = time.monotonic()
    stop()
    new = wait_for_lease(store, lambda lease: lease.holder != old.holder, "another replica leads")
    took = time.monotonic() - stopped
    print(f"\ntakeover after {took:.1f}s: {old.holder} (epoch {old.epoch}) -> ", end="")
    print(f"{new.holder} (epoch {new.epoch})")
    assert new.epoch > old.epoch
    drive_a_rollout(admin, replicas.log_of(new))

    resume()
    wait_for_log(replicas.log_of(old), "lost the controller lease")
    drive_a_rollout(admin, replicas.log_of(new))
    lease = current_lease(store)
    assert lease is not None
    assert (lease.holder, lease.epoch) == (new.holder, new.epoch)  # it did not take it back

    decisions = controller_decisions(admin)
    before, after = decisions[:2], decisions[2:]
    assert before == [{"replica": old.holder, "epoch": old.epoch}] * 2, decisions
    assert after == [{"replica": new.holder, "epoch": new.epoch}] * 4, decisions
    return took


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def test_a_frozen_leader_is_replaced_and_does_not_act_when_it_wakes(
    empty_postgres: str,
    tmp_path: Path,
    stack: ExitStack,
) -> None:
    replicas = Replicas(stack, empty_postgres, tmp_path)
    first = replicas.start("one", empty_postgres)
    old = wait_for_lease(replicas.store, lambda lease: pid_of(lease) == first.pid, "one leads")
    replicas.start("two", empty_postgres)
    check_failover(
        replicas,
        old,
        lambda: first.send_signal(signal.SIGSTOP),
        lambda: first.send_signal(signal.SIGCONT),
    )


def test_a_leader_cut_off_from_postgresql_is_replaced_and_does_not_act_when_back(
    empty_postgres: str,
    tmp_path: Path,
    stack: ExitStack,
) -> None:
    url = make_url(empty_postgres)
    socket_dir = str(url.query.get("host", "/var/run/postgresql"))
    proxy = stack.enter_context(CuttableProxy(f"{socket_dir}/.s.PGSQL.{url.port or 5432}"))
    through_proxy = url.set(host="127.0.0.1", port=proxy.port, query={})
    replicas = Replicas(stack, empty_postgres, tmp_path)
    first = replicas.start("one", through_proxy.render_as_string(hide_password=False))
    old = wait_for_lease(replicas.store, lambda lease: pid_of(lease) == first.pid, "one leads")
    replicas.start("two", empty_postgres)
    check_failover(replicas, old, proxy.cut, proxy.heal)


def test_a_frozen_leader_on_sqlite_is_replaced_and_does_not_act_when_it_wakes(
    tmp_path: Path, stack: ExitStack
) -> None:
    """Two processes on one SQLite file. A tick of 1 s keeps the leader's transactions
    rare: a process frozen inside one holds SQLite's write lock, and every writer waits
    for it (see docs/controller.md)."""
    database_url = f"sqlite:///{tmp_path / 'rollwise.db'}"
    slow = {"ROLLWISE_CONTROLLER_TICK": "1", "ROLLWISE_DISPATCH_INTERVAL": "1"}
    replicas = Replicas(stack, database_url, tmp_path)
    first = replicas.start("one", database_url, **slow)
    old = wait_for_lease(replicas.store, lambda lease: pid_of(lease) == first.pid, "one leads")
    replicas.start("two", database_url, **slow)
    check_failover(
        replicas,
        old,
        lambda: first.send_signal(signal.SIGSTOP),
        lambda: first.send_signal(signal.SIGCONT),
    )


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_a_killed_leader_is_replaced_without_waiting_for_its_lease(
    backend: str, tmp_path: Path, stack: ExitStack, request: pytest.FixtureRequest
) -> None:
    """kill -9 ends the leader's session (PostgreSQL) or its flock (SQLite) at once: that
    liveness lock, free while the lease names a holder that held it, lets a follower take
    the lease before it expires."""
    if backend == "postgresql":
        database_url = request.getfixturevalue("empty_postgres")
    else:
        database_url = f"sqlite:///{tmp_path / 'rollwise.db'}"
    replicas = Replicas(stack, database_url, tmp_path)
    first = replicas.start("one", database_url)
    old = wait_for_lease(
        replicas.store,
        lambda lease: pid_of(lease) == first.pid and lease.hinted,
        "one leads, holding its liveness lock",
    )
    replicas.start("two", database_url)
    wait_for_log(replicas.tmp_path / "two.log", "controller started")
    first.kill()
    first.wait(30)
    killed = time.monotonic()
    last_seen = old
    deadline = killed + DEADLINE
    while (lease := current_lease(replicas.store)) is not None and lease.holder == old.holder:
        last_seen = lease
        assert time.monotonic() < deadline, "nobody took over"
        time.sleep(0.05)
    assert lease is not None
    print(f"\ntakeover {time.monotonic() - killed:.2f}s after kill -9 ({backend})")
    assert lease.epoch == old.epoch + 1
    assert lease.acquired_at < last_seen.expires_at  # it did not wait for the lease to end
    drive_a_rollout(replicas.admin, replicas.log_of(lease))
