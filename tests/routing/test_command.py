"""The command router: a real subprocess and a real webhook receiver get the split."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from rollwise.routing import CommandRouter, CommandRouterConfig, RouteSplit, RoutingError

SPLIT = RouteSplit("camera", "production", 9, (("v1", 7_500), ("v2", 2_500)), "camera")


def test_a_command_gets_the_split_as_json_on_stdin_and_in_the_environment(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    script = (
        "import json, os, sys; data = json.load(sys.stdin); "
        "data['env'] = json.loads(os.environ['ROLLWISE_SPLIT']); "
        f"open({str(out)!r}, 'w').write(json.dumps(data))"
    )
    router = CommandRouter(CommandRouterConfig(command=[sys.executable, "-c", script]))
    applied = router.apply(SPLIT)
    written = json.loads(out.read_text())
    assert written["weights"] == [
        {"release": "v1", "basis_points": 7_500, "percent": 75.0},
        {"release": "v2", "basis_points": 2_500, "percent": 25.0},
    ]
    assert written["env"]["revision"] == 9
    assert written["flag"] == "camera"
    assert applied.split is SPLIT


def test_a_failing_command_is_a_routing_error_with_what_it_said() -> None:
    script = "import sys; sys.stderr.write('haproxy: backend v2 unknown'); sys.exit(3)"
    router = CommandRouter(CommandRouterConfig(command=[sys.executable, "-c", script]))
    with pytest.raises(RoutingError, match=r"exit 3\): haproxy: backend v2 unknown"):
        router.apply(SPLIT)


def test_a_missing_program_is_named() -> None:
    router = CommandRouter(CommandRouterConfig(command=["/nonexistent/switch-traffic"]))
    with pytest.raises(RoutingError, match="was not found"):
        router.apply(SPLIT)


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.server.received.append(  # type: ignore[attr-defined]
            (dict(self.headers), json.loads(self.rfile.read(length)))
        )
        status = self.server.status  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def receiver() -> Iterator[Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []  # type: ignore[attr-defined]
    server.status = 204  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_a_webhook_gets_the_split_and_its_headers(receiver: Any) -> None:
    url = f"http://127.0.0.1:{receiver.server_address[1]}/weights"
    router = CommandRouter(CommandRouterConfig(webhook=url, headers={"X-Api-Key": "k"}))
    router.apply(SPLIT)
    headers, body = receiver.received[0]
    assert headers["X-Api-Key"] == "k"
    assert body["weights"][1] == {"release": "v2", "basis_points": 2_500, "percent": 25.0}


def test_a_webhook_refusing_is_a_routing_error(receiver: Any) -> None:
    receiver.status = 409
    url = f"http://127.0.0.1:{receiver.server_address[1]}/weights"
    with pytest.raises(RoutingError, match="answered 409"):
        CommandRouter(CommandRouterConfig(webhook=url)).apply(SPLIT)


def test_exactly_one_of_command_and_webhook() -> None:
    with pytest.raises(ValueError, match="exactly one of 'command' and 'webhook'"):
        CommandRouterConfig()
