"""The metric provider contract: a query naming any number of variants in, each one's metrics out.

A look (the judge's at a rollout step, an experiment's analysis, a release comparison)
needs what each named variant served **since the window started** (cumulative, the same
window for all: see docs/judging.md). A provider answers that from wherever the numbers
live (the control plane's own telemetry, Prometheus) and has exactly three outcomes, so
"no data" can never pass for a result:

- :class:`StepMetrics`: each variant's :class:`~rollwise.analysis.VariantMetrics`, by name;
- :class:`~rollwise.errors.NoDataError`: the source answered but has nothing in the window
  for a variant the query requires (a rollout's canary), or for any variant at all (no
  requests yet, an unknown flag, a window of zero length);
- :class:`~rollwise.errors.ProviderError`: the source failed (unreachable, timed out,
  refused the credentials or the query).

Canary-vs-baseline is one use of it: a query built as a comparison (``MetricQuery(flag,
environment, canary, baseline, start, end, gates)``) requires the canary's traffic and its
answer gives :attr:`StepMetrics.canary` and :attr:`StepMetrics.baseline`. The controller
treats both errors as "no data" for the step, with ``str(error)`` and ``error.details`` in
the evidence. A variant without traffic that is not required (a rollout's baseline) is not
an error: it comes back with zero requests and the judge reports it short of its minimum
sample, so that a significant failure of the canary on an absolute bound still rolls back.

A gate the provider cannot serve (a custom gate on ``builtin``, a mismatch rate on
``prometheus``) does not fail the whole query either: its value is left out and the
reason is in :attr:`StepMetrics.missing`, so one unservable gate never hides a failing
error rate. :meth:`MetricProvider.validate_gates` reports such gates up front, for an API
that wants to refuse the rollout instead.

This module is the contract and the :class:`MetricProvider` Protocol; the types live in
``_query`` (what a look asks) and ``_answer`` (what a provider gives back).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ...core.gates import Gate
from ._answer import Comparison, StepMetrics, require_traffic
from ._query import WINDOW_SECONDS, MetricQuery, Roles, window_bounds

__all__ = [
    "WINDOW_SECONDS",
    "Comparison",
    "MetricProvider",
    "MetricQuery",
    "Roles",
    "StepMetrics",
    "require_traffic",
    "window_bounds",
]


class MetricProvider(Protocol):
    """Answers a step's :class:`MetricQuery`. Implementations must be thread-safe."""

    def fetch(self, query: MetricQuery) -> StepMetrics:
        """Each queried variant's metrics, or raise NoDataError / ProviderError (module docs)."""
        ...

    def validate_gates(self, gates: Sequence[Gate]) -> None:
        """Raise :class:`~rollwise.errors.ConfigError` naming each gate this provider
        cannot serve (``gates.<i>.metric`` or ``gates.<i>.query``) and why."""
        ...

    def close(self) -> None:
        """Release connections; the provider must not be used afterwards."""
        ...
