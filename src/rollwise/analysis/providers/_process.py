"""Process figures for a provider's answer: ``cpu``/``memory`` gates' values per variant.

The builtin provider reads the SDKs' process samples through an injected
:class:`ProcessReader` (the controller binds it to the store's ``process_window``, as it
binds the window reader) and hands each variant's value of each ``cpu``/``memory`` gate to
the judge in ``VariantMetrics.custom`` under the gate's key
(:func:`rollwise.analysis.process_gates.judge_process` reads it there). A variant whose
processes sent no sample gets no value: the gate is "no process data". ``throughput``
needs nothing here: the judge derives it from the per-window request counts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from ...core.gates import Gate
from ..data import VariantMetrics
from ..process_gates import NO_PROCESS_DATA, ProcessFiguresLike, process_values
from ._query import MetricQuery

__all__ = ["ProcessReader", "with_process_figures"]


class ProcessReader(Protocol):
    """Each variant of ``flag`` with process samples in ``[start, end)`` (others absent)."""

    def __call__(
        self, environment: str, flag: str, start: datetime, end: datetime
    ) -> Mapping[str, ProcessFiguresLike]: ...


def with_process_figures(
    query: MetricQuery, metrics: Sequence[VariantMetrics], reader: ProcessReader | None
) -> tuple[list[VariantMetrics], dict[str, str]]:
    """``metrics`` with each variant's ``cpu``/``memory`` gate values added to ``custom``,
    and the gates the canary has no process data for (``missing``: key → reason).

    Reads nothing when no gate of the query needs process samples."""
    gates: list[Gate] = [gate for gate in query.gates if gate.metric.is_resource]
    if not gates:
        return list(metrics), {}
    figures = reader(query.environment, query.flag, query.start, query.end) if reader else {}
    result = []
    for one in metrics:
        values = process_values(gates, figures.get(one.variant))
        if values:
            one = dataclasses.replace(one, custom={**one.custom, **values})
        result.append(one)
    canary = query.roles.canary if query.roles is not None else None
    missing = {
        gate.key: NO_PROCESS_DATA
        for gate in gates
        if canary is not None and process_values([gate], figures.get(canary)) == {}
    }
    return result, missing
