"""A telemetry receiver on loopback and a client to report from (on a fake clock).

The receiver speaks the real wire schema (every body is validated as a TelemetryBatch, a
bad one gets 422 like the control plane) and stores each ``batch_id`` once, like the real
ingest endpoint. Tests script its answers: statuses to return before storing, answers
lost after storing, or a hang until released.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

import rollwise
from rollwise import ClientOptions, ReporterOptions
from rollwise.core.telemetry import TelemetryBatch
from rollwise.sdk.recorder import RequestRecorder

from .._support.clock import FakeClock
from ..server._support import live_server

FLAG = "checkout"
TOKEN = "sdk-test-token-0123456789"
START = 1_000_000.0  # a multiple of every window length used here

CONFIG: dict[str, Any] = {
    "revision": "r1",
    "flags": [
        {
            "key": FLAG,
            "variants": ["legacy", "domain"],
            "off_variant": "legacy",
            "environments": {"production": {"split": {"legacy": 5000, "domain": 5000}}},
        },
        {
            "key": "search",
            "variants": ["off", "on"],
            "environments": {"production": {"split": {"off": 0, "on": 10000}}},
        },
    ],
}


class Receiver:
    """The state behind the telemetry endpoint; the app reads and writes it under a lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.attempts: list[str] = []
        self.stored: dict[str, TelemetryBatch] = {}
        self.fail_before: deque[int] = deque()
        self.fail_after_storing: deque[int] = deque()
        self.tokens: set[str] = set()
        self.arrived = threading.Event()
        self.released = threading.Event()
        self.released.set()

    def hang(self) -> None:
        """Hold every request until :meth:`release`."""
        self.released.clear()
        self.arrived.clear()

    def release(self) -> None:
        self.released.set()

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/api/v1/sdk/telemetry")
        async def telemetry(request: Request) -> Response:
            self.arrived.set()
            while not self.released.is_set():
                await asyncio.sleep(0.01)
            body = await request.body()
            try:
                batch = TelemetryBatch.model_validate_json(body)
            except ValidationError as error:
                return _error(422, "invalid_batch", str(error)[:200])
            with self.lock:
                self.tokens.add(request.headers.get("Authorization", ""))
                self.attempts.append(batch.batch_id)
                if self.fail_before:
                    status = self.fail_before.popleft()
                    return _error(status, "scripted", f"scripted {status}")
                self.stored.setdefault(batch.batch_id, batch)
                if self.fail_after_storing:
                    status = self.fail_after_storing.popleft()
                    return _error(status, "scripted", f"scripted {status} after storing")
            return JSONResponse({"accepted": True}, status_code=202)

        return app

    # -- what arrived ----------------------------------------------------------------------

    def batches(self) -> list[TelemetryBatch]:
        with self.lock:
            return list(self.stored.values())

    def requests(self) -> Counter[tuple[str, str, str]]:
        """Requests per (flag, variant, route) over every stored batch."""
        total: Counter[tuple[str, str, str]] = Counter()
        for batch in self.batches():
            for window in batch.windows:
                for series in window.series:
                    total[(series.flag, series.variant, series.route)] += series.requests
        return total

    def usage(self) -> Counter[tuple[str, str]]:
        total: Counter[tuple[str, str]] = Counter()
        for batch in self.batches():
            for window in batch.windows:
                for row in window.usage:
                    total[(row.flag, row.variant)] += row.count
        return total

    def dropped_batches(self) -> int:
        return sum(batch.dropped.batches for batch in self.batches())


def _error(status: int, code: str, message: str) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": {}}}
    return JSONResponse(body, status_code=status)


@contextmanager
def receiving(port: int | None = None) -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver()
    with live_server(receiver.app(), port) as url:
        try:
            yield receiver, url
        finally:
            receiver.release()


def options(url: str, **overrides: Any) -> ReporterOptions:
    """Options for tests: no tick thread, quick retries, a short close."""
    values: dict[str, Any] = {
        "token": TOKEN,
        "ticks": False,
        "initial_backoff": 0.01,
        "max_backoff": 0.05,
        "close_timeout": 10.0,
        "instance": "test",
    }
    values.update(overrides)
    return ReporterOptions(url, **values)


def make_client(clock: FakeClock | None = None, **client_options: Any) -> rollwise.Client:
    recorder = RequestRecorder(clock=clock) if clock is not None else RequestRecorder()
    return rollwise.Client(
        CONFIG, options=ClientOptions(environ={}, recorder=recorder, **client_options)
    )


def reporter_threads() -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("rollwise-reporter"))
