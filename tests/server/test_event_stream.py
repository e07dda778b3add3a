"""Event streams written at once by the hub's wake-up, and a client that stops reading.

``run_stream`` against a real hub over a real store, under a small stand-in for the ASGI
server's side of one connection: its ``send`` blocks while the client is "not reading"
(uvicorn's flow control does the same when the socket buffer is full), and ``receive``
answers ``http.disconnect`` when the client leaves or the response has ended (ASGI).
The live-server tests (``test_sdk_delivery.py``) cover the same stream through uvicorn.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.types import Message

from rollwise.server.config_hub import ConfigHub
from rollwise.server.eager_send import send_now
from rollwise.server.event_stream import StreamPolicy, run_stream
from rollwise.store import Store

ENV = "production"


class Connection:
    """The server's side of one stream's connection, as the ASGI application sees it."""

    def __init__(self, fails_with: Exception | None = None) -> None:
        self.written: list[bytes] = []
        self.complete = False
        self.reading = asyncio.Event()  # cleared: the client reads nothing, sends block
        self.reading.set()
        self.fails_with = fails_with
        self._changed = asyncio.Event()
        self._gone = False
        self._request_read = False

    async def send(self, message: Message) -> None:
        while not self.reading.is_set():
            await self.reading.wait()
        if self.fails_with is not None and message["type"] == "http.response.body":
            raise self.fails_with
        if message["type"] == "http.response.body":
            self.written.append(message.get("body", b""))
            if not message.get("more_body", False):
                self.complete = True
                self._changed.set()

    async def receive(self) -> Message:
        if not self._request_read:
            self._request_read = True
            return {"type": "http.request", "body": b"", "more_body": False}
        while not (self._gone or self.complete):
            await self._changed.wait()
            self._changed.clear()
        return {"type": "http.disconnect"}

    def leave(self) -> None:
        self._gone = True
        self._changed.set()

    def events(self) -> list[str]:
        """The ids of the config events written so far, in order."""
        text = b"".join(self.written).decode()
        return [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("id: ")]


@dataclass(frozen=True)
class Hub:
    hub: ConfigHub
    token_id: str


def _change(store: Store, enabled: bool) -> None:
    with store.transaction("test") as tx:
        tx.flags.set_enabled("checkout", ENV, enabled)


@asynccontextmanager
async def _hub(store: Store) -> AsyncIterator[Hub]:
    """The hub of a store with one environment, one flag and an sdk token (the hub ends
    the streams of tokens it does not find live)."""
    with store.transaction("test") as tx:
        tx.environments.create(ENV)
        tx.flags.create("checkout")
        tx.flags.set_enabled("checkout", ENV, True)
        token, _ = tx.tokens.create("sdk", "sdk", ENV)
    hub = ConfigHub(store)
    hub.bind(asyncio.get_running_loop())
    hub.refresh()
    yield Hub(hub, token.id)


async def _changed(plane: Hub, store: Store, enabled: bool) -> str:
    """Commit a change as a route does (then ``hub.changed()`` off the loop); its event id."""
    await asyncio.to_thread(_change, store, enabled)
    await asyncio.to_thread(plane.hub.changed)
    await asyncio.sleep(0)  # the hub's wake-up, posted to the loop, runs
    cached = plane.hub.cached(ENV)
    assert cached is not None
    return f"{ENV}:{cached.revision}"


def _start(plane: Hub, connection: Connection, policy: StreamPolicy) -> asyncio.Task[str]:
    first = plane.hub.current(ENV)
    stream: Coroutine[Any, Any, str] = run_stream(
        plane.hub, ENV, plane.token_id, first, policy, connection.receive, connection.send
    )
    return asyncio.ensure_future(stream)


async def _until(condition: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def test_a_client_that_stops_reading_holds_up_no_other_and_gets_the_latest(
    store: Store,
) -> None:
    async def scenario() -> None:
        async with _hub(store) as plane:
            policy = StreamPolicy(keepalive_seconds=3600)
            stalled, reading = Connection(), Connection()
            streams = [_start(plane, connection, policy) for connection in (stalled, reading)]
            await _until(lambda: plane.hub.streams() == 2 and len(stalled.events()) == 1)
            initial = stalled.events()[0]
            stalled.reading.clear()
            second = await _changed(plane, store, False)
            # the reading client was written to by the hub's wake-up itself, at once
            assert reading.events() == [initial, second]
            third = await _changed(plane, store, True)
            assert reading.events() == [initial, second, third]
            assert stalled.events() == [initial]
            stalled.reading.set()  # the blocked send goes out, then the latest version
            await _until(lambda: stalled.events() == [initial, second, third])
            for connection in (stalled, reading):
                connection.leave()
            assert await asyncio.gather(*streams) == ["disconnected", "disconnected"]
            assert plane.hub.streams() == 0

    asyncio.run(scenario())


def test_a_stream_ended_while_its_client_is_not_reading_ends_after_the_write(
    store: Store,
) -> None:
    async def scenario() -> None:
        async with _hub(store) as plane:
            connection = Connection()
            stream = _start(plane, connection, StreamPolicy(max_lifetime_seconds=0.3))
            await _until(lambda: len(connection.events()) == 1)
            connection.reading.clear()
            changed = await _changed(plane, store, False)
            await asyncio.sleep(0.5)  # the lifetime passes while the change's send waits
            assert not stream.done()
            connection.reading.set()
            assert await stream == "lifetime"
            assert connection.events()[-1] == changed
            assert connection.complete
            assert plane.hub.streams() == 0

    asyncio.run(scenario())


def test_keepalives_are_written_on_an_idle_stream(store: Store) -> None:
    async def scenario() -> None:
        async with _hub(store) as plane:
            connection = Connection()
            stream = _start(plane, connection, StreamPolicy(keepalive_seconds=0.05))
            await _until(lambda: connection.written.count(b": keepalive\n\n") >= 3)
            connection.leave()
            assert await stream == "disconnected"

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("error", "raised"), [(ConnectionResetError(), False), (RuntimeError("bug"), True)]
)
def test_a_send_that_raises_ends_the_stream(store: Store, error: Exception, raised: bool) -> None:
    """An OSError (a server's word for a client that left) ends the stream quietly; any
    other error is the stream's, raised to the server (which logs it)."""

    async def scenario() -> None:
        async with _hub(store) as plane:
            connection = Connection()
            stream = _start(plane, connection, StreamPolicy())
            await _until(lambda: len(connection.events()) == 1)
            connection.fails_with = error
            await _changed(plane, store, False)
            if raised:
                with pytest.raises(RuntimeError, match="bug"):
                    await stream
            else:
                assert await stream == "disconnected"
            assert plane.hub.streams() == 0

    asyncio.run(scenario())


def test_send_now_completes_a_send_that_does_not_block_without_a_task() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    def outside_the_loop() -> None:
        assert send_now(send, {"type": "x"}) is None
        assert sent == [{"type": "x"}]

    outside_the_loop()


def test_send_now_hands_back_the_rest_of_a_blocked_send() -> None:
    async def scenario() -> None:
        ready = asyncio.Event()
        steps: list[str] = []

        async def send(message: Message) -> None:
            steps.append("started")
            await ready.wait()
            steps.append("finished")

        remainder = send_now(send, {"type": "x"})
        assert remainder is not None
        assert steps == ["started"]
        finishing = asyncio.ensure_future(_await(remainder))
        await asyncio.sleep(0.01)
        assert steps == ["started"]
        ready.set()
        await finishing
        assert steps == ["started", "finished"]

        # cancelled while it waits: the send itself sees the cancellation
        ready.clear()
        seen: list[str] = []

        async def cancellable(message: Message) -> None:
            try:
                await ready.wait()
            except asyncio.CancelledError:
                seen.append("cancelled")
                raise

        remainder = send_now(cancellable, {"type": "x"})
        assert remainder is not None
        waiting = asyncio.ensure_future(_await(remainder))
        await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert seen == ["cancelled"]

    asyncio.run(scenario())


async def _await(awaitable: Any) -> None:
    await awaitable
