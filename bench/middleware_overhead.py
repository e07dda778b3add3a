"""What recording requests costs: the ASGI middleware, ``recorder.record()``, series memory.

Prints, measured in one run:
  (a) µs the ASGI middleware adds per request (one flag bound, unit from a header,
      recording on) to the same Starlette app called in-process without it: each app is
      called directly with a synthetic HTTP scope, ``receive`` and ``send`` (no server, no
      sockets), many requests per repeat, median of N repeats, interleaved;
  (b) ns per ``recorder.record()`` call, as a ratio to the mmh3 floor loop of
      bench/evaluate.py (``mmh3.hash(f"{flag}:{user}") % 10000 < 2500``) over the same
      number of distinct ids;
  (c) KiB held by one series after 1,000,000 recorded requests (counts, latency sketch,
      series object and its key), traced with tracemalloc, for a realistic latency
      distribution and for the worst case (latencies spread over 1 µs .. 100 s).

    python bench/middleware_overhead.py            # targets: (a) <= 10 µs, (b) <= 8x, (c) <= 8 KiB
    python bench/middleware_overhead.py --json

Absolute figures move with the machine; (a) is a difference of two timings taken in the
same run, (b) a ratio: those are the figures to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

import rollwise
from _scenario import FLAG, rollwise_config
from _timing import floor_loop, median_seconds
from rollwise import ClientOptions
from rollwise.integrations import Header
from rollwise.integrations.asgi import RollwiseMiddleware
from rollwise.sdk.recorder import RequestRecorder

TARGET_OVERHEAD_US = 10.0
TARGET_RECORD_RATIO = 8.0
TARGET_SERIES_KIB = 8.0
ROUTE = "/items/{item_id}"


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: float | None = None
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.target is None:
            return ""
        return "PASS" if self.value <= self.target else "MISS"


# -- (a) the middleware ------------------------------------------------------------------------


async def _item(request: Request) -> Response:
    return PlainTextResponse("ok")


def bare_app() -> Starlette:
    return Starlette(routes=[Route(ROUTE, _item)])


def scopes(count: int) -> list[dict[str, Any]]:
    """Synthetic HTTP scopes with distinct users (a fresh dict per request: apps mutate it)."""
    base: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/items/42",
        "raw_path": b"/items/42",
        "root_path": "",
        "query_string": b"",
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
    }
    return [
        base
        | {
            "headers": [
                (b"host", b"bench"),
                (b"user-agent", b"bench/1.0"),
                (b"accept", b"*/*"),
                (b"x-user-id", f"user-{n}".encode()),
            ]
        }
        for n in range(count)
    ]


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Any) -> None:
    return None


def asgi_run(app: Any, requests: list[dict[str, Any]]) -> Callable[[], Coroutine[Any, Any, None]]:
    async def run() -> None:
        for scope in requests:
            await app(scope | {"state": {}}, _receive, _send)

    return run


def interleaved_medians(
    runs: dict[str, Callable[[], Coroutine[Any, Any, None]]], repeats: int
) -> dict[str, float]:
    """Median seconds of each run over ``repeats`` rounds, the runs alternating in each."""
    loop = asyncio.new_event_loop()
    samples: dict[str, list[float]] = {name: [] for name in runs}
    try:
        for run in runs.values():  # warm-up: routes compiled, series created
            loop.run_until_complete(run())
        for _ in range(repeats):
            for name, run in runs.items():
                gc.collect()
                gc.disable()
                try:
                    start = time.perf_counter()
                    loop.run_until_complete(run())
                    samples[name].append(time.perf_counter() - start)
                finally:
                    gc.enable()
    finally:
        loop.close()
    return {name: statistics.median(values) for name, values in samples.items()}


def middleware_figures(requests: int, repeats: int) -> list[Figure]:
    client = rollwise.Client(rollwise_config(False), options=ClientOptions(environ={}))
    bare = bare_app()
    wrapped = RollwiseMiddleware(bare, client, flags=[FLAG], unit=Header("X-User-Id"))
    batch = scopes(requests)
    medians = interleaved_medians(
        {"bare": asgi_run(bare, batch), "middleware": asgi_run(wrapped, batch)}, repeats
    )
    bare_us = medians["bare"] / requests * 1e6
    with_us = medians["middleware"] / requests * 1e6
    recorded = sum(t.requests for t in client.recorder.totals().values())
    expected = requests * (repeats + 1)
    assert recorded == expected, f"recorded {recorded} requests, expected {expected}"
    if wrapped.failures:
        raise SystemExit(f"the middleware absorbed failures: {wrapped.failures}")
    return [
        Figure("bare Starlette app", bare_us, "µs/request"),
        Figure("same app + middleware", with_us, "µs/request"),
        Figure(
            "(a) middleware adds",
            with_us - bare_us,
            "µs/request",
            TARGET_OVERHEAD_US,
            f"{with_us / bare_us:.2f}x the bare app",
        ),
    ]


# -- (b) record() ----------------------------------------------------------------------------


def latencies(count: int, seed: int = 7) -> list[float]:
    """Lognormal latencies around 50 ms (p99 about 10x the median): a real service's spread."""
    draw = random.Random(seed).lognormvariate
    return [draw(-3.0, 1.0) for _ in range(count)]


