"""POSTing to a receiver over httpx, with every failure classified retryable or permanent.

Shared by the webhook and chat backends. The client is created on first use (no sockets
at construction) and again in a forked child, whose inherited connections belong to the
parent. Error messages name the receiver by origin only: webhook paths often hold secrets.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any, Generic, Protocol, Self, TypeVar

import httpx

from .base import NotificationError

__all__ = ["HttpNotifier", "HttpPoster", "is_retryable_status", "parse_retry_after"]

USER_AGENT = "rollwise-notifier"
_EXCERPT = 300  # characters of an error answer quoted in the error message
_READ_LIMIT = 64 * 1024  # bytes of any answer read before the connection is dropped


def is_retryable_status(status: int) -> bool:
    """5xx, 429 and 408/425 may pass later; any other 4xx (or 3xx) needs a config change."""
    return status >= 500 or status in (408, 425, 429)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def origin(url: httpx.URL) -> str:
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{url.host}{port}"


class HttpPoster:
    """One channel's HTTP client: owned (closed by ``close``) or borrowed from the caller.

    An injected ``client`` or ``transport`` is the caller's to close; the notifier only
    closes the client it created.
    """

    def __init__(
        self,
        channel: str,
        timeout: float,
        *,
        transport: httpx.BaseTransport | None = None,
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.channel = channel
        self.timeout = timeout
        self._transport = transport
        self._borrowed = client
        self._clock = clock
        self._owned: httpx.Client | None = None
        self._pid = 0
        self._lock = threading.Lock()
        self._closed = False

    def post(self, url: str, body: bytes, headers: Mapping[str, str], notification_id: str) -> None:
        """POST ``body``; return on 2xx, raise a classified NotificationError otherwise."""
        target = httpx.URL(url)
        where = origin(target)

        def failure(message: str, *, retryable: bool, **details: Any) -> NotificationError:
            return NotificationError(
                f"{self.channel}: {message}",
                retryable=retryable,
                channel=self.channel,
                notification_id=notification_id,
                receiver=where,
                **details,
            )

        try:
            with self._client().stream(
                "POST",
                target,
                content=body,
                headers={"User-Agent": USER_AGENT, **headers},
                timeout=self.timeout,
            ) as response:
                # A bounded read: enough to reuse the connection after a short answer and
                # to quote an error, never a receiver's arbitrarily large body.
                excerpt = _read_excerpt(response)
        except httpx.TimeoutException as error:
            raise failure(
                f"{where} did not answer within {self.timeout:g}s ({type(error).__name__})",
                retryable=True,
            ) from error
        except httpx.UnsupportedProtocol as error:
            raise failure(f"cannot send to {where}: {error}", retryable=False) from error
        except httpx.TransportError as error:
            raise failure(
                f"cannot reach {where}: {error or type(error).__name__}", retryable=True
            ) from error
        if response.is_success:
            return
        status = response.status_code
        retry_after = None
        if status in (429, 503):
            retry_after = parse_retry_after(response.headers.get("retry-after"), self._clock())
        message = f"{where} answered {status} {response.reason_phrase}"
        if response.is_redirect:
            message += f" to {response.headers.get('location', '?')} (update the channel URL)"
        if excerpt:
            message += f": {excerpt}"
        raise NotificationError(
            f"{self.channel}: {message}",
            retryable=is_retryable_status(status),
            channel=self.channel,
            notification_id=notification_id,
            status=status,
            retry_after=retry_after,
            receiver=where,
            response=excerpt,
        )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            owned, self._owned = self._owned, None
        if owned is not None and self._pid == os.getpid():
            owned.close()

    def _client(self) -> httpx.Client:
        pid = os.getpid()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"notifier {self.channel!r} is closed")
            if self._borrowed is not None:
                return self._borrowed
            if self._owned is None or self._pid != pid:
                # In a forked child the parent's client is abandoned, never closed: its
                # sockets are shared with the parent.
                transport = None if self._transport is None else _Borrowed(self._transport)
                self._owned = httpx.Client(
                    transport=transport, timeout=self.timeout, follow_redirects=False
                )
                self._pid = pid
            return self._owned


class _Borrowed(httpx.BaseTransport):
    """An injected transport belongs to the caller: closing our client must not close it."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(request)

    def close(self) -> None:
        pass


def _read_excerpt(response: httpx.Response) -> str:
    """The start of the answer's body as text; the rest is never read."""
    received = bytearray()
    for chunk in response.iter_bytes():
        received += chunk
        if len(received) >= _READ_LIMIT:
            break
    head = bytes(received[:_EXCERPT])
    try:
        return head.decode(response.charset_encoding or "utf-8", "replace").strip()
    except LookupError:  # a charset Python does not know
        return head.decode("utf-8", "replace").strip()


class _PostingChannel(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def timeout(self) -> float: ...


ChannelT = TypeVar("ChannelT", bound=_PostingChannel)


class HttpNotifier(Generic[ChannelT]):
    """A notifier that POSTs: one :class:`HttpPoster` per channel, closed with the notifier.

    Subclasses write ``send``; ``transport``/``client``/``clock`` go to the poster.
    """

    def __init__(
        self,
        config: ChannelT,
        *,
        transport: httpx.BaseTransport | None = None,
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._poster = HttpPoster(
            config.name, config.timeout, transport=transport, client=client, clock=clock
        )

    def close(self) -> None:
        self._poster.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
