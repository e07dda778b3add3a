"""Leader election: the lease (the default on both databases), a PostgreSQL advisory lock
held by one session, a file lock next to a SQLite database held by one process, and what a
fork child inherits (nothing)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from rollwise.controller import (
    AlwaysLeader,
    Controller,
    FileLock,
    LeaseElector,
    PostgresAdvisoryLock,
    elector_for,
)
from rollwise.store import Store

from .._support.clock import FakeClock
from ._support import fast_settings

KEY = 4242


def eventually(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    """Poll ``condition`` (the lock is released when PostgreSQL has ended the session)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.05)


def terminate(database_url: str, pid: int) -> None:
    libpq = make_url(database_url).set(drivername="postgresql")
    with psycopg.connect(libpq.render_as_string(hide_password=False), autocommit=True) as admin:
        ended = admin.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,)).fetchone()
    assert ended == (True,)


@pytest.fixture
def two_stores(postgres_url: str) -> Iterator[tuple[Store, Store]]:
    first, second = Store(postgres_url), Store(postgres_url)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def test_one_session_holds_the_advisory_lock_until_its_backend_dies(
    two_stores: tuple[Store, Store], postgres_url: str
) -> None:
    first = PostgresAdvisoryLock(two_stores[0].engine, KEY)
    second = PostgresAdvisoryLock(two_stores[1].engine, KEY)
    try:
        assert first.check()
        assert not second.check()
        assert first.check()  # still held: checking again does not take it twice
        assert first.backend_pid is not None

        terminate(postgres_url, first.backend_pid)
        eventually(second.check, "the follower takes the lock of a dead session")
        assert not first.check()  # the old leader notices and follows
        assert first.backend_pid is None

        second.release()
        assert first.check()
    finally:
        first.release()
        second.release()


def test_of_two_controllers_one_leads_and_the_other_takes_over_an_expired_lease(
    database_url: str,
) -> None:
    database, first_clock, second_clock = FakeClock(), FakeClock(), FakeClock()
    stores = Store(database_url), Store(database_url)
    electors = [
        LeaseElector(store, replica=name, clock=database, monotonic=mono)
        for store, name, mono in zip(stores, "ab", (first_clock, second_clock), strict=True)
    ]
    try:
        with (
            Controller(stores[0], fast_settings(), elector=electors[0]) as one,
            Controller(stores[1], fast_settings(), elector=electors[1]) as other,
        ):
            assert [one.tick().leader, other.tick().leader] == [True, False]
            assert one.leadership() | {"elector": ""} == {
                "replica": "a", "leading": True, "epoch": 1, "lease_seconds": 10.0, "elector": "",
            }  # fmt: skip
            # renewing keeps it: the first renews every 2 s, the other only looks
            for _ in range(3):
                database.advance(5)
                first_clock.advance(5)
                second_clock.advance(5)
                assert [one.tick().leader, other.tick().leader] == [True, False]
            assert electors[0].epoch == 1
            # the first stops renewing (frozen, cut off): 10 s later the lease is the other's
            database.advance(10.5)
            second_clock.advance(10.5)
            assert other.tick().leader
            assert electors[1].epoch == 2
            first_clock.advance(10.5)  # it wakes up, knows its lease ran out, and follows
            assert not one.tick().leader
            assert not one.is_leader
            lease = electors[0].last_seen
            assert lease is not None
            assert (lease.holder, lease.epoch) == ("b", 2)
        # closing released the lease: a third controller leads at once, with the next epoch
        third = LeaseElector(stores[0], replica="c", clock=database)
        assert third.check()
        assert third.epoch == 3
        third.release()
    finally:
        for store in stores:
            store.close()


def test_the_lease_is_released_when_a_leader_stops(two_stores: tuple[Store, Store]) -> None:
    settings = fast_settings()
    one = Controller(two_stores[0], settings).start()
    eventually(lambda: one.is_leader, "the started controller leads")
    other = Controller(two_stores[1], settings)
    try:
        assert not other.tick().leader
        one.close()
        assert not one.running
        assert other.tick().leader
    finally:
        one.close()
        other.close()


def test_an_advisory_lock_connection_gives_up_on_a_silent_network(postgres_url: str) -> None:
    """The lock's session has TCP keepalives and a user timeout (the server default waits
    two hours): a cut-off leader's lock is released within a bounded time."""
    store = Store(postgres_url)
    lock = PostgresAdvisoryLock(store.engine, KEY, statement_timeout=9)
    try:
        assert lock.check()
        engine = lock._keepalive_engine()
        with engine.connect() as connection:
            raw: Any = connection.connection.dbapi_connection
            options = raw.info.get_parameters()
        assert options["keepalives"] == "1"
        assert options["tcp_user_timeout"] == "9000"
    finally:
        lock.release()
        store.close()


HOLD_LOCK = """
import sys
from rollwise.controller import FileLock
lock = FileLock(sys.argv[1])
print("leader" if lock.check() else "follower", flush=True)
sys.stdin.read()
"""


@pytest.mark.slow  # two real Python processes
def test_two_processes_on_one_sqlite_file_never_both_lead(tmp_path: Path) -> None:
    path = tmp_path / "rollwise.db.controller.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "leader"
        mine = FileLock(path)
        assert not mine.check()
        holder.send_signal(signal.SIGKILL)  # however it dies, the OS releases the lock
        holder.wait(30)
        assert mine.check()
        assert path.read_text().strip() == str(os.getpid())

        second = subprocess.run(
            [sys.executable, "-c", HOLD_LOCK, str(path)],
            input="",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.stdout.strip() == "follower"
        mine.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(30)


def test_a_fork_child_does_not_inherit_the_file_lock(tmp_path: Path) -> None:
    lock = FileLock(tmp_path / "x.lock")
    assert lock.check()
    pid = os.fork()
    if pid == 0:  # the child: a follower, and closing its copy leaves the parent leading
        code = 0 if not lock.check() else 1
        lock.release()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert lock.check()
    other = FileLock(tmp_path / "x.lock")
    assert not other.check()  # the parent's lock survived the child
    lock.release()


def test_a_fork_child_does_not_use_the_parents_lock_session(postgres_url: str) -> None:
    store = Store(postgres_url)
    lock = PostgresAdvisoryLock(store.engine, KEY)
    try:
        assert lock.check()
        held_by = lock.backend_pid
        pid = os.fork()
        if pid == 0:
            store.engine.dispose(close=False)  # the child's own pool (the store's concern)
            os._exit(0 if not lock.check() else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert lock.check()
        assert lock.backend_pid == held_by  # the parent's session was left alone
    finally:
        lock.release()
        store.close()


def test_the_elector_fits_the_database(tmp_path: Path, postgres_url: str) -> None:
    memory = Store("sqlite://")
    file_store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    pg = Store(postgres_url)
    try:
        assert isinstance(elector_for(memory), AlwaysLeader)
        assert isinstance(elector_for(file_store), LeaseElector)
        assert isinstance(elector_for(pg), LeaseElector)
    finally:
        for store in (memory, file_store, pg):
            store.close()


def test_a_fork_child_does_not_inherit_the_lease(database_url: str) -> None:
    store = Store(database_url)
    elector = LeaseElector(store)
    try:
        assert elector.check()
        parent = elector.replica
        pid = os.fork()
        if pid == 0:  # the child: its own name, a follower; the parent's lease is untouched
            ok = not elector.check() and elector.replica != parent
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert elector.check()
        assert elector.replica == parent
        assert elector.epoch == 1
    finally:
        elector.release()
        store.close()
