"""The request guard on a real uvicorn server: no body is read before the token is checked,
and none beyond its route's limit; the server keeps answering meanwhile."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rollwise.server import ServerSettings, create_app
from rollwise.server.guard import RequestGuard
from rollwise.server.limits import BodyLimits
from rollwise.server.routers._telemetry_models import MAX_TELEMETRY_BATCH_BYTES

from ._support import ADMIN, app_for, bearer, live_server

HUNDRED_MB = 100 * 1024 * 1024
API_LIMIT = 4096
TELEMETRY_LIMIT = 65536


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    app = app_for(
        f"sqlite:///{tmp_path / 'guard.db'}",
        max_body_bytes=API_LIMIT,
        max_telemetry_body_bytes=TELEMETRY_LIMIT,
    )
    with live_server(app) as base:
        yield base


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)), timeout=30)
    return connection


def _head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _response(connection: socket.socket) -> tuple[int, dict[str, str], dict[str, object]]:
    """Status, headers and JSON body of one response (the body read by Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    while len(body) < int(headers["content-length"]):
        chunk = connection.recv(65536)
        assert chunk
        body += chunk
    return int(status_line.split()[1]), headers, json.loads(body)


def _closed_by_server(connection: socket.socket) -> bool:
    """True once the server closed the connection (EOF or reset); a socket timeout (30 s)
    fails the test instead."""
    try:
        while connection.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return True


def test_an_unauthenticated_huge_body_is_refused_unread(url: str) -> None:
    with _connect(url) as connection:
        connection.sendall(
            _head(
                "POST",
                "/api/v1/flags",
                {"Content-Type": "application/json", "Content-Length": str(HUNDRED_MB)},
            )
        )
        connection.sendall(b"[" * 65536)  # 64 KiB of the announced 100 MB, and no more
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
        status, headers, body = _response(connection)
        assert status == 401
        assert body["error"]["code"] == "unauthorized"  # type: ignore[index]
        assert headers["connection"] == "close"
        assert _closed_by_server(connection)
    assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200


def test_a_declared_length_over_the_limit_is_refused_before_the_body(url: str) -> None:
    with _connect(url) as connection:
        connection.sendall(
            _head(
                "POST",
                "/api/v1/flags",
                {
                    "Authorization": f"Bearer {ADMIN}",
                    "Content-Type": "application/json",
                    "Content-Length": str(HUNDRED_MB),
                },
            )
        )
        status, headers, body = _response(connection)
        assert status == 413
        error = body["error"]
        assert error["code"] == "payload_too_large"  # type: ignore[index]
        assert error["details"] == {"limit_bytes": API_LIMIT}  # type: ignore[index]
        assert headers["connection"] == "close"


def test_a_chunked_body_is_cut_off_at_the_limit(url: str) -> None:
    """The client sends just over the limit and never ends the body: the answer comes
    anyway, so the server stopped reading at the limit."""
    with _connect(url) as connection:
        connection.sendall(
            _head(
                "POST",
                "/api/v1/environments",
                {
                    "Authorization": f"Bearer {ADMIN}",
                    "Content-Type": "application/json",
                    "Transfer-Encoding": "chunked",
                },
            )
        )
        chunk = b" " * 1024
        for _ in range(API_LIMIT // len(chunk) + 1):
            connection.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        status, _, body = _response(connection)
        assert status == 413
        assert body["error"]["code"] == "payload_too_large"  # type: ignore[index]


def test_a_chunked_body_within_the_limit_is_served(url: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"key": '
        yield b'"chunked"}'

    response = httpx.post(
        f"{url}/api/v1/environments",
        content=chunks(),
        headers={**bearer(ADMIN), "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 201, response.text


def test_telemetry_has_its_own_larger_limit(url: str) -> None:
    padding = " " * (API_LIMIT * 2)
    body = f'{{"batch_id": "b-0000001", "instance": "i"{padding}}}'
    flags = httpx.post(
        f"{url}/api/v1/flags",
        content=body,
        headers={**bearer(ADMIN), "Content-Type": "application/json"},
        timeout=10,
    )
    assert flags.status_code == 413
    telemetry = httpx.post(
        f"{url}/api/v1/sdk/telemetry?environment=nowhere",
        content=body,
        headers={**bearer(ADMIN), "Content-Type": "application/json"},
        timeout=10,
    )
    assert telemetry.status_code != 413, telemetry.text
    too_big = httpx.post(
        f"{url}/api/v1/sdk/telemetry?environment=nowhere",
        content=" " * (TELEMETRY_LIMIT + 1),
        headers={**bearer(ADMIN), "Content-Type": "application/json"},
        timeout=10,
    )
    assert too_big.status_code == 413
    assert too_big.json()["error"]["details"] == {"limit_bytes": TELEMETRY_LIMIT}


def test_a_body_is_not_read_for_a_wrong_token_either(url: str) -> None:
    with _connect(url) as connection:
        connection.sendall(
            _head(
                "PUT",
                "/api/v1/flags/x/environments/production",
                {"Authorization": "Bearer not-a-token-at-all-0000", "Content-Length": "5000000"},
            )
        )
        status, headers, _ = _response(connection)
        assert status == 401
        assert headers["connection"] == "close"


def test_by_default_telemetry_takes_the_largest_batch_and_api_writes_1_mib(tmp_path: Path) -> None:
    """The telemetry route's limit is the batch size the telemetry routes define (one
    constant); every other route has the API limit."""
    app = create_app(ServerSettings(database_url=f"sqlite:///{tmp_path / 'defaults.db'}"))
    (guard,) = [m for m in app.user_middleware if getattr(m, "cls", None) is RequestGuard]
    limits = guard.kwargs["limits"]
    assert isinstance(limits, BodyLimits)
    assert limits.for_request("POST", "/api/v1/sdk/telemetry") == MAX_TELEMETRY_BATCH_BYTES
    assert MAX_TELEMETRY_BATCH_BYTES >= 16 * 1024 * 1024  # the 15.7 MB batch
    assert limits.for_request("POST", "/api/v1/flags") == 1024 * 1024
    assert limits.for_request("PUT", "/api/v1/sdk/telemetry") == 1024 * 1024
