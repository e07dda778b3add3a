"""The prometheus provider: each variant's step, in PromQL, from the SDK's exported metrics.

``_provider`` answers a query; ``_config`` is its config; ``_http`` talks to Prometheus;
``_promql`` writes the queries; ``_reading``, ``_counters`` and ``_histogram`` turn the
answers into counts, windows and latency sketches.
"""

from __future__ import annotations

from ._config import BasicAuth, PrometheusConfig
from ._http import PrometheusQueryError
from ._provider import PrometheusProvider

__all__ = [
    "BasicAuth",
    "PrometheusConfig",
    "PrometheusProvider",
    "PrometheusQueryError",
]
