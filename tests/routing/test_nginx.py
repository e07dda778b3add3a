"""The nginx router against Debian's nginx: sticky, monotonic, refused configs never stay."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rollwise.routing import NginxRouter, RouteSplit, RoutingError

from ._nginx import HEADER_UNIT, Nginx, backends, running_nginx

pytestmark = pytest.mark.slow  # real nginx, hundreds of requests per test

UNITS = [f"user-{n}" for n in range(300)]


def split(canary_weight: int, revision: int = 1) -> RouteSplit:
    return RouteSplit(
        flag="camera-release",
        environment="production",
        revision=revision,
        weights=(("v1", 10_000 - canary_weight), ("v2", canary_weight)),
        salt="camera-release",
    )


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Nginx]:
    with running_nginx(tmp_path) as server:
        yield server


@pytest.fixture
def upstreams() -> Iterator[dict[str, list[str]]]:
    with backends("v1", "v2") as servers:
        yield servers


def served(client: httpx.Client, url: str, unit: str) -> str:
    response = client.get(url, headers={"X-User": unit})
    assert response.status_code == 200, response.text
    assert response.headers["X-Rollwise-Release"] == response.text
    return response.text


def on_canary(client: httpx.Client, url: str) -> set[str]:
    return {unit for unit in UNITS if served(client, url, unit) == "v2"}


def test_a_rising_share_keeps_every_user_who_had_the_new_release(
    nginx: Nginx, upstreams: dict[str, list[str]]
) -> None:
    router = NginxRouter(nginx.router_config(upstreams, unit=HEADER_UNIT))
    seen: list[set[str]] = []
    with httpx.Client() as client:
        for weight in (1_000, 2_500, 5_000):
            router.apply(split(weight))
            seen.append(on_canary(client, nginx.url))
            assert on_canary(client, nginx.url) == seen[-1]  # sticky: the same answer again
        router.apply(split(10_000))
        assert on_canary(client, nginx.url) == set(UNITS)
        router.apply(split(0))
        assert on_canary(client, nginx.url) == set()
    ten, twenty_five, fifty = seen
    assert ten <= twenty_five <= fifty
    assert 0.04 * len(UNITS) < len(ten) < 0.16 * len(UNITS)
    assert 0.40 * len(UNITS) < len(fifty) < 0.60 * len(UNITS)


def test_an_anonymous_client_gets_a_cookie_and_stays_where_it_landed(
    nginx: Nginx, upstreams: dict[str, list[str]]
) -> None:
    NginxRouter(nginx.router_config(upstreams, unit={"kind": "cookie"})).apply(split(5_000))
    releases = set()
    for _ in range(30):
        with httpx.Client() as client:  # a new client each time: no cookie yet
            first = client.get(nginx.url)
            cookie = first.headers["Set-Cookie"]
            assert cookie.startswith("rollwise_unit=")
            assert "HttpOnly" in cookie
            again = [client.get(nginx.url) for _ in range(5)]
        assert {response.text for response in again} == {first.text}
        assert all("Set-Cookie" not in response.headers for response in again)
        releases.add(first.text)
    assert releases == {"v1", "v2"}  # at 50%, thirty new clients land on both


def test_a_configuration_nginx_refuses_is_never_left_in_place(
    nginx: Nginx, upstreams: dict[str, list[str]]
) -> None:
    good = NginxRouter(nginx.router_config(upstreams, unit=HEADER_UNIT))
    good.apply(split(0))
    before = {path.name: path.read_text() for path in nginx.include_dir.iterdir()}
    broken = NginxRouter(
        nginx.router_config({**upstreams, "v2": ["127.0.0.1:99999"]}, unit=HEADER_UNIT)
    )
    with pytest.raises(RoutingError, match="nginx refused") as refused:
        broken.apply(split(10_000, revision=2))
    assert "port" in str(refused.value)
    after = {path.name: path.read_text() for path in nginx.include_dir.iterdir()}
    assert after == before  # the last good files, and no temporary file left behind
    with httpx.Client() as client:
        assert on_canary(client, nginx.url) == set()  # still serving the last good split


def test_a_release_without_servers_is_refused_before_nginx_is_touched(
    nginx: Nginx, upstreams: dict[str, list[str]]
) -> None:
    router = NginxRouter(nginx.router_config({"v1": upstreams["v1"]}, unit=HEADER_UNIT))
    with pytest.raises(RoutingError, match="no servers configured for 'v2'"):
        router.apply(split(1_000))
    assert list(nginx.include_dir.iterdir()) == []


@pytest.mark.slow
def test_no_request_fails_because_of_switching_across_fifty_reloads(
    nginx: Nginx, upstreams: dict[str, list[str]]
) -> None:
    router = NginxRouter(nginx.router_config(upstreams, unit=HEADER_UNIT))
    router.apply(split(0))
    stop = threading.Event()
    outcomes: list[int] = []
    failures: list[str] = []

    def load() -> None:
        # A connection per request, as counted by a load balancer's health of new requests:
        # a client reusing an idle keep-alive connection can race the old worker closing
        # it (HTTP clients retry that case; docs/releases.md), which is not a failed switch.
        with httpx.Client(timeout=10, limits=httpx.Limits(max_keepalive_connections=0)) as client:
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    response = client.get(nginx.url, headers={"X-User": f"u{n % 500}"})
                    outcomes.append(response.status_code)
                    if response.status_code != 200:
                        failures.append(f"{response.status_code} {response.text[:80]}")
                except httpx.HTTPError as error:
                    failures.append(repr(error))

    workers = [threading.Thread(target=load) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        for reload in range(50):
            router.apply(split((reload % 10 + 1) * 1_000, revision=reload + 2))
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert failures == []
    assert len(outcomes) > 50
