"""Unknown tokens cost no database write, and a client address that keeps failing is told
to wait (429) without its tokens being looked up."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from rollwise.server import create_app
from rollwise.server.auth import TokenCache
from rollwise.server.auth_limiter import FailedAuthLimiter
from rollwise.store import Store, Tx
from rollwise.store.tokens import TOUCH_EVERY

from .._support.clock import FakeClock
from ._support import ADMIN, app_for, bearer, settings


class CountingStore(Store):
    """A real store that counts its read-only and its read-write transactions."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.reads = 0
        self.writes = 0

    @contextmanager
    def reading(self) -> Iterator[Tx]:
        self.reads += 1
        with super().reading() as tx:
            yield tx

    @contextmanager
    def transaction(self, actor: str) -> Iterator[Tx]:
        self.writes += 1
        with super().transaction(actor) as tx:
            yield tx


@contextmanager
def write_locked(path: Path) -> Iterator[None]:
    """Another process's view: a connection holding SQLite's write lock."""
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()


def test_unknown_tokens_are_answered_while_the_database_is_write_locked(tmp_path: Path) -> None:
    """Before: every unknown token opened a write transaction, so it waited for the lock
    (and got a 500 "database is locked" after 30 s)."""
    path = tmp_path / "locked.db"
    with TestClient(app_for(f"sqlite:///{path}")) as client, write_locked(path):
        for n in range(5):
            response = client.get("/api/v1/flags", headers=bearer(f"made-up-token-{n:04d}-xxxx"))
            assert response.status_code == 401, response.text
            assert response.json()["error"]["code"] == "unauthorized"


def test_a_token_costs_a_read_and_last_used_is_written_at_most_once_a_minute(
    database_url: str,
) -> None:
    store = CountingStore(database_url)
    try:
        store.upgrade()
        with store.transaction("admin") as tx:
            _, secret = tx.tokens.create("reader", "read")
        clock = FakeClock(1000.0)
        cache = TokenCache(store, 5.0, clock, negative_ttl=5.0)
        store.reads = store.writes = 0

        for _ in range(3):
            assert cache.authenticate("a-made-up-token-0000") is None
        assert (store.reads, store.writes) == (1, 0)  # then remembered as unknown
        clock.now += 6
        assert cache.authenticate("a-made-up-token-0000") is None
        assert (store.reads, store.writes) == (2, 0)

        token = cache.authenticate(secret)
        assert token is not None
        assert token.last_used_at is None
        assert (store.reads, store.writes) == (3, 1)  # first use: last_used_at written
        clock.now += 6  # the cache entry is stale: read again, but used < TOUCH_EVERY ago
        assert cache.authenticate(secret) is not None
        assert (store.reads, store.writes) == (4, 1)
        with store.reading() as tx:
            (listed,) = tx.tokens.list_tokens()[-1:]
        assert listed.last_used_at is not None
        assert TOUCH_EVERY.total_seconds() == 60
    finally:
        store.close()


def test_an_address_that_keeps_failing_gets_429_but_known_tokens_still_pass(
    tmp_path: Path,
) -> None:
    app = app_for(
        f"sqlite:///{tmp_path / 'limited.db'}", auth_failure_burst=3, auth_failure_per_second=0.01
    )
    with TestClient(app) as client:
        assert client.get("/api/v1/flags", headers=bearer(ADMIN)).status_code == 200
        for n in range(3):
            response = client.get("/api/v1/flags", headers=bearer(f"guess-number-{n:04d}-xx"))
            assert response.status_code == 401
        limited = client.get("/api/v1/flags", headers=bearer("guess-number-9999-xx"))
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "too_many_requests"
        assert int(limited.headers["Retry-After"]) >= 1
        assert client.get("/api/v1/flags", headers=bearer(ADMIN)).status_code == 200
        # a request without any token costs nothing and is not limited: a plain 401
        assert client.get("/api/v1/flags").status_code == 401


def test_the_limiter_refills_and_stays_bounded() -> None:
    clock = FakeClock(1000.0)
    limiter = FailedAuthLimiter(2, 0.5, clock)
    assert limiter.retry_after("a") is None
    limiter.failed("a")
    limiter.failed("a")
    assert limiter.retry_after("a") == 2
    assert limiter.retry_after("b") is None  # per address
    clock.now += 2
    assert limiter.retry_after("a") is None
    limiter.failed("a")
    assert limiter.retry_after("a") is not None

    limiter.MAX_ADDRESSES = 10
    for n in range(100):
        limiter.failed(f"10.0.0.{n}")
    assert len(limiter._buckets) <= 10

    assert FailedAuthLimiter(0, 1.0, clock).retry_after("a") is None  # burst 0: off


def test_limits_are_per_app(tmp_path: Path) -> None:
    """No module-level state: a second app starts with clean counts."""
    apps = [app_for(f"sqlite:///{tmp_path / f'{n}.db'}", auth_failure_burst=1) for n in range(2)]
    with TestClient(apps[0]) as first:
        first.get("/api/v1/flags", headers=bearer("wrong-token-0000-xx"))
        assert first.get("/api/v1/flags", headers=bearer("wrong-token-0001-xx")).status_code == 429
    with TestClient(apps[1]) as second:
        assert second.get("/api/v1/flags", headers=bearer("wrong-token-0002-xx")).status_code == 401


class FailingReads(Store):
    """Failure injection: token lookups fail as they do when the database is away."""

    failing = False

    @contextmanager
    def reading(self) -> Iterator[Tx]:
        if self.failing:
            raise OperationalError("SELECT tokens", {}, Exception("connection refused"))
        with super().reading() as tx:
            yield tx


def test_a_lookup_the_database_cannot_answer_is_a_503_not_a_500(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'away.db'}"
    store = FailingReads(url)
    try:
        app = create_app(settings(url), store=store)
        with TestClient(app, raise_server_exceptions=False) as client:
            store.failing = True
            response = client.get("/api/v1/flags", headers=bearer(ADMIN))
            assert response.status_code == 503, response.text
            assert "Retry-After" in response.headers
    finally:
        store.close()


def test_a_fleet_new_to_a_restarted_replica_is_not_taken_for_a_flood(tmp_path: Path) -> None:
    """Many live tokens this replica has never seen, looked up at once from one address
    (a fleet behind one proxy, right after a restart): none is refused with 429."""
    import asyncio

    import httpx

    from ._support import make_token

    url = f"sqlite:///{tmp_path / 'fleet.db'}"
    with TestClient(app_for(url)) as client:
        secrets = [make_token(client, "read") for _ in range(12)]
    fresh = app_for(url, auth_failure_burst=3, auth_failure_per_second=0.01)

    async def all_at_once() -> list[int]:
        transport = httpx.ASGITransport(app=fresh, client=("10.0.0.7", 4321))
        async with httpx.AsyncClient(transport=transport, base_url="http://plane") as http:
            answers = await asyncio.gather(
                *(http.get("/api/v1/flags", headers=bearer(s)) for s in secrets * 3)
            )
        return [answer.status_code for answer in answers]

    with TestClient(fresh):  # runs the lifespan
        statuses = asyncio.run(all_at_once())
    assert statuses == [200] * len(statuses)
