"""A database outage is a 503 ``database_unavailable`` with ``Retry-After``, not a 500.

The control plane talks to the machine's PostgreSQL through a TCP relay the test owns;
stopping the relay (listener closed, every connection cut) is the outage.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import suppress

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from rollwise.server import create_app

from .._db import fresh_postgres_database
from ._support import ADMIN, bearer, settings


class Relay:
    """Forwards 127.0.0.1:<port> to PostgreSQL's TCP port until :meth:`stop`."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.stopped = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                if self.stopped:  # accepted while stopping: cut it too
                    client.close()
                    upstream.close()
                    return
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def stop(self) -> None:
        self.listener.close()
        with self.lock:
            self.stopped = True
            for sock in self.sockets:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


@pytest.fixture
def relayed_url() -> Iterator[tuple[str, Relay]]:
    with fresh_postgres_database() as url:
        parsed = make_url(url)
        relay = Relay(("127.0.0.1", 5432))
        relayed = parsed.set(host="127.0.0.1", port=relay.port, query={}).render_as_string(
            hide_password=False
        )
        try:
            yield relayed, relay
        finally:
            relay.stop()


def test_a_database_outage_is_a_503_with_retry_after(relayed_url: tuple[str, Relay]) -> None:
    url, relay = relayed_url
    admin = bearer(ADMIN)
    app = create_app(settings(url, token_cache_seconds=60.0))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/api/v1/flags", headers=admin).status_code == 200
        relay.stop()
        response = client.post("/api/v1/environments", json={"key": "staging"}, headers=admin)
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"].isdigit()
        assert response.json()["error"]["code"] == "database_unavailable"
        listing = client.get("/api/v1/flags", headers=admin)
        assert listing.status_code == 503, listing.text
        assert listing.json()["error"]["code"] == "database_unavailable"
