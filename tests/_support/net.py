"""Loopback ports for servers the tests start, and httpx clients to talk to them."""

from __future__ import annotations

import socket
import ssl
from functools import cache

import httpx


def free_port() -> int:
    """A loopback TCP port nobody listens on right now (the OS picks it; it may be reused
    once released, so bind it soon)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every httpx client a test makes: given none, httpx builds one per
    client and reads the whole CA bundle (30 ms of CPU), even for a plain-http server."""
    return httpx.create_ssl_context()


def loopback_client(base_url: str, timeout: float = 10.0) -> httpx.Client:
    """An httpx client for a server a test started (the shared TLS context: cheap to make)."""
    return httpx.Client(base_url=base_url, timeout=timeout, verify=tls_context())
