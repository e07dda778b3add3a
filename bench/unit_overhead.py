"""What counting distinct units costs on the request path: units on vs off, in one run.

Prints (interleaved medians of N repeats, same process, same requests):
  (a) µs per request of the ASGI middleware (one flag, unit from a header, distinct users)
      with the recorder's unit sketches on and off, and their ratio;
  (b) ns per ``recorder.record()`` call with a unit (hashed, two HLL updates at most) and
      without one, and their ratio;
  (c) CPU seconds per call of (b) by ``time.process_time`` (less sensitive to other load).

    python bench/unit_overhead.py             # target: (a) ratio <= 1.10
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import rollwise
from _scenario import FLAG, rollwise_config
from middleware_overhead import ROUTE, asgi_run, bare_app, interleaved_medians, scopes
from rollwise import ClientOptions
from rollwise.integrations import Header
from rollwise.integrations.asgi import RollwiseMiddleware
from rollwise.sdk.recorder import RequestRecorder

TARGET_RATIO = 1.10


def middleware(requests: int, repeats: int) -> tuple[float, float]:
    apps = {}
    for name, units in (("on", True), ("off", False)):
        client = rollwise.Client(rollwise_config(False), options=ClientOptions(environ={}))
        client.recorder.track_units = units
        wrapped = RollwiseMiddleware(bare_app(), client, flags=[FLAG], unit=Header("X-User-Id"))
        apps[name] = asgi_run(wrapped, scopes(requests))
    medians = interleaved_medians(apps, repeats)
    return medians["on"] / requests * 1e6, medians["off"] / requests * 1e6


def record(count: int, repeats: int) -> dict[str, tuple[float, float]]:
    users = [f"user-{n % 5000}" for n in range(count)]
    statuses = [500 if n % 100 == 0 else 200 for n in range(count)]
    samples: dict[str, list[tuple[float, float]]] = {"unit": [], "none": []}
    for _ in range(repeats + 1):
        for name in samples:
            recorder = RequestRecorder()
            call = recorder.record
            gc.collect()
            gc.disable()
            try:
                wall, cpu = time.perf_counter(), time.process_time()
                if name == "unit":
                    for user, status in zip(users, statuses, strict=True):
                        call(FLAG, "on", 0.01, status, ROUTE, user)
                else:
                    for status in statuses:
                        call(FLAG, "on", 0.01, status, ROUTE)
                samples[name].append((time.perf_counter() - wall, time.process_time() - cpu))
            finally:
                gc.enable()
    return {
        name: (
            statistics.median(s[0] for s in values[1:]) / count * 1e9,
            statistics.median(s[1] for s in values[1:]) / count * 1e9,
        )
        for name, values in samples.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    on, off = middleware(args.requests, args.repeats)
    verdict = "PASS" if on / off <= TARGET_RATIO else "MISS"
    print(f"(a) middleware, units on    {on:8.2f} µs/request")
    print(f"(a) middleware, units off   {off:8.2f} µs/request")
    print(f"(a) ratio on / off          {on / off:8.3f} x  (target <= {TARGET_RATIO}: {verdict})")
    figures = record(args.records, args.repeats)
    (unit_wall, unit_cpu), (none_wall, none_cpu) = figures["unit"], figures["none"]
    print(f"(b) record() with a unit    {unit_wall:8.0f} ns/call")
    print(
        f"(b) record() without        {none_wall:8.0f} ns/call  ratio {unit_wall / none_wall:.2f}x"
    )
    print(f"(c) CPU with / without      {unit_cpu:8.0f} / {none_cpu:.0f} ns/call  "
          f"ratio {unit_cpu / none_cpu:.2f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
