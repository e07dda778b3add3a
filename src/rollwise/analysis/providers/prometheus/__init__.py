"""The prometheus provider: each variant's step, in PromQL, from the SDK's exported metrics."""

from __future__ import annotations

from ._provider import (
    BasicAuth,
    PrometheusConfig,
    PrometheusProvider,
    PrometheusQueryError,
)

__all__ = [
    "BasicAuth",
    "PrometheusConfig",
    "PrometheusProvider",
    "PrometheusQueryError",
]
