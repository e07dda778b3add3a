"""The HTTP source against a real control plane on loopback (SQLite behind it)."""

from __future__ import annotations

import json
import logging
import os
import select
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

import rollwise
from rollwise import HttpOptions, HttpSource, Reason

from .._support.net import free_port
from .._support.waiting import wait_until
from ..server._support import ADMIN, app_for, bearer, live_server, make_token, seed

STATE_URL = "/api/v1/flags/checkout/environments/production"


@contextmanager
def control_plane(tmp_path: Path) -> Iterator[tuple[FastAPI, str]]:
    """A seeded app (flag checkout at 10% domain) and an sdk token for production."""
    app = app_for(f"sqlite:///{tmp_path / 'cp.db'}")
    with TestClient(app) as setup:
        seed(setup)
        secret = make_token(setup, "sdk", "production")
    yield app, secret


def _set_share(url: str, share: int) -> None:
    with httpx.Client(base_url=url, headers=bearer(ADMIN)) as admin:
        version = admin.get(STATE_URL).json()["version"]
        body = {"split": {"legacy": 10000 - share, "domain": share}, "version": version}
        assert admin.put(STATE_URL, json=body).status_code == 200


def _config_requests(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics").text
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "rollwise_http_requests_total"
                and sample.labels.get("route") == "/api/v1/sdk/config"
            ):
                counts[sample.labels["status"]] = sample.value
    return counts


class _Counting(httpx.HTTPTransport):
    """A real transport that counts the answers it got (polls and stream attempts)."""

    def __init__(self) -> None:
        super().__init__()
        self.answers = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        self.answers += 1
        return response


def _stream_requests(url: str) -> float:
    text = httpx.get(f"{url}/metrics").text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "rollwise_http_requests_total"
        and sample.labels.get("route") == "/api/v1/sdk/stream"
    )


def _options(tmp_path: Path, **overrides: Any) -> HttpOptions:
    values: dict[str, Any] = {
        "poll_interval": 0.1,
        "cache_path": tmp_path / "cache.json",
        "startup_timeout": 2.0,
    }
    values.update(overrides)
    return HttpOptions(**values)


def test_initial_fetch_then_304s_while_nothing_changes(tmp_path: Path) -> None:
    with control_plane(tmp_path) as (app, secret), live_server(app) as url:
        source = HttpSource(url, secret, options=_options(tmp_path, stream=False))
        with rollwise.Client(source) as client:
            assert client.revision is not None
            assert client.evaluate("checkout", {"user_id": "u"}).reason == Reason.SPLIT
            assert wait_until(lambda: _config_requests(url).get("304", 0) >= 3)
        counts = _config_requests(url)
        assert counts["200"] == 1
        assert json.loads((tmp_path / "cache.json").read_text())["etag"]


def test_a_change_arrives_through_the_event_stream(tmp_path: Path) -> None:
    with control_plane(tmp_path) as (app, secret), live_server(app) as url:
        source = HttpSource(url, secret, options=_options(tmp_path, poll_interval=3600))
        with rollwise.Client(source) as client:
            before = client.revision
            assert client.variant("checkout", {"user_id": "u-1"}) in {"legacy", "domain"}
            _set_share(url, 10000)
            assert wait_until(lambda: client.revision != before, timeout=5)
            assert client.variant("checkout", {"user_id": "u-1"}) == "domain"


def test_start_with_the_server_down_uses_the_disk_cache(tmp_path: Path) -> None:
    with control_plane(tmp_path) as (app, secret):
        with live_server(app) as url:
            HttpSource(url, secret, options=_options(tmp_path)).initial()  # fills the cache
            _set_share(url, 10000)
            HttpSource(url, secret, options=_options(tmp_path)).initial()
        started = time.monotonic()
        client = rollwise.Client(HttpSource(url, secret, options=_options(tmp_path)))
        assert time.monotonic() - started < 10
        assert client.variant("checkout", {"user_id": "anyone"}) == "domain"
        assert client.health().origin is not None
        assert client.health().origin.startswith("cache:")  # type: ignore[union-attr]


