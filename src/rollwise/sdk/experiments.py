"""Exposures and tracked events: what an experiment's analysis needs from the SDK.

The control plane's document names the running experiments (``experiments``: key, flag,
arms, the event names their metrics read). For those flags only, the client wraps the
compiled evaluator in :meth:`ExperimentLog.wrap`: an evaluation bucketed by the split
(reason ``split``) into one of the arms is an **exposure**, logged the first time this
process sees the unit (a bounded set of recently seen units; the control plane keeps the
first exposure per unit anyway). Flags without a running experiment are not wrapped:
evaluation costs them nothing more.

``track(event, context, value)`` keeps an event only when a running experiment reads it,
for each unit attribute those experiments bucket by. Both buffers are bounded: when full,
new items are dropped and counted (``dropped_exposures``, ``dropped_events``); the reporter
drains them into its batches. Nothing here raises into the application.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from ..core.evaluation import Evaluation, Evaluator, Reason
from ..core.flags import ExperimentInfo, Flag

__all__ = ["ExperimentLog", "ExperimentPlan"]

MAX_SEEN = 100_000
"""Units remembered per experiment and process as already exposed (oldest forgotten)."""
MAX_PENDING = 10_000
"""Exposures, and events, kept between two reporter ticks (more are dropped, counted)."""

_Unit = tuple[str, tuple[str, ...]]  # the unit attribute and its fallbacks


class ExperimentPlan:
    """One configuration's running experiments, resolved for one environment."""

    def __init__(
        self, infos: list[ExperimentInfo] | None, flags: Mapping[str, Flag], environment: str
    ) -> None:
        self.by_flag: dict[str, tuple[str, frozenset[str], _Unit]] = {}
        self.units_of_event: dict[str, tuple[_Unit, ...]] = {}
        events: dict[str, set[_Unit]] = {}
        for info in infos or ():
            flag = flags.get(info.flag)
            state = flag.environments.get(environment) if flag is not None else None
            if state is None:
                continue
            unit: _Unit = (state.unit, tuple(state.unit_fallbacks))
            self.by_flag[info.flag] = (info.key, frozenset(info.arms), unit)
            for event in info.events:
                events.setdefault(event, set()).add(unit)
        self.units_of_event = {event: tuple(sorted(units)) for event, units in events.items()}


def _unit_of(context: Mapping[str, Any], unit: _Unit) -> str | None:
    attribute, fallbacks = unit
    for name in (attribute, *fallbacks):
        value = context.get(name)
        if value is None or value is False or value == "":
            continue
        if isinstance(value, str | int | float):
            return str(value)[:200]
    return None


class ExperimentLog:
    """Pending exposures and events of one client; thread-safe, bounded, no thread."""

    def __init__(
        self,
        *,
        max_seen: int = MAX_SEEN,
        max_pending: int = MAX_PENDING,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._max_seen = max_seen
        self._max_pending = max_pending
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, dict[str, None]] = {}  # per experiment, oldest first
        self._exposures: deque[dict[str, Any]] = deque()
        self._events: deque[dict[str, Any]] = deque()
        self.plan = ExperimentPlan(None, {}, "")
        self.dropped_exposures = 0
        self.dropped_events = 0

    def configure(self, plan: ExperimentPlan) -> None:
        self.plan = plan

    # -- the hot path of experiment flags -------------------------------------------------

    def wrap(self, flag: str, evaluator: Evaluator) -> Evaluator:
        """``evaluator``, logging the first split evaluation of each unit into an arm.

        A unit already seen costs a reason check, a membership test of the arm, one
        ``context.get`` and one dict lookup (no allocation)."""
        planned = self.plan.by_flag.get(flag)
        if planned is None:
            return evaluator
        experiment, arms, unit = planned
        attribute = unit[0]
        seen = self._seen.setdefault(experiment, {})
        split = Reason.SPLIT
        expose = self._expose

        def evaluate(context: Mapping[str, Any]) -> Evaluation:
            result = evaluator(context)
            if result.reason == split and result.variant in arms:
                name = context.get(attribute)
                if name.__class__ is not str or not name or len(name) > 200:
                    name = _unit_of(context, unit)
                if name is not None and name not in seen:
                    expose(experiment, name, result.variant)
            return result

        return evaluate

    def _expose(self, experiment: str, unit: str, arm: str) -> None:
        try:
            with self._lock:
                seen = self._seen.setdefault(experiment, {})
                if unit in seen:
                    return
                seen[unit] = None
                if len(seen) > self._max_seen:
                    del seen[next(iter(seen))]
                if len(self._exposures) >= self._max_pending:
                    self.dropped_exposures += 1
                    return
                self._exposures.append(
                    {"experiment": experiment, "unit": unit, "arm": arm, "at": self._now()}
                )
        except Exception:  # noqa: BLE001 - never raise into the evaluation
            self.dropped_exposures += 1

    # -- track -----------------------------------------------------------------------------

    def track(self, event: str, context: Mapping[str, Any], value: float | None) -> bool:
        """Keep ``event`` for the context's unit(s) if a running experiment reads it.

        True when kept; False when no running experiment reads it, the context has no
        unit, the value is not a finite number, or the buffer is full (counted).
        """
        units = self.plan.units_of_event.get(event) if isinstance(event, str) else None
        if not units:
            return False
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                return False
            value = float(value)
            if not math.isfinite(value):
                return False
        names = {name for unit in units if (name := _unit_of(context, unit)) is not None}
        if not names:
            return False
        at = self._now()
        with self._lock:
            for name in sorted(names):
                if len(self._events) >= self._max_pending:
                    self.dropped_events += 1
                    return False
                self._events.append({"event": event, "unit": name, "value": value, "at": at})
        return True

    # -- the reporter's side ---------------------------------------------------------------

    def drain(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Everything pending (exposures, events), removed from the buffers."""
        with self._lock:
            exposures, events = list(self._exposures), list(self._events)
            self._exposures.clear()
            self._events.clear()
        return exposures, events

    def pending(self) -> tuple[int, int]:
        return len(self._exposures), len(self._events)

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)
