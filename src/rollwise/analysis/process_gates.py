"""Process gates: the canary's CPU, memory and throughput against absolute bounds.

These bound the candidate release itself, not its difference from the baseline: "CPU
below 80%", "memory below 85%", "at least 5 requests per second". There is no
distribution behind a CPU percent or a request rate that a sequential test could use, so
each bound is a plain check (like a custom gate's): a bound that does not hold fails the
gate (the step rolls back), one that holds passes it; no samples is "no data", which the
rollout's ``on_no_data`` policy handles.

- ``cpu`` / ``memory``: the provider's figure for the gate (``VariantMetrics.custom``
  under the gate's key, see :func:`process_values`): the mean or max (``aggregate``) of
  the canary's process samples over the step, in percent of the machine. The minimum is
  ``min_samples`` process samples (one per process and reported window; default 1).
- ``throughput``: the canary's requests per second over the step's **settled** windows
  (its per-window counts, ``VariantMetrics.windows``): full-length windows that closed at
  least :data:`SETTLE_SECONDS` before the look, so that telemetry still on its way from
  the SDKs does not read as a drop. The minimum is ``min_samples`` settled windows
  (default 1). A canary that served nothing at all is "no data" before any gate is
  judged (the providers' ``require_traffic``); a floor catches one that serves too little.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from ..core.gates import Gate, GateMetric, ProcessAggregate
from ._checks import Check, bounds_of, combine, no_data, num
from .data import CustomValue, VariantMetrics, WindowCounts
from .verdicts import GateResult, Verdict

__all__ = [
    "NO_PROCESS_DATA",
    "SETTLE_SECONDS",
    "ProcessFiguresLike",
    "judge_process",
    "process_values",
    "settled_throughput",
]

SETTLE_SECONDS = 20.0
"""A window counts for throughput once it closed this long before the look (the SDKs
report every 10 s, plus delivery)."""

NO_PROCESS_DATA = (
    "no process data for the canary: its processes sent no CPU and memory samples "
    "(the SDK needs psutil, the `process` extra, and a release flag: ROLLWISE_RELEASE_FLAG)"
)

_UNIT = {GateMetric.CPU: "%", GateMetric.MEMORY: "%", GateMetric.THROUGHPUT: "/s"}


class ProcessFiguresLike(Protocol):
    """One release's process samples over the step (the store's ``ProcessWindow``)."""

    @property
    def samples(self) -> int: ...
    @property
    def cpu_max(self) -> float: ...
    @property
    def memory_max(self) -> float: ...
    @property
    def cpu_mean(self) -> float | None: ...
    @property
    def memory_mean(self) -> float | None: ...


def process_values(
    gates: Sequence[Gate], figures: ProcessFiguresLike | None
) -> dict[str, CustomValue]:
    """The value of each ``cpu``/``memory`` gate for one variant, keyed by the gate's key
    (what a provider puts in ``VariantMetrics.custom``); none without samples."""
    if figures is None or figures.samples <= 0:
        return {}
    values: dict[str, CustomValue] = {}
    for gate in gates:
        if not gate.metric.is_resource:
            continue
        cpu = gate.metric is GateMetric.CPU
        if gate.aggregate is ProcessAggregate.MAX:
            value: float | None = figures.cpu_max if cpu else figures.memory_max
        else:
            value = figures.cpu_mean if cpu else figures.memory_mean
        if value is not None:
            values[gate.key] = CustomValue(float(value), figures.samples)
    return values


def settled_throughput(
    windows: Sequence[WindowCounts], settle_seconds: float = SETTLE_SECONDS
) -> tuple[float | None, int, float]:
    """Requests per second over the settled windows, how many there are and the seconds
    they cover (None when there is none)."""
    if not windows:
        return None, 0, 0.0
    look = max(window.end for window in windows)
    length = max((window.end - window.start).total_seconds() for window in windows)
    settled = [
        window
        for window in windows
        if (window.end - window.start).total_seconds() >= length
        and (look - window.end).total_seconds() >= settle_seconds
    ]
    seconds = sum((window.end - window.start).total_seconds() for window in settled)
    if not settled or seconds <= 0:
        return None, 0, 0.0
    return sum(window.requests for window in settled) / seconds, len(settled), seconds


def judge_process(gate: Gate, canary: VariantMetrics) -> GateResult:
    """A ``cpu``, ``memory`` or ``throughput`` gate on the canary (the baseline is not
    needed: the bounds are absolute)."""
    needed = gate.min_samples if gate.min_samples is not None else 1
    evidence: dict[str, Any] = {"test": "plain_check", "min_samples": needed}
    if gate.metric is GateMetric.THROUGHPUT:
        if canary.windows is None:
            return no_data(gate, "the provider gives no per-window counts", evidence)
        rate, settled, seconds = settled_throughput(canary.windows)
        evidence |= {
            "observed": num(rate),
            "unit": "requests/s",
            "samples": settled,
            "settled_windows": settled,
            "seconds": num(seconds),
        }
        if rate is None or settled < needed:
            reason = f"canary has {settled} of {needed} settled windows for throughput"
            return no_data(gate, reason, evidence)
        value = rate
    else:
        found = canary.custom.get(gate.key)
        evidence |= {
            "observed": num(found.value) if found is not None else None,
            "unit": "percent",
            "aggregate": gate.aggregate.value,
            "samples": found.samples if found is not None else 0,
        }
        if found is None:
            return no_data(gate, NO_PROCESS_DATA, evidence)
        if found.samples < needed:
            reason = f"canary has {found.samples} of {needed} process samples"
            return no_data(gate, reason, evidence)
        value = found.value
    checks = [_check(gate, name, limit, value) for name, limit in bounds_of(gate)]
    return combine(gate, checks, evidence)


def _check(gate: Gate, name: str, limit: float, value: float) -> Check:
    unit = _UNIT.get(gate.metric, "")
    ok = value <= limit if name == "max" else value >= limit
    shown = f"{gate.key} {value:.4g}{unit}"
    evidence = {"observed": num(value), "threshold": num(limit)}
    if ok:
        relation = "<=" if name == "max" else ">="
        return Check(name, limit, Verdict.PASS, f"{shown} {relation} {limit:.4g}{unit}", evidence)
    where = "above the max" if name == "max" else "below the min"
    return Check(name, limit, Verdict.FAIL, f"{shown} is {where} {limit:.4g}{unit}", evidence)
