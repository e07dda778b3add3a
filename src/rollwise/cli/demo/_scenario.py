"""What the demo rolls out, how it is judged, and which outcome proves the point.

The rollout is ``domain`` replacing ``legacy`` on ``camera-domain-service``: canary steps
10 → 25 → 50 → 100% with a short bake each, and three gates sized for a few hundred
requests a second on a laptop:

- ``errors``: the domain service's error rate at most one point above legacy's in the same
  window (``max_difference``: a stray error on a healthy step does not hold it forever);
- ``latency-p50`` and ``latency-p95``: the median and the 95th percentile at most 50%
  above legacy's (``latency=2x`` shows most clearly in the median: the tail of a busy
  2-core machine is mostly waiting, whichever variant serves).

Without a fault the rollout is expected to succeed; with ``error-rate`` above 1% or a
``latency`` above 1.5x (or 5 ms more) the controller is expected to roll it back.

How much traffic a latency verdict needs: the p50 gate tests whether more than half of the
canary's requests are slower than 1.5 times legacy's p50 (its anytime-valid upper bound).
On a loaded machine latency is wide (queueing: p95 four times p50 and more), so a canary
only a little beyond 1.5x has barely more than half its requests past that line: at 1.78x
(what ``latency=2x`` measured when the fault also slowed the legacy requests that waited for
a domain shadow) the gate needed a median 1,800-2,600 canary requests, more than the 10%
step sees in two minutes (about 1,000 on a busy machine), so the step held and paused. At
2x it needs 470-730. The fault now doubles exactly the domain-served requests (see
``camera_service.faults``), and a step may last three minutes before it pauses.
``exception-rate`` is rescued by the camera service's fallback to legacy, so the rollout
succeeds and the fallbacks show in the metrics.

The release demo (``--release``) compares two *processes*: each has its own queue, garbage
collector and share of a busy machine, so their tails differ more than two code paths in
one process do (a healthy v2 measured 1.43 times v1's p95 at the 50% step on a 2-core
machine with a load of 17). It allows the p95 twice v1's (``p95_increase=1.0``); the
median, where ``latency=2x`` shows, keeps the 1.5x bound, so the same faults are caught.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._stack import ENVIRONMENT, FLAG

__all__ = ["STEPS", "Scenario", "parse_fault"]

STEPS = (10, 25, 50)
_FAULT_KEYS = ("error-rate", "exception-rate", "latency")


def _number(text: str, item: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{item!r}: {text!r} is not a number") from None


def parse_fault(text: str | None) -> dict[str, str]:
    """``error-rate=0.05,latency=2x`` → ``{"error-rate": "0.05", "latency": "2x"}``; the
    camera service parses it again, this only refuses what it would refuse, up front."""
    faults: dict[str, str] = {}
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        key, equals, value = (part.strip().lower() for part in item.partition("="))
        if not equals or not value:
            raise ValueError(f"{item!r} is not key=value (e.g. error-rate=0.05, latency=2x)")
        if key not in _FAULT_KEYS:
            raise ValueError(f"unknown fault {key!r}: use {', '.join(_FAULT_KEYS)}")
        if key == "latency":
            if value.endswith("x"):
                if _number(value[:-1], item) < 1:
                    raise ValueError(f"{item!r}: a latency factor is at least 1")
            elif value.endswith("ms"):
                _number(value[:-2], item)
            elif value.endswith("s"):
                _number(value[:-1], item)
            else:
                raise ValueError(f"{item!r}: latency is a factor (2x) or a delay (50ms)")
        elif not 0.0 <= _number(value, item) <= 1.0:
            raise ValueError(f"{item!r}: a rate is between 0 and 1")
        faults[key] = value
    return faults


@dataclass(frozen=True, slots=True)
class Scenario:
    """The fault injected into the domain service and the rollout's timing."""

    faults: dict[str, str]
    bake: float = 30.0
    max_step_duration: float = 180.0
    min_samples: int = 200
    p95_increase: float = 0.5
    """How far above the baseline's p95 the canary's may be (0.5: 1.5 times)."""

    @property
    def fault_text(self) -> str | None:
        return ",".join(f"{k}={v}" for k, v in self.faults.items()) or None

    @property
    def expected(self) -> str:
        """The final phase this scenario should end in."""
        harmful = {"error-rate", "latency"}
        if any(key in harmful and _harmful(key, value) for key, value in self.faults.items()):
            return "rolled_back"
        return "succeeded"

    def describe(self) -> str:
        if not self.faults:
            return "no fault: the domain service is as good as legacy"
        parts = []
        for key, value in self.faults.items():
            if key == "error-rate":
                parts.append(f"the domain service fails {float(value):.0%} of requests")
            elif key == "latency":
                parts.append(f"the domain service is slower ({value})")
            else:
                parts.append(
                    f"the domain service raises on {float(value):.0%} of calls "
                    "(legacy answers instead: fallbacks)"
                )
        return "fault: " + "; ".join(parts)

    def spec(self) -> dict[str, Any]:
        """The rollout spec (the API's JSON form of docs/rollouts.md)."""
        bake = f"{self.bake:g}s"
        return {
            "flag": FLAG,
            "environment": ENVIRONMENT,
            "variant": "domain",
            "baseline": "legacy",
            "strategy": {
                "type": "canary",
                "steps": [f"{percent}%/{bake}" for percent in STEPS] + ["100%"],
            },
            "gates": [
                {"name": "errors", "metric": "error_rate", "max_difference": 0.01},
                {
                    "name": "latency-p50",
                    "metric": "latency_p50",
                    "max_increase": 0.5,
                    "alpha": 0.01,
                },
                {
                    "name": "latency-p95",
                    "metric": "latency_p95",
                    "max_increase": self.p95_increase,
                    "alpha": 0.01,
                },
            ],
            "min_samples": self.min_samples,
            "max_step_duration": f"{max(self.max_step_duration, self.bake):g}s",
            "on_no_data": "hold",
        }


def _harmful(key: str, value: str) -> bool:
    """Beyond what the gates allow: errors more than one point above legacy, latency more
    than 1.5x (or at least 5 ms more: about the median call's time)."""
    if key == "error-rate":
        return float(value) > 0.01
    if value.endswith("x"):
        return float(value[:-1]) > 1.5
    seconds = float(value[:-2]) / 1000 if value.endswith("ms") else float(value[:-1])
    return seconds >= 0.005
