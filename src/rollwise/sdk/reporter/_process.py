"""The reporting process's CPU and memory, sampled once per window for process gates.

psutil (the ``process`` extra) reads them; without it nothing is sampled and the control
plane's ``cpu``/``memory`` gates say "no process data". Sampling runs on the reporter's
tick, never on a request: ``cpu_percent`` compares the process's CPU times with those of
the previous call (no waiting), ``memory_info`` and ``memory_percent`` are one read each.

CPU is reported as a percent of the **whole machine** (psutil's per-core percent divided by
the number of cores), so 80 means 80% of every core the machine has, whatever its size;
memory as the resident set's percent of the machine's RAM, with the resident bytes. A
sampler made in a parent is rebuilt in a forked child (:meth:`ProcessSampler.reset`), whose
first sample then only starts the CPU clock.
"""

from __future__ import annotations

import importlib
import logging
import os
from typing import Any

__all__ = ["ProcessFigures", "ProcessSampler"]

ProcessFigures = dict[str, float | int]
"""``cpu_percent``, ``memory_percent``, ``rss_bytes``: a sample, before flag and variant."""


def _psutil() -> Any:
    """The psutil module, or None when it is not installed (the extra is optional)."""
    try:
        return importlib.import_module("psutil")  # untyped: used through Any
    except ImportError:
        return None


class ProcessSampler:
    """Samples this process; :meth:`sample` never raises (None: nothing to report)."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger or logging.getLogger("rollwise")
        self._module = _psutil()
        self._process: Any = None
        self._cores = 1
        self._failed = False
        self.reset()

    @property
    def available(self) -> bool:
        """Whether psutil is importable here (else no sample is ever taken)."""
        return self._module is not None

    def reset(self) -> None:
        """Start over for this process (a forked child has another pid and CPU clock)."""
        self._process = None
        self._failed = False
        if self._module is None:
            return
        try:
            self._process = self._module.Process(os.getpid())
            self._cores = max(1, self._module.cpu_count() or 1)
            self._process.cpu_percent(None)  # starts the clock; the first answer is 0.0
        except Exception:  # noqa: BLE001 - the sampler's boundary: logged once by _give_up
            self._give_up()

    def sample(self) -> ProcessFigures | None:
        """CPU since the previous sample and memory now; None without psutil or on error."""
        process = self._process
        if process is None:
            return None
        try:
            with process.oneshot():
                per_core = float(process.cpu_percent(None))
                rss = int(process.memory_info().rss)
                memory = float(process.memory_percent("rss"))
        except Exception:  # noqa: BLE001 - the sampler's boundary: no sample, logged once
            self._give_up()
            return None
        return {
            "cpu_percent": _percent(per_core / self._cores),
            "memory_percent": _percent(memory),
            "rss_bytes": max(0, rss),
        }

    def _give_up(self) -> None:
        """Stop sampling in this process, logging why once."""
        self._process = None
        if not self._failed:
            self._failed = True
            self._logger.warning(
                "rollwise: cannot read this process's CPU and memory; not reporting them",
                exc_info=True,
            )


def _percent(value: float) -> float:
    """Clamped to [0, 100] (a process's CPU time can run ahead of wall time by rounding)."""
    if value != value:  # NaN
        return 0.0
    return min(100.0, max(0.0, round(value, 3)))
