"""Leader election: a PostgreSQL advisory lock held by one session, a file lock next to a
SQLite database held by one process, and what a fork child inherits (nothing)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from rollwise.controller import (
    AlwaysLeader,
    Controller,
    FileLock,
    PostgresAdvisoryLock,
    elector_for,
)
from rollwise.store import Store

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


def test_of_two_controllers_on_postgresql_one_leads_and_the_other_takes_over(
    two_stores: tuple[Store, Store], postgres_url: str
) -> None:
    settings = fast_settings(lock_key=KEY)
    with (
        Controller(two_stores[0], settings) as one,
        Controller(two_stores[1], settings) as other,
    ):
        reports = [one.tick(), other.tick()]
        assert [r.leader for r in reports] == [True, False]
        assert [one.is_leader, other.is_leader] == [True, False]
        assert isinstance(one.elector, PostgresAdvisoryLock)
        pid = one.elector.backend_pid
        assert pid is not None

        terminate(postgres_url, pid)
        eventually(lambda: other.tick().leader, "the other controller takes over")
        assert not one.tick().leader
    # closing released the lock: a third controller leads at once
    with Controller(two_stores[0], settings) as third:
        assert third.tick().leader


def test_the_lock_is_released_when_a_leader_stops(two_stores: tuple[Store, Store]) -> None:
    settings = fast_settings(lock_key=KEY)
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


HOLD_LOCK = """
import sys
from rollwise.controller import FileLock
lock = FileLock(sys.argv[1])
print("leader" if lock.check() else "follower", flush=True)
sys.stdin.read()
"""


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
        file_lock = elector_for(file_store)
        assert isinstance(file_lock, FileLock)
        assert file_lock.path == tmp_path / "r.db.controller.lock"
        assert isinstance(elector_for(pg), PostgresAdvisoryLock)
    finally:
        for store in (memory, file_store, pg):
            store.close()
