"""``rollwise demo`` for real: a subprocess that starts a control plane, the camera service
and traffic, rolls ``domain`` out, and leaves no process behind however it ends.

The demo runs with ``TMPDIR`` set to the test's directory, so every process it starts (the
control plane, the camera service, the camera workers) carries that path in its environment:
the orphan check is a scan of ``/proc`` for it. Bakes are shortened (``--bake``); the rest
is the demo's own code path, judged by the real controller.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rollwise.cli.demo._scenario import Scenario, parse_fault

from .._support.waiting import wait_until
from ..e2e._camera import processes_mentioning

ROLLWISE = Path(sys.executable).with_name("rollwise")
FAST = ["--bake", "4", "--rate", "180", "--timeout", "240", "--no-live"]

pytestmark = pytest.mark.slow


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "TMPDIR": str(tmp_path), "COLUMNS": "250", "NO_COLOR": "1"}


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROLLWISE), "demo", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(tmp_path),
    )


def _assert_nothing_left(tmp_path: Path) -> None:
    assert processes_mentioning(str(tmp_path)) == []
    assert list(tmp_path.glob("rollwise-demo-*")) == []  # the working directory is removed


@pytest.mark.timeout(300)
def test_the_healthy_demo_goes_through_every_step_to_succeeded(tmp_path: Path) -> None:
    result = _run(tmp_path, *FAST)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert re.search(r"control plane\s+http://127\.0\.0\.1:\d+", out)
    assert re.search(r"admin token\s+rw-demo-\S+", out)
    assert re.search(r"http://127\.0\.0\.1:\d+/ui/#/rollouts/1 \(the dashboard", out)
    assert "rollout 1 succeeded after" in out
    shares = re.findall(r"advance by controller \(.*share (\d+)% → (\d+)%\)", out)
    assert shares[-3:] == [("10", "25"), ("25", "50"), ("50", "100")]
    # each advance was decided on every gate passing, with the numbers in the summary
    advances = re.findall(r"advance by controller .*\n\s+gates: (.*)", out)
    assert len(advances) >= 3, out
    for gates in advances[-3:]:
        assert re.fullmatch(
            r"errors pass \(domain [\d,]+/[\d,]+ vs legacy [\d,]+/[\d,]+\), "
            r"latency-p50 pass \(domain [\d.]+ ms vs legacy [\d.]+ ms\), "
            r"latency-p95 pass \(domain [\d.]+ ms vs legacy [\d.]+ ms\)",
            gates,
        ), gates
    assert re.search(r"all [\d,]+ requests answered .* were served by domain", out)
    _assert_nothing_left(tmp_path)


@pytest.mark.timeout(300)
def test_a_failing_domain_service_is_rolled_back_with_the_evidence(tmp_path: Path) -> None:
    result = _run(tmp_path, *FAST, "--fault", "error-rate=0.05")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "fault: the domain service fails 5% of requests (expected: rolled_back)" in out
    assert "rollout 1 rolled_back after" in out
    assert re.search(r"rollback by controller \(progressing → rolled_back, share \d+% → 0%\)", out)
    evidence = re.search(
        r"evidence: errors: fail — .*\| domain (\d+) of ([\d,]+) = ([\d.]+)%; legacy", out
    )
    assert evidence is not None, out
    assert int(evidence[1]) > 0
    assert float(evidence[3]) > 1.0
    assert re.search(r"all [\d,]+ requests answered .* were served by legacy", out)
    _assert_nothing_left(tmp_path)


@pytest.mark.timeout(300)
def test_a_slower_domain_service_is_rolled_back_on_a_latency_gate(tmp_path: Path) -> None:
    result = _run(tmp_path, *FAST, "--fault", "latency=2x")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "fault: the domain service is slower (2x) (expected: rolled_back)" in out
    assert "rollout 1 rolled_back after" in out
    evidence = re.search(
        r"evidence: (latency-p50|latency-p95): fail — canary (p50|p95) ([\d.]+) ms "
        r"vs allowed ([\d.]+) ms",
        out,
    )
    assert evidence is not None, out
    assert float(evidence[3]) > float(evidence[4])
    assert re.search(r"all [\d,]+ requests answered .* were served by legacy", out)
    _assert_nothing_left(tmp_path)


@contextmanager
def _busy_loops(count: int) -> Iterator[None]:
    """``count`` processes spinning a CPU each (stopped by their own handles on the way out)."""
    loops = [
        subprocess.Popen([sys.executable, "-c", "while True:\n    pass\n"]) for _ in range(count)
    ]
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
        for loop in loops:
            loop.wait(30)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_latency_fault_is_rolled_back_next_to_busy_loops(tmp_path: Path) -> None:
    """A 2-core machine with four busy loops (more than the demo's own processes): the
    doubled domain requests still show within a step (docs in ``_demo_scenario``)."""
    with _busy_loops(4):
        result = _run(tmp_path, *FAST, "--fault", "latency=2x")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "rollout 1 rolled_back after" in out
    assert re.search(r"evidence: latency-p(50|95): fail", out), out
    _assert_nothing_left(tmp_path)


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (None, "succeeded"),
        ("error-rate=0.05", "rolled_back"),
        ("error-rate=0.005", "succeeded"),  # within the gate's one point above legacy
        ("latency=2x", "rolled_back"),
        ("latency=1.2x", "succeeded"),
        ("latency=50ms", "rolled_back"),
        ("exception-rate=0.05", "succeeded"),  # legacy answers: fallbacks, not errors
        ("exception-rate=0.05, LATENCY=3x", "rolled_back"),
    ],
)
def test_the_expected_outcome_follows_the_fault(fault: str | None, expected: str) -> None:
    assert Scenario(parse_fault(fault)).expected == expected


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("error-rate", "'error-rate' is not key=value"),
        ("error-rate=1.5", "a rate is between 0 and 1"),
        ("latency=fast", "latency is a factor (2x) or a delay (50ms)"),
        ("latency=0.5x", "a latency factor is at least 1"),
        ("timeout=1", "unknown fault 'timeout'"),
    ],
)
def test_an_invalid_fault_names_what_is_wrong(fault: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_fault(fault)


def test_an_unknown_fault_is_refused_before_anything_starts(tmp_path: Path) -> None:
    result = _run(tmp_path, "--fault", "disk-full=1")
    assert result.returncode == 2
    assert "unknown fault 'disk-full'" in result.stderr
    _assert_nothing_left(tmp_path)


@dataclass
class RunningDemo:
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "".join(self.lines)


@contextmanager
def _demo_started(tmp_path: Path) -> Iterator[RunningDemo]:
    """The demo, once its rollout has started (its stack and traffic are up)."""
    process = subprocess.Popen(
        [str(ROLLWISE), "demo", *FAST],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(tmp_path),
    )
    demo = RunningDemo(process)
    reader = threading.Thread(target=lambda: demo.lines.extend(process.stdout or []), daemon=True)
    reader.start()
    try:
        wait_until(lambda: any(line.startswith("#1 ") for line in demo.lines), timeout=120)
        # the control plane, the camera service and its two auto-start workers (and the demo)
        wait_until(lambda: len(processes_mentioning(str(tmp_path))) >= 5, timeout=30, interval=0.1)
        yield demo
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(60)
        reader.join(10)


def test_ctrl_c_mid_demo_stops_everything_it_started(tmp_path: Path) -> None:
    with _demo_started(tmp_path) as demo:
        demo.process.send_signal(signal.SIGINT)
        assert demo.process.wait(60) == 130
    assert "interrupted (SIGINT): stopping everything the demo started" in demo.output
    _assert_nothing_left(tmp_path)


def test_a_killed_demo_leaves_no_orphans(tmp_path: Path) -> None:
    """Even SIGKILL, which the demo cannot handle: the kernel tells its children
    (PR_SET_PDEATHSIG), and the camera service stops its workers as it shuts down."""
    with _demo_started(tmp_path) as demo:
        demo.process.kill()
        demo.process.wait(10)
    wait_until(lambda: not processes_mentioning(str(tmp_path)), timeout=30, interval=0.1)
