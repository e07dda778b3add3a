"""A real nginx (Debian's package, under a private prefix) and tiny backends.

Each backend answers with the release it stands for, which is how a test sees where the
proxy sent a request.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from rollwise.routing.nginx import LocalNginx, local_nginx

Nginx = LocalNginx
HEADER_UNIT = {"kind": "header", "header": "X-User"}


@contextmanager
def running_nginx(directory: Path) -> Iterator[LocalNginx]:
    with local_nginx(directory) as nginx:
        yield nginx


class _Release(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed ACK

    def do_GET(self) -> None:
        body = self.server.release.encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@contextmanager
def backends(*releases: str) -> Iterator[dict[str, list[str]]]:
    """One HTTP server per release, answering its name; yields ``upstreams`` for the router."""
    servers = []
    try:
        for release in releases:
            server = ThreadingHTTPServer(("127.0.0.1", 0), _Release)
            server.daemon_threads = True
            server.release = release  # type: ignore[attr-defined]
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers.append(server)
        yield {
            release: [f"127.0.0.1:{server.server_address[1]}"]
            for release, server in zip(releases, servers, strict=True)
        }
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