def test_start_with_the_server_down_and_no_cache_serves_defaults(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    client = rollwise.Client(HttpSource(url, "rw_sdk_x", options=_options(tmp_path)))
    assert client.evaluate("checkout", {"user_id": "u"}).reason == Reason.UNKNOWN_FLAG
    assert "cannot reach the control plane" in (client.health().last_source_error or "")


def test_outage_keeps_the_config_and_updates_resume(tmp_path: Path) -> None:
    port = free_port()
    with control_plane(tmp_path) as (app, secret):
        with live_server(app, port) as url:
            source = HttpSource(url, secret, options=_options(tmp_path, max_backoff=0.5))
            client = rollwise.Client(source).start()
        try:
            assert wait_until(lambda: client.health().errors.get("source_error", 0) >= 1)
            assert client.evaluate("checkout", {"user_id": "u"}).reason == Reason.SPLIT
            errors_during_outage = client.health().errors["source_error"]
            time.sleep(0.5)  # many failed polls, one report
            assert client.health().errors["source_error"] == errors_during_outage
            with live_server(app_for(f"sqlite:///{tmp_path / 'cp.db'}"), port) as again:
                _set_share(again, 10000)
                assert wait_until(lambda: client.variant("checkout", {"user_id": "u"}) == "domain")
        finally:
            client.close()


def test_an_invalid_document_keeps_the_last_good_config_and_cache(tmp_path: Path) -> None:
    good = {
        "revision": "good",
        "flags": [{"key": "f", "environments": {"production": {"default": "on"}}}],
    }
    bad = {"revision": "bad", "flags": [{"key": "f", "variants": ["a", "a"]}]}
    served = [good]

    def handler(request: httpx.Request) -> httpx.Response:
        document = served[-1]
        return httpx.Response(200, json=document, headers={"ETag": f'"{document["revision"]}"'})

    source = HttpSource(
        "http://control-plane.invalid",
        "t",
        options=_options(tmp_path, stream=False, poll_interval=3600),
        transport=httpx.MockTransport(handler),
    )
    with rollwise.Client(source) as client:
        assert client.revision == "good"
        served.append(bad)
        assert source.refresh() is False
        assert client.revision == "good"
        assert "duplicate variant" in (client.health().last_source_error or "")
    assert json.loads((tmp_path / "cache.json").read_text())["document"]["revision"] == "good"


def _refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "sdk token was refused" in r.getMessage()]


