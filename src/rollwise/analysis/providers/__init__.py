"""Metric providers: where the judge's per-variant numbers come from.

A :class:`MetricProvider` answers a step's :class:`MetricQuery` (flag, environment, canary
and baseline variants, the step's cumulative window, its gates) with :class:`StepMetrics`,
or raises :class:`~rollwise.errors.NoDataError` (nothing for the canary yet) or
:class:`~rollwise.errors.ProviderError` (the source failed). Backends: ``builtin`` (the
control plane's ingested telemetry), ``prometheus`` (PromQL over HTTP), ``nop`` (always no
data). Build them from typed configs through a :class:`ProviderRegistry`::

    registry = default_registry(window_reader=read_windows)
    provider = registry.build({"type": "prometheus", "url": "http://prometheus:9090"})
    metrics = provider.fetch(MetricQuery("checkout", "production", "domain", "legacy",
                                         step_started_at, now, gates))
    judge_step(gates, metrics.baseline, metrics.canary, min_samples=500, bake_elapsed=...)

See docs/judging.md, "Metric providers".
"""

from ._config import ProviderConfigBase
from .base import WINDOW_SECONDS, MetricProvider, MetricQuery, StepMetrics, window_bounds
from .builtin import (
    BuiltinConfig,
    BuiltinProvider,
    VariantWindowLike,
    WindowReader,
    comparison_counts,
)
from .nop import NopConfig, NopProvider
from .prometheus._provider import (
    BasicAuth,
    PrometheusConfig,
    PrometheusProvider,
    PrometheusQueryError,
)
from .registry import ProviderConfig, ProviderRegistry, default_registry

__all__ = [
    "WINDOW_SECONDS",
    "BasicAuth",
    "BuiltinConfig",
    "BuiltinProvider",
    "MetricProvider",
    "MetricQuery",
    "NopConfig",
    "NopProvider",
    "PrometheusConfig",
    "PrometheusProvider",
    "PrometheusQueryError",
    "ProviderConfig",
    "ProviderConfigBase",
    "ProviderRegistry",
    "StepMetrics",
    "VariantWindowLike",
    "WindowReader",
    "comparison_counts",
    "default_registry",
    "window_bounds",
]
