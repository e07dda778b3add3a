"""Metric providers: where the judge's per-variant numbers come from.

A :class:`MetricProvider` answers a :class:`MetricQuery` (flag, environment, the variants
wanted — any number, or a canary and its baseline —, the cumulative window, the gates) with
:class:`StepMetrics` (each variant's metrics by name), or raises
:class:`~rollwise.errors.NoDataError` (no traffic yet for a required variant, or for any) or
:class:`~rollwise.errors.ProviderError` (the source failed). Backends: ``builtin`` (the
control plane's ingested telemetry), ``prometheus`` (PromQL over HTTP), ``nop`` (always no
data). Build them from typed configs through a :class:`ProviderRegistry`::

    registry = default_registry(window_reader=read_windows)
    provider = registry.build({"type": "prometheus", "url": "http://prometheus:9090"})
    metrics = provider.fetch(MetricQuery("checkout", "production", "domain", "legacy",
                                         step_started_at, now, gates))
    judge_step(gates, metrics.baseline, metrics.canary, min_samples=500, bake_elapsed=...)

    arms = provider.fetch(MetricQuery("checkout", "production",
                                      variants=("control", "a", "b"), start=..., end=now))
    arms.variants["a"].requests, arms.pair("a", "control")  # any two as canary/baseline

See docs/judging.md, "Metric providers".
"""

from ._config import ProviderConfigBase
from ._process import ProcessReader
from ._units import UnitReader, UnitWindowLike
from .base import (
    WINDOW_SECONDS,
    Comparison,
    MetricProvider,
    MetricQuery,
    Roles,
    StepMetrics,
    require_traffic,
    window_bounds,
)
from .builtin import (
    BuiltinConfig,
    BuiltinProvider,
    VariantWindowLike,
    WindowReader,
    comparison_counts,
)
from .nop import NopConfig, NopProvider
from .prometheus import (
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
    "Comparison",
    "MetricProvider",
    "MetricQuery",
    "NopConfig",
    "NopProvider",
    "ProcessReader",
    "PrometheusConfig",
    "PrometheusProvider",
    "PrometheusQueryError",
    "ProviderConfig",
    "ProviderConfigBase",
    "ProviderRegistry",
    "Roles",
    "StepMetrics",
    "UnitReader",
    "UnitWindowLike",
    "VariantWindowLike",
    "WindowReader",
    "comparison_counts",
    "default_registry",
    "require_traffic",
    "window_bounds",
]