def record_figures(count: int, repeats: int) -> list[Figure]:
    users = [f"user-{n}" for n in range(count)]
    floor_ns = median_seconds(floor_loop(FLAG, users), repeats) / count * 1e9
    recorder = RequestRecorder()
    values = latencies(count)
    variants = ("on", "off")

    def run() -> None:
        record = recorder.record
        for n, seconds in enumerate(values):
            record(FLAG, variants[n & 1], seconds, 200, ROUTE)

    run()
    record_ns = median_seconds(run, repeats) / count * 1e9
    return [
        Figure("mmh3 floor loop", floor_ns, "ns/call"),
        Figure("recorder.record()", record_ns, "ns/call"),
        Figure("(b) record() / floor", record_ns / floor_ns, "x", TARGET_RECORD_RATIO),
    ]


# -- (c) memory --------------------------------------------------------------------------------


def series_kib(values: Sequence[float]) -> float:
    """KiB newly held after recording ``values`` into one series (no window rotation)."""
    recorder = RequestRecorder(clock=lambda: 1_000_000.0)
    record = recorder.record
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for seconds in values:
        record(FLAG, "on", seconds, 200, ROUTE)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert recorder.totals()[(FLAG, "on", ROUTE)].requests == len(values)
    return (after - before) / 1024


def memory_figures(count: int) -> list[Figure]:
    realistic = latencies(count)
    spread = random.Random(11)
    worst = [10 ** spread.uniform(-6, 2) for _ in range(count)]  # 1 µs .. 100 s
    return [
        Figure(
            f"(c) one series, {count:,} requests",
            series_kib(realistic),
            "KiB",
            TARGET_SERIES_KIB,
            "lognormal latencies, median 50 ms",
        ),
        Figure(
            f"(c) one series, {count:,} requests",
            series_kib(worst),
            "KiB",
            TARGET_SERIES_KIB,
            "worst case: log-uniform 1 µs .. 100 s",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000, help="ASGI requests per repeat")
    parser.add_argument("--records", type=int, default=200_000, help="record() calls per repeat")
    parser.add_argument("--memory-requests", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()

    figures = [
        *middleware_figures(args.requests, args.repeats),
        *record_figures(args.records, args.repeats),
        *memory_figures(args.memory_requests),
    ]
    if args.json:
        print(json.dumps([asdict(f) | {"verdict": f.verdict} for f in figures], indent=1))
    else:
        print_table(figures)
    return 0


def print_table(figures: list[Figure]) -> None:
    print(f"{'figure':<38}{'value':>10}  {'unit':<12}{'target':<26}note")
    for f in figures:
        target = f"<= {f.target:g} {f.unit}: {f.verdict}" if f.target is not None else ""
        print(f"{f.name:<38}{f.value:>10.2f}  {f.unit:<12}{target:<26}{f.note}")


if __name__ == "__main__":
    sys.exit(main())