def test_a_refused_token_is_logged_once_and_kept_in_health(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rollwise")
    with control_plane(tmp_path) as (app, _), live_server(app) as url:
        counting = _Counting()
        source = HttpSource(
            url, "rw_sdk_wrong", options=_options(tmp_path, max_backoff=0.2), transport=counting
        )
        with rollwise.Client(source) as client:
            health = client.health()
            assert health.source_status == "token_refused"
            assert "sdk token was refused" in (health.last_source_error or "")
            assert "(401" in (health.last_source_error or "")
            assert client.revision is None
            assert wait_until(lambda: counting.answers >= 8)
            assert client.health().source_status == "token_refused"
        refusals = _refusals(caplog)
        assert len(refusals) == 1  # many refused polls and stream attempts, one line
        assert refusals[0].levelno == logging.WARNING


def test_a_refused_token_is_reported_when_starting_from_the_cache(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The disk cache serves, and health and the log still say the token is refused."""
    caplog.set_level(logging.INFO, logger="rollwise")
    with control_plane(tmp_path) as (app, secret), live_server(app) as url:
        HttpSource(url, secret, options=_options(tmp_path)).initial()  # fills the cache
        counting = _Counting()
        source = HttpSource(
            url, "rw_sdk_wrong", options=_options(tmp_path, max_backoff=0.2), transport=counting
        )
        client = rollwise.Client(source)
        assert client.health().origin.startswith("cache:")  # type: ignore[union-attr]
        assert client.health().source_status == "token_refused"
        with client:
            assert wait_until(lambda: counting.answers >= 8)
            assert client.health().source_status == "token_refused"
            assert client.evaluate("checkout", {"user_id": "u"}).reason == Reason.SPLIT
        assert len(_refusals(caplog)) == 1


def test_a_token_refused_after_an_outage_is_still_reported(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with control_plane(tmp_path) as (app, _):
        source = HttpSource(url, "rw_sdk_wrong", options=_options(tmp_path, max_backoff=0.2))
        client = rollwise.Client(source).start()  # the control plane is down: unreachable
        try:
            assert client.health().source_status == "failing"
            with live_server(app, port):
                assert wait_until(lambda: client.health().source_status == "token_refused")
        finally:
            client.close()


@pytest.mark.slow  # a real stream ended, then the SDK's reconnection
def test_a_revoked_token_is_reported_by_a_running_client(tmp_path: Path) -> None:
    """The server ends the revoked token's event stream; the SDK reconnects, is refused,
    and says so, while it keeps evaluating with the last document."""
    with (
        control_plane(tmp_path) as (app, _),
        live_server(app) as url,
        httpx.Client(base_url=url, headers=bearer(ADMIN)) as admin,
    ):
        body = {"name": "doomed", "scope": "sdk", "environment": "production"}
        created = admin.post("/api/v1/tokens", json=body).json()
        source = HttpSource(url, created["secret"], options=_options(tmp_path, poll_interval=3600))
        with rollwise.Client(source) as client:
            assert wait_until(lambda: app.state.hub.streams() == 1, timeout=20)
            assert admin.post(f"/api/v1/tokens/{created['token']['id']}/revoke").status_code == 200
            assert wait_until(lambda: client.health().source_status == "token_refused", timeout=20)
            assert client.evaluate("checkout", {"user_id": "u"}).reason == Reason.SPLIT


@pytest.mark.slow  # three real stream lifetimes and reconnections
def test_the_stream_reconnects_after_its_lifetime_and_still_hears_changes(
    tmp_path: Path,
) -> None:
    app = app_for(f"sqlite:///{tmp_path / 'cp.db'}", sse_max_lifetime_seconds=0.5)
    with TestClient(app) as setup:
        seed(setup)
        secret = make_token(setup, "sdk", "production")
    with live_server(app) as url:
        source = HttpSource(url, secret, options=_options(tmp_path, poll_interval=3600))
        with rollwise.Client(source) as client:
            before = client.revision
            assert wait_until(lambda: _stream_requests(url) >= 3, timeout=30)
            assert client.variant("checkout", {"user_id": "u-1"}) in {"legacy", "domain"}
            _set_share(url, 10000)
            assert wait_until(lambda: client.revision != before, timeout=15)
            assert client.variant("checkout", {"user_id": "u-1"}) == "domain"
            health = client.health()
            assert health.source_status == "ok"
            assert "source_error" not in health.errors  # a stream's end is not a failure


def test_a_forked_child_keeps_receiving_updates(tmp_path: Path) -> None:
    with control_plane(tmp_path) as (app, secret), live_server(app) as url:
        source = HttpSource(url, secret, options=_options(tmp_path, poll_interval=0.1))
        client = rollwise.Client(source).start()
        user = next(
            {"user_id": f"u{n}"}
            for n in range(100)
            if client.variant("checkout", {"user_id": f"u{n}"}) == "legacy"
        )
        try:
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child
                os.close(read_end)
                result = "timeout"
                try:
                    deadline = time.monotonic() + 15
                    while time.monotonic() < deadline:
                        if client.variant("checkout", user) == "domain":
                            result = "updated"
                            break
                        time.sleep(0.02)
                except BaseException as error:
                    result = repr(error)
                finally:
                    os.write(write_end, result.encode())
                    os._exit(0)
            os.close(write_end)
            time.sleep(0.3)
            _set_share(url, 10000)
            ready, _, _ = select.select([read_end], [], [], 25)
            assert ready, "the child did not report"
            outcome = os.read(read_end, 1000).decode()
            os.close(read_end)
            os.waitpid(pid, 0)
            assert outcome == "updated"
        finally:
            client.close()


def test_close_interrupts_an_idle_event_stream(tmp_path: Path) -> None:
    """A stream waiting for the next keep-alive (a minute away) stops when closed."""
    app = app_for(f"sqlite:///{tmp_path / 'cp.db'}", sse_keepalive_seconds=60.0)
    with TestClient(app) as setup:
        seed(setup)
        secret = make_token(setup, "sdk", "production")
    with live_server(app) as url:
        source = HttpSource(url, secret, options=_options(tmp_path, poll_interval=3600))
        client = rollwise.Client(source).start()
        assert wait_until(lambda: source._stream_response is not None, timeout=5)
        thread = source._stream_thread
        assert thread is not None
        client.close()
        assert not thread.is_alive()


def _mock_source(tmp_path: Path, handler: Any, **options: Any) -> HttpSource:
    return HttpSource(
        "http://control-plane.invalid",
        "t",
        options=_options(tmp_path, stream=False, poll_interval=3600, **options),
        transport=httpx.MockTransport(handler),
    )


GOOD = {
    "revision": "good",
    "flags": [{"key": "f", "environments": {"production": {"default": "on"}}}],
}


def test_start_up_is_bounded_as_a_whole_even_when_the_server_never_finishes(
    tmp_path: Path,
) -> None:
    answer = threading.Event()

    def stalls(request: httpx.Request) -> httpx.Response:  # a server trickling its answer
        answer.wait(30)
        return httpx.Response(200, json=GOOD)

    try:
        client = rollwise.Client(_mock_source(tmp_path, stalls, startup_timeout=0.3))
        assert not answer.is_set()  # construction returned while the server still "answered"
        assert "did not answer within 0.3s" in (client.health().last_source_error or "")
        assert client.evaluate("f").reason == Reason.UNKNOWN_FLAG
    finally:
        answer.set()


def test_an_unusable_document_at_start_up_falls_back_to_the_cache(tmp_path: Path) -> None:
    served = [GOOD]

    def handler(request: httpx.Request) -> httpx.Response:
        document = served[-1]
        return httpx.Response(200, json=document, headers={"ETag": f'"{len(served)}"'})

    assert _mock_source(tmp_path, handler).initial() is not None  # fills the cache
    served.append({"revision": "newer", "flags": "a shape this SDK does not know"})
    with rollwise.Client(_mock_source(tmp_path, handler)) as client:
        assert client.revision == "good"
        assert client.health().origin.startswith("cache:")  # type: ignore[union-attr]
        assert "flags: Input should be a valid list" in (client.health().last_source_error or "")
        served.append(GOOD | {"revision": "fixed"})  # the server is fixed: picked up
        assert client._source.refresh() is True  # type: ignore[attr-defined]
        assert client.revision == "fixed"


def test_a_body_nested_beyond_the_json_parser_is_a_source_error_not_a_crash(
    tmp_path: Path,
) -> None:
    def nested(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"[" * 100_000 + b"]" * 100_000)

    client = rollwise.Client(_mock_source(tmp_path, nested))
    assert "not JSON" in (client.health().last_source_error or "")
