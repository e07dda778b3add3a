"""``rollwise demo --fault latency=2x`` next to busy loops: does it still roll back?

Runs the demo N times (one after another), each next to ``--busy`` processes spinning a
CPU each (four on a 2-core machine: a load average of about 6 on top of whatever runs), and
prints each run's outcome and the final tally against the target: rolled back in N of N.
The same-run baseline is the machine's own load: the load average is printed per run.

    .venv/bin/python bench/demo_under_load.py                 # N = 10, latency=2x, 4 loops
    .venv/bin/python bench/demo_under_load.py --runs 3 --fault error-rate=0.05
    .venv/bin/python bench/demo_under_load.py --json

Exit codes of the demo (``rollwise.cli.demo._run``): 0 the expected outcome (rolled back
with a harmful fault), 1 another outcome, 2 paused or timed out, 3 the stack failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROLLWISE = Path(sys.executable).with_name("rollwise")
OUTCOME = re.compile(r"rollout \d+ (\w+) after ([\d:]+) \(expected")
BUSY_LOOP = "while True:\n    pass\n"


@contextmanager
def busy_loops(count: int) -> Iterator[list[int]]:
    """``count`` processes spinning a CPU each; stopped (by their own pid) on the way out."""
    procs = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(count)]
    try:
        yield [proc.pid for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait(10)


def run_once(fault: str, timeout: float, extra: list[str]) -> dict[str, object]:
    """One demo; its exit code, outcome, wall time and the latency gates' last judgement."""
    started = time.monotonic()
    load = os.getloadavg()[0]
    try:
        result = subprocess.run(
            [str(ROLLWISE), "demo", "--fault", fault, "--no-live", *extra],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "COLUMNS": "250", "NO_COLOR": "1"},
        )
        code, out = result.returncode, result.stdout
    except subprocess.TimeoutExpired as expired:
        code = -1
        out = expired.stdout.decode() if isinstance(expired.stdout, bytes) else ""
    found = OUTCOME.search(out)
    judged = [line.strip() for line in out.splitlines() if "latency-p50" in line]
    return {
        "exit": code,
        "outcome": found.group(1) if found else "unknown",
        "after": found.group(2) if found else None,
        "seconds": round(time.monotonic() - started, 1),
        "load_average_at_start": round(load, 1),
        "last_latency_judgement": judged[-1] if judged else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--busy", type=int, default=4, help="busy-loop processes next to it")
    parser.add_argument("--fault", default="latency=2x")
    parser.add_argument("--timeout", type=float, default=420.0, help="seconds per demo run")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("demo_args", nargs="*", help="extra `rollwise demo` arguments")
    args = parser.parse_args()
    runs = []
    with busy_loops(args.busy):
        for index in range(args.runs):
            run = run_once(args.fault, args.timeout, args.demo_args)
            runs.append(run)
            if not args.json:
                print(
                    f"run {index + 1}/{args.runs}: exit {run['exit']}, {run['outcome']} "
                    f"after {run['after']} (wall {run['seconds']} s, "
                    f"load {run['load_average_at_start']})"
                    f"\n    {run['last_latency_judgement']}",
                    flush=True,
                )
    tally = Counter(str(run["outcome"]) for run in runs)
    expected = sum(1 for run in runs if run["exit"] == 0)
    if args.json:
        print(json.dumps({"fault": args.fault, "busy": args.busy, "runs": runs}, indent=2))
    else:
        print(
            f"\n--fault {args.fault} next to {args.busy} busy loops: expected outcome in "
            f"{expected} of {args.runs} runs (target: {args.runs} of {args.runs}); "
            + ", ".join(f"{name} {count}" for name, count in sorted(tally.items()))
        )
    return 0 if expected == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
