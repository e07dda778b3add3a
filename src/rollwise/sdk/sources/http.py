"""The control plane as a config source: ETag polling plus a Server-Sent Events stream.

``GET /api/v1/sdk/config`` is polled (default every 15 s) with ``If-None-Match``, so an
unchanged config costs a 304 and no body. When the event stream is on (the default), the
server announces each new version at once and the source fetches it: changes arrive within
a second. The last good document is kept on disk (``cache_path``) so that an application
restarted while the control plane is down starts from it.

Start-up never blocks longer than ``startup_timeout``; outages are reported once and
retried with capped, jittered exponential backoff; after ``fork()`` the child gets fresh
threads and a fresh connection pool. A token the control plane refuses (401/403) is its own
kind of problem, reported once (a WARNING naming it, ``health().source_status ==
"token_refused"``) even when the source was already failing for another reason. The server
ends event streams now and then (their maximum lifetime, a revoked token): the source
reconnects, the first event names the current version, and the last document serves
meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import socket
import ssl
import threading
from dataclasses import dataclass
from typing import Any

import httpx

from ...core.flags import ConfigDocument
from ...core.validation import parse_document
from ...errors import ConfigError, SourceError
from .._loop import PollingLoop
from ._cache import DiskCache
from ._sse import parse_events
from .base import ConfigListener

__all__ = ["HttpOptions", "HttpSource"]

_CLOSE_WAIT = 1.0
"""Seconds ``close()`` waits for each background thread."""


@dataclass(frozen=True, slots=True)
class HttpOptions:
    poll_interval: float = 15.0
    stream: bool = True
    cache_path: str | os.PathLike[str] | None = None
    startup_timeout: float = 2.0
    request_timeout: float = 5.0
    max_backoff: float = 60.0


class HttpSource:
    """Configuration from a rollwise control plane, for an sdk token's environment."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        environment: str | None = None,
        options: HttpOptions | None = None,
        transport: httpx.BaseTransport | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.options = options or HttpOptions()
        self._headers = {"Authorization": f"Bearer {token}", "User-Agent": "rollwise-python"}
        self._params = {"environment": environment} if environment else {}
        self._transport = transport
        self._logger = logger or logging.getLogger("rollwise")
        self._cache = DiskCache(self.options.cache_path) if self.options.cache_path else None
        self._etag: str | None = None
        self._listener: ConfigListener | None = None
        self._client: httpx.Client | None = None
        self._tls: ssl.SSLContext | None = None  # shared by this source's clients
        self._pid = os.getpid()
        self._fetch_lock = threading.Lock()
        self._outage: str | None = None  # the last problem's kind, while problems last
        self._reported: set[str] = set()  # the kinds of problem reported since the last answer
        self._startup_problem: SourceError | None = None
        self._poll = PollingLoop(
            "rollwise-http-poll", self.options.poll_interval, self.refresh, self._logger
        )
        self._stopping = threading.Event()
        self._stream_thread: threading.Thread | None = None
        self._stream_response: httpx.Response | None = None

    # -- ConfigSource ----------------------------------------------------------------------

    def initial(self) -> tuple[Any, str] | None:
        """One fetch bounded as a whole; on failure, the disk cache; else a SourceError.

        A document the client could not use (the control plane newer than this SDK, say)
        counts as a failure here too, so a good cached one is preferred to serving nothing.
        """
        try:
            response = self._fetch_within(self.options.startup_timeout)
            received = self._accept_response(response)
            document = _usable(received) if received is not None else None
        except (httpx.HTTPError, SourceError) as error:
            problem = self._problem(error)
            self._outage = _kind(problem)
            self._reported = {self._outage}  # raised to the client now, or handed over later
            cached = self._cache.load() if self._cache is not None else None
            if cached is None:
                raise problem from None
            path = self._cache.path if self._cache else ""
            self._startup_problem = SourceError(
                f"{problem}; started from the cached configuration {path}", **problem.details
            )
            document, self._etag = cached
            return document, f"cache:{self._cache.path if self._cache else ''}"
        if document is None:  # 304 cannot happen without an ETag; treat as nothing yet
            return None
        self._remember(received, response.headers.get("ETag"))
        return document, self._config_url  # a model already: not validated a second time

    def _fetch_within(self, seconds: float) -> httpx.Response:
        """``GET`` the config, giving up after ``seconds`` in all (DNS and a server that
        trickles its answer included): httpx bounds each phase, not the whole request, so
        the request runs on a daemon thread that is abandoned, not awaited, past the bound.
        """
        half = seconds / 2
        timeout = httpx.Timeout(half, connect=half, pool=half)
        outcome: list[httpx.Response | Exception] = []

        def fetch() -> None:
            try:
                with self._new_client(timeout) as client:
                    outcome.append(client.get(self._config_url, params=self._params))
            except Exception as error:  # noqa: BLE001 - the fetch thread's boundary: handed over
                outcome.append(error)

        worker = threading.Thread(target=fetch, name="rollwise-http-initial", daemon=True)
        worker.start()
        worker.join(seconds)
        if not outcome:
            raise SourceError(
                f"the control plane at {self.base_url} did not answer within {seconds:g}s",
                url=self.base_url,
            )
        result = outcome[0]
        if isinstance(result, Exception):
            raise self._problem(result)
        return result

    def startup_problem(self) -> SourceError | None:
        """What ``initial()`` worked around by serving the disk cache, handed over once (the
        client reports it at construction; otherwise ``start()`` does)."""
        problem, self._startup_problem = self._startup_problem, None
        return problem

    def start(self, listener: ConfigListener) -> None:
        if self._pid != os.getpid():  # a forked child: nothing of the parent's is usable
            self._after_fork()
        self._listener = listener
        problem = self.startup_problem()
        if problem is not None:
            listener.source_failed(problem)
        if self._client is None:
            self._client = self._new_client(httpx.Timeout(self.options.request_timeout))
        self._poll.start()
        if self.options.stream and not (self._stream_thread and self._stream_thread.is_alive()):
            self._stopping = threading.Event()
            self._stream_thread = threading.Thread(
                target=self._stream_forever, name="rollwise-http-stream", daemon=True
            )
            self._stream_thread.start()
        if self._outage is not None:  # initial() fell back to the cache: try again now
            threading.Thread(target=self.refresh, name="rollwise-http-first", daemon=True).start()

    def close(self) -> None:
        """Stop polling and streaming; waits about a second at most for the threads.

        A thread still inside a request after that (a control plane that does not answer)
        is a daemon that delivers nothing any more and ends with its request's timeout.
        """
        self._stopping.set()
        self._listener = None
        self._poll.stop(_CLOSE_WAIT)
        response = self._stream_response
        if response is not None:
            _interrupt(response)
            response.close()
        client, self._client = self._client, None
        if client is not None:
            client.close()
        thread = self._stream_thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(_CLOSE_WAIT)
        self._stream_thread = None

    # -- fetching ----------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Fetch once now (conditional on the ETag); True when a new config was delivered."""
        listener, client = self._listener, self._client
        if listener is None or client is None:
            return False
        with self._fetch_lock:
            headers = {"If-None-Match": self._etag} if self._etag else {}
            try:
                response = client.get(self._config_url, params=self._params, headers=headers)
                document = self._accept_response(response)
            except (httpx.HTTPError, SourceError) as error:
                self._report(listener, self._problem(error))
                return False
            self._recovered()
            if document is None:
                return False
            if not listener.config_received(document, self._config_url):
                return False  # invalid: the client keeps its config; the cache keeps it too
            self._remember(document, response.headers.get("ETag"))
            return True

    def _accept_response(self, response: httpx.Response) -> Any:
        if response.status_code == 304:
            return None
        if response.status_code in (401, 403):
            raise self._refused(response)
        if response.status_code != 200:
            raise SourceError(
                f"the control plane answered {response.status_code}: {_message(response)}",
                status=response.status_code,
            )
        try:
            return response.json()
        except (ValueError, RecursionError):  # RecursionError: nesting beyond the parser's
            raise SourceError("the control plane sent a body that is not JSON") from None

    def _remember(self, document: Any, etag: str | None) -> None:
        """Keep the ETag and cache ``document``: callers pass only a usable one."""
        self._etag = etag
        if self._cache is None:
            return
        try:
            self._cache.save(document, etag)
        except OSError as error:
            self._logger.warning(
                "rollwise: cannot write the config cache %s: %s", self._cache.path, error
            )

    # -- the event stream --------------------------------------------------------------------

    def _stream_forever(self) -> None:
        delay = 1.0
        stopping = self._stopping
        while not stopping.is_set():
            client = self._client
            if client is None:
                return
            try:
                timeout = httpx.Timeout(self.options.request_timeout, read=60.0)
                with client.stream(
                    "GET", self._stream_url, params=self._params, timeout=timeout
                ) as response:
                    self._stream_response = response
                    if response.status_code != 200:
                        response.read()
                        if response.status_code in (401, 403):
                            raise self._refused(response)
                        raise SourceError(
                            f"the event stream answered {response.status_code}: "
                            f"{_message(response)}",
                            status=response.status_code,
                        )
                    delay = 1.0
                    self._recovered()
                    for event in parse_events(response.iter_lines()):
                        if event.retry is not None:
                            delay = max(0.1, event.retry / 1000)
                        if event.event == "config" and _etag_of(event.data) != self._etag:
                            self.refresh()
                        if stopping.is_set():
                            return
            except Exception as error:  # noqa: BLE001 - the refresh loop's boundary (reported)
                if stopping.is_set():
                    return
                listener = self._listener
                if listener is not None:
                    self._report(listener, self._problem(error))
            finally:
                self._stream_response = None
            if stopping.wait(delay * random.uniform(0.8, 1.2)):
                return
            delay = min(self.options.max_backoff, delay * 2)

    # -- helpers -----------------------------------------------------------------------------

    @property
    def _config_url(self) -> str:
        return f"{self.base_url}/api/v1/sdk/config"

    @property
    def _stream_url(self) -> str:
        return f"{self.base_url}/api/v1/sdk/stream"

    def _new_client(self, timeout: httpx.Timeout) -> httpx.Client:
        """A client on this source's one TLS context: given none, httpx builds one per client
        (the CA bundle read, ~40 ms of CPU), and the first fetch and the poll each make one.
        A racing first use may build two; either is as good."""
        if self._tls is None:
            self._tls = httpx.create_ssl_context()
        return httpx.Client(
            headers=self._headers, timeout=timeout, transport=self._transport, verify=self._tls
        )

    def _problem(self, error: Exception) -> SourceError:
        """Any failure of talking to the control plane, as the SourceError reported."""
        if isinstance(error, SourceError):
            return error
        if isinstance(error, httpx.HTTPError):
            return self._unreachable(error)
        return SourceError(
            f"talking to the control plane at {self.base_url} failed: {error!r}", url=self.base_url
        )

    def _unreachable(self, error: httpx.HTTPError) -> SourceError:
        return SourceError(
            f"cannot reach the control plane at {self.base_url}: {type(error).__name__}: {error}",
            url=self.base_url,
        )

    def _refused(self, response: httpx.Response) -> SourceError:
        return SourceError(
            f"the sdk token was refused by the control plane at {self.base_url} "
            f"({response.status_code}: {_message(response)}): check the token and the "
            "environment it is bound to",
            status=response.status_code,
            reason="token_refused",
        )

    def _report(self, listener: ConfigListener, error: SourceError) -> None:
        """Each kind of problem once until the control plane answers again, not once per
        retry (a refused token after an outage is still said)."""
        kind = _kind(error)
        self._outage = kind
        if kind not in self._reported:
            self._reported.add(kind)
            listener.source_failed(error)

    def _recovered(self) -> None:
        if self._outage is not None:
            self._logger.info("rollwise: the control plane at %s answers again", self.base_url)
            self._outage = None
            self._reported = set()
            recovered = getattr(self._listener, "source_recovered", None)
            if callable(recovered):
                recovered()

    def _after_fork(self) -> None:
        self._pid = os.getpid()
        self._client = None  # the parent's pool belongs to the parent
        self._fetch_lock = threading.Lock()
        self._stream_thread = None
        self._stream_response = None
        self._stopping = threading.Event()


def _kind(error: SourceError) -> str:
    """What makes two failures the same problem: a refused token, a status, no answer."""
    return str(error.details.get("reason") or error.details.get("status") or "unreachable")


def _usable(received: Any) -> ConfigDocument:
    try:
        return parse_document(received, strict=False)  # a newer control plane may add keys
    except ConfigError as error:
        message = f"the control plane sent a configuration this SDK cannot use: {error}"
        raise SourceError(message) from None


def _etag_of(data: str) -> str | None:
    try:
        value = json.loads(data).get("etag")
    except (ValueError, AttributeError, RecursionError):
        return None
    return value if isinstance(value, str) else None


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


def _interrupt(response: httpx.Response) -> None:
    """Wake the stream thread blocked reading ``response``: shut its socket down.

    Closing a response from another thread does not interrupt a blocked read, and an idle
    stream only speaks at keep-alives (every 15 s), so ``close()`` would wait that long.
    """
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
