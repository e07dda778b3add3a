"""The demo from start to finish: stack up, traffic on, rollout started, watched, judged.

Exit codes: 0 the rollout ended as the scenario expects (succeeded without a fault, rolled
back with one) and the service followed; 1 it ended otherwise; 2 it did not end in time
(or paused); 3 the stack could not be set up or died; 130 interrupted (Ctrl-C, SIGTERM,
SIGHUP). Whatever happens, every process the demo started is stopped before it returns.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console
from rich.live import Live

from .._http import ControlPlaneError
from ._scenario import STEPS, Scenario
from ._stack import ENVIRONMENT, FLAG, DemoError, DemoPlane, Stack, StackOptions
from ._traffic import Traffic
from ._view import (
    VARIANTS,
    Snapshot,
    dashboard,
    elapsed_text,
    history_line,
    judgement_key,
    judgement_line,
    status_line,
    summary_lines,
)

__all__ = ["EXIT_INTERRUPTED", "RunOptions", "run_demo"]

EXIT_EXPECTED, EXIT_UNEXPECTED, EXIT_UNFINISHED, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
_FINAL = ("succeeded", "rolled_back", "aborted")
_STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@dataclass(frozen=True, slots=True)
class RunOptions:
    rate: float = 120.0
    clients: int = 300
    tick: float = 1.0
    report_window: int = 2
    timeout: float = 300.0
    poll: float = 1.0
    keep_running: bool = False
    line_every: float = 10.0
    live: bool | None = None
    """A live dashboard (None: when the output is a terminal)."""


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _parse_time(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


class _Demo:
    """The in-process demo; :mod:`._release_run` changes what is set up and rolled out."""

    variants: tuple[str, str] = VARIANTS
    """Baseline and canary, as the metrics and the traffic name them."""
    metrics_flag = FLAG
    split_header = "X-Camera-Variant"
    follower = "the service"
    """Who must follow the verdict (the traffic shows it)."""

    def __init__(self, console: Console, scenario: Scenario, options: RunOptions) -> None:
        self.console = console
        self.scenario = scenario
        self.options = options
        self.started = time.monotonic()
        self.workdir = Path(tempfile.mkdtemp(prefix="rollwise-demo-"))
        self.stack = self.make_stack()
        self.traffic: Traffic | None = None
        self.printed = 0  # history rows already shown
        self.rollout_started: datetime | None = None

    def make_stack(self) -> Stack:
        return Stack(
            self.workdir,
            StackOptions(
                fault=self.scenario.fault_text,
                tick=self.options.tick,
                report_window=self.options.report_window,
            ),
        )

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def say(self, text: str, style: str | None = None) -> None:
        self.console.print(text, style=style, highlight=False, markup=False)

    # -- setting up ------------------------------------------------------------------

    def set_up(self) -> DemoPlane:
        scenario, stack = self.scenario, self.stack
        self.say("rollwise demo — camera service: legacy → domain, judged on live traffic", "bold")
        self.say(f"  scenario       {scenario.describe()} (expected: {scenario.expected})")
        plane_url = stack.start_control_plane()
        self.say(f"  control plane  {plane_url}  (SQLite in {self.workdir})")
        self.say(f"  admin token    {stack.admin_token}")
        stack.set_up_flag()
        camera_url = stack.start_camera_service()
        self.say(
            f"  camera service {camera_url}  (flag {FLAG}, sticky per X-Client-Id, "
            f"reports every {self.options.report_window}s)"
        )
        self.traffic = Traffic(
            camera_url, rate=self.options.rate, clients=self.options.clients
        ).start()
        self.say(
            f"  traffic        {self.options.clients} clients, about {self.options.rate:g} "
            "requests/s: camera status, batch status, logs, alert rules, a few writes"
        )
        return stack.client()

    def start_rollout(self, plane: DemoPlane) -> dict[str, Any]:
        spec = self.scenario.spec()
        view: dict[str, Any] = plane.post("/api/v1/rollouts", {**spec, "start": True})
        self.announce(view)
        return view

    def announce(self, view: dict[str, Any], also: str = "") -> None:
        """The rollout's steps and gates, and where else to watch it."""
        self.rollout_started = _parse_time(view.get("created_at"))
        steps = " → ".join(f"{p}%" for p in (*STEPS, 100))
        baseline = self.variants[0]
        self.say(
            f"\nrollout {view['id']}: {steps}, bake {self.scenario.bake:g}s per step; gates: "
            f"errors ≤ {baseline}'s + 1 point, {self._latency_text(baseline)}, "
            f"≥ {self.scenario.min_samples} requests per variant"
        )
        self.say(
            f"  watch it too:  {self.stack.plane_url}/ui/#/rollouts/{view['id']} (the dashboard; "
            "sign in with the admin token)\n"
            f"                 rollwise rollout status {view['id']} --url {self.stack.plane_url} "
            f"--token {self.stack.admin_token}\n{also}",
            "dim",
        )

    def _latency_text(self, baseline: str) -> str:
        p95 = 1 + self.scenario.p95_increase
        if p95 == 1.5:
            return f"p50 and p95 ≤ 1.5 times {baseline}'s"
        return f"p50 ≤ 1.5 times {baseline}'s, p95 ≤ {p95:g} times {baseline}'s"

    # -- watching --------------------------------------------------------------------

    def snapshot(
        self, plane: DemoPlane, rollout_id: int, history: list[dict[str, Any]]
    ) -> Snapshot:
        view: dict[str, Any] = plane.get(f"/api/v1/rollouts/{rollout_id}")
        if len(history) < view["version"]:  # each transition makes a version
            history = plane.get(f"/api/v1/rollouts/{rollout_id}/history")
        clock = view.get("step_clock") or {}
        since = clock.get("started_at") or view.get("updated_at")
        metrics: dict[str, dict[str, Any]] = {}
        try:
            answer = plane.get(
                "/api/v1/metrics",
                {"flag": self.metrics_flag, "environment": ENVIRONMENT, "from": since},
            )
            metrics = {v["variant"]: v["totals"] for v in answer["variants"]}
        except ControlPlaneError as error:
            if error.status != 422:  # a step that began this very second: nothing to show
                raise
        assert self.traffic is not None
        return Snapshot(
            self.elapsed(),
            view,
            history,
            metrics,
            self.traffic.recent_split(),
            self.traffic.recent_seconds,
            self.variants,
            self.split_header,
        )

    def print_new_history(self, snapshot: Snapshot) -> None:
        for row in snapshot.history[self.printed :]:
            self.say(history_line(row, self.rollout_started), "bold")
        self.printed = max(self.printed, len(snapshot.history))

    def watch(self, plane: DemoPlane, rollout_id: int) -> Snapshot:
        """Poll until the rollout is final or paused, or the timeout; the last snapshot."""
        live_wanted = self.console.is_terminal if self.options.live is None else self.options.live
        deadline = self.started + self.options.timeout
        history: list[dict[str, Any]] = []
        next_line = 0.0
        judged: tuple[Any, ...] | None = None
        live = Live(console=self.console, refresh_per_second=4) if live_wanted else None
        if live is not None:
            live.start()
        try:
            while True:
                self.stack.check_alive()
                snapshot = self.snapshot(plane, rollout_id, history)
                history = snapshot.history
                self.print_new_history(snapshot)
                if live is not None:
                    live.update(dashboard(snapshot))
                else:
                    if time.monotonic() >= next_line:
                        self.say(status_line(snapshot), "dim")
                        next_line = time.monotonic() + self.options.line_every
                    if judgement_key(snapshot.rollout) not in (None, judged):
                        judged = judgement_key(snapshot.rollout)
                        self.say(judgement_line(snapshot.rollout) or "", "dim")
                phase = snapshot.rollout["phase"]
                if phase in _FINAL or phase == "paused" or time.monotonic() > deadline:
                    return snapshot
                time.sleep(self.options.poll)
        finally:
            if live is not None:
                live.stop()

    def confirm_switch(self, variant: str, timeout: float = 20.0, window: float = 3.0) -> bool:
        """Whether the traffic is served only by ``variant`` once the config caught up: the
        first moment all answers in a second are ``variant``, then ``window`` seconds more."""
        traffic = self.traffic
        assert traffic is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            recent = traffic.recent_split(1.0)
            if recent and set(recent) == {variant}:
                break
            time.sleep(0.2)
        else:
            self.say(f"{self.follower} did not switch to {variant} within {timeout:.0f}s", "red")
            return False
        switched = time.monotonic()
        time.sleep(window)
        after = traffic.split_since(switched)
        total = sum(after.values())
        if set(after) != {variant}:
            self.say(f"after the switch {self.follower} still served: {dict(after)}", "red")
            return False
        self.say(
            f"{self.follower} followed: all {total:,} requests answered in the {window:g}s after "
            f"it switched were served by {variant}"
        )
        return True

    # -- the end ---------------------------------------------------------------------

    def conclude(self, snapshot: Snapshot) -> int:
        view = snapshot.rollout
        phase = view["phase"]
        expected = self.scenario.expected
        style = "bold green" if phase == expected else "bold red"
        self.say("")
        self.say(
            f"rollout {view['id']} {phase} after {elapsed_text(snapshot.elapsed)} "
            f"(expected: {expected})",
            style,
        )
        for line in summary_lines(snapshot.history, self.rollout_started, self.variants):
            self.say(line)
        if phase not in _FINAL:
            reason = "paused" if phase == "paused" else "timed out"
            self.say(f"the demo {reason} before the rollout ended", "red")
            return EXIT_UNFINISHED
        if phase != expected:
            return EXIT_UNEXPECTED
        served = self.variants[1] if phase == "succeeded" else self.variants[0]
        if not self.confirm_switch(served):
            return EXIT_UNEXPECTED
        assert self.traffic is not None
        counts = self.traffic.counts()
        self.say(
            "traffic in total: "
            + ", ".join(f"{v} {n:,} requests" for v, n in sorted(counts.requests.items()))
        )
        return EXIT_EXPECTED

    def stack_text(self) -> str:
        return (
            f"control plane {self.stack.plane_url} (token {self.stack.admin_token}), "
            f"camera service {self.stack.camera_url}"
        )

    def keep_running(self, code: int) -> int:
        self.say(
            f"\nthe stack keeps running (--keep-running): {self.stack_text()}. Ctrl-C to stop.",
            "bold",
        )
        try:
            while True:
                time.sleep(1)
                self.stack.check_alive()
        except KeyboardInterrupt:
            return code

    def close(self, keep_files: bool) -> None:
        if self.traffic is not None:
            self.traffic.stop()
        swept = self.stack.close(on_step=lambda text: self.say(text, "dim"))
        if swept:
            self.say(f"ended {len(swept)} leftover process(es): {swept}", "yellow")
        if keep_files:
            self.say(f"logs kept in {self.workdir}", "yellow")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def run(self) -> int:
        previous = {number: signal.signal(number, _interrupt) for number in _STOP_SIGNALS}
        keep_files = False
        try:
            with self.set_up() as plane:
                rollout = self.start_rollout(plane)
                code = self.conclude(self.watch(plane, int(rollout["id"])))
            if self.options.keep_running:
                code = self.keep_running(code)
            return code
        except KeyboardInterrupt as interrupt:
            name = str(interrupt) or "SIGINT"
            self.say(f"\ninterrupted ({name}): stopping everything the demo started")
            return EXIT_INTERRUPTED
        except (DemoError, ControlPlaneError) as error:
            self.say(f"demo failed: {error}", "bold red")
            keep_files = True
            return EXIT_ERROR
        finally:
            for number in _STOP_SIGNALS:  # a second Ctrl-C must not cut the cleanup short
                signal.signal(number, signal.SIG_IGN)
            try:
                self.close(keep_files)
            finally:
                for number, handler in previous.items():
                    signal.signal(number, handler)


def run_demo(console: Console, scenario: Scenario, options: RunOptions) -> int:
    """Run the demo; stop everything it started; the exit code (see the module docs)."""
    return _Demo(console, scenario, options).run()
