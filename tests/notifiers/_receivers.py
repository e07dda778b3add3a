"""Real receivers on loopback for notifier tests: an HTTP endpoint and an SMTP sink.

Reusable by the outbox dispatcher's tests: ``HttpReceiver`` records every request and
answers from a script of replies (status, body, headers, or holding the request open until
the receiver closes: a receiver slower than any timeout); ``SmtpSink`` is aiosmtpd on a
free port recording every accepted message, with scripted refusals per recipient or at DATA.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from .._support.net import free_port


@contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound, never listening (so never reused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


# -- HTTP ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    hold: bool = False  # keep the request open until the receiver closes


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: HttpReceiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-answer is part of what the tests exercise


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if len(body) < length:  # the sender died mid-request: nothing was delivered
            self.close_connection = True
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = self.server.receiver._record(Received("POST", self.path, headers, body))
        if reply.hold:
            self.server.receiver._released.wait(60)
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class HttpReceiver:
    """An HTTP server on a loopback port, started by ``with``; ``url`` accepts POSTs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script: list[Reply] = []
        self._received: list[Received] = []
        self._released = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{self.origin}/hook"

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def reply_with(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies`` in order; then 200 ``ok`` again."""
        with self._lock:
            self._script.extend(replies)

    def _record(self, request: Received) -> Reply:
        with self._lock:
            self._received.append(request)
            return self._script.pop(0) if self._script else Reply()

    def __enter__(self) -> HttpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


# -- SMTP ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class _SinkHandler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        refusal = self.sink.refuse_recipients.get(address)
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.sink.refuse_data is not None:
            return self.sink.refuse_data
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=policy.default)
        self.sink._delivered(Delivered(str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class SmtpSink:
    """aiosmtpd on a free loopback port; extra keyword arguments go to its SMTP class."""

    def __init__(
        self,
        *,
        refuse_recipients: dict[str, str] | None = None,
        refuse_data: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        **smtp_options: Any,
    ) -> None:
        self.refuse_recipients = refuse_recipients or {}
        self.refuse_data = refuse_data
        self.port = free_port()
        self._lock = threading.Lock()
        self._messages: list[Delivered] = []
        self._controller = Controller(
            _SinkHandler(self),
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="sink.test",
            ssl_context=ssl_context,
            **smtp_options,
        )

    @property
    def messages(self) -> list[Delivered]:
        with self._lock:
            return list(self._messages)

    def _delivered(self, delivered: Delivered) -> None:
        with self._lock:
            self._messages.append(delivered)

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._controller.stop()


def password_authenticator(username: str, password: str) -> Any:
    """An aiosmtpd authenticator accepting exactly one LOGIN/PLAIN user."""

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == username.encode()
            and data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False)

    return authenticate


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def self_signed_certificate(directory: Path) -> Certificate:
    """A throwaway certificate for 127.0.0.1 and localhost, made by the openssl command."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-nodes", "-days", "2",
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-keyout", str(key), "-out", str(cert),
            "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Certificate(cert, key)
