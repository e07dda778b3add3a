"""An experiment's results from per-arm sufficient statistics, whatever each metric's source.

One computation for everyone who reads results: ``GET /api/v1/experiments/{key}/results``
and the controller's guardrail check (:mod:`.experiments`). A ``builtin`` metric's sums are
computed by the store in its database (``Tx.experiment_data.exposures`` and
``Tx.experiment_data.arm_totals``); a ``sql`` metric's by :class:`SqlSource` inside the user's
own database or warehouse, whose SQLAlchemy URL is read from the control plane's
environment variable the metric names (``connection_env``). Its exposures come from the
metric's ``exposures_query`` or, when the URL is the control plane's own database, from
rollwise's ``experiment_exposures`` table (mixed units excluded, as for builtin metrics).
:func:`rollwise.analysis.experiment.analyze` turns the sums into the results: the
sample-ratio check first, then each metric's arms against control, then the guardrail
verdict.

Engines for sql metrics are made per analysis (without a pool) and disposed when it ends:
a results request or a guardrail look opens one connection per warehouse and keeps none,
so no URL or connection outlives the request that read the variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import NullPool

from ..analysis.experiment import (
    AnalysisSettings,
    Capping,
    ExperimentData,
    ExperimentMetric,
    ExperimentResults,
    analyze,
    collect,
)
from ..analysis.experiment._json import num
from ..analysis.experiment.sources.base import (
    AnalysisWindow,
    ArmTotals,
    Exposures,
    MetricSource,
)
from ..analysis.experiment.sources.builtin import BuiltinSource
from ..analysis.experiment.sources.sql import SqlMetricQuery, SqlSource
from ..core.experiment import ExperimentDefinition, ExperimentMetricSpec, MetricRole
from ..core.flags import NAME_PATTERN
from ..errors import ConfigError, ConflictError, ProviderError
from ..store import Tx
from ..store.experiments import ExperimentRecord

__all__ = [
    "ExperimentAnalysis",
    "MetricSourceError",
    "analyze_experiment",
    "engine_metric",
    "experiment_results",
]


class MetricSourceError(ConflictError):
    """A sql metric's database cannot answer now (its variable unset, the database
    unreachable, the query failing): the definition is fine, the control plane's
    surroundings are not. A 409 whose details name the metric and the variable."""

    code = "metric_source_unavailable"


def engine_metric(role: MetricRole, spec: ExperimentMetricSpec) -> ExperimentMetric:
    """The engine's view of a stored metric definition."""
    return ExperimentMetric(
        key=spec.key,
        kind=spec.kind,
        direction=spec.direction,
        role=role,
        capping=Capping(upper=spec.capping) if spec.capping is not None else None,
        cuped=spec.cuped,
        threshold=spec.threshold or 0.0,
        target_effect=spec.target_effect,
    )


class _StoreReader:
    """The builtin source's reader over one transaction (a ``UnitAggregateReader``)."""

    def __init__(self, tx: Tx, definition: ExperimentDefinition) -> None:
        self._tx = tx
        self._specs = {spec.key: spec for _, spec in definition.metrics()}

    def exposures(self, experiment: str, window: AnalysisWindow) -> Exposures:
        return self._tx.experiment_data.exposures(experiment, window)

    def arm_totals(
        self, experiment: str, metric: ExperimentMetric, window: AnalysisWindow
    ) -> Mapping[str, ArmTotals]:
        return self._tx.experiment_data.arm_totals(
            experiment, metric, self._specs[metric.key], window
        )


@dataclass(frozen=True, slots=True)
class ExperimentAnalysis:
    """What the engine read (per-arm sufficient statistics) and what it concluded."""

    data: ExperimentData
    results: ExperimentResults

    def per_arm(self) -> dict[str, dict[str, Any]]:
        """Units and value of every metric per arm, as JSON-ready data."""
        arms: dict[str, dict[str, Any]] = {arm: {} for arm in self.data.weights}
        for item in self.data.metrics:
            for arm, sample in item.samples.items():
                arms.setdefault(arm, {})[item.metric.key] = {
                    "units": sample.n,
                    "value": num(sample.mean),
                }
        return arms


# -- the sql source: one engine per (variable, exposures query), per analysis ---------------


def _store_exposures_sql(experiment: str) -> str:
    """rollwise's own exposure log as the sql source's exposures query.

    A mixed unit (seen in several arms) is emitted a second time with arm ``''``, so the
    source's "several arms" rule drops and counts it exactly like the builtin reader.
    The key is inlined: it matches ``NAME_PATTERN``, so it holds no quote.
    """
    if not re.match(NAME_PATTERN, experiment):  # pragma: no cover - keys are validated
        raise ValueError(f"not an experiment key: {experiment!r}")
    where = f"x.experiment = '{experiment}'"
    return (
        "SELECT x.unit AS unit, x.arm AS arm, x.first_seen AS timestamp\n"
        f"FROM experiment_exposures x WHERE {where}\n"
        "UNION ALL\n"
        "SELECT x.unit AS unit, '' AS arm, x.first_seen AS timestamp\n"
        f"FROM experiment_exposures x WHERE {where} AND x.mixed = TRUE"
    )


def _database(url: URL) -> tuple[Any, ...]:
    """What identifies a database whatever the driver or the password in the URL."""
    host = url.host or url.query.get("host")
    return (url.get_backend_name(), host, url.port, url.username, url.database)


def _control_plane_url(tx: Tx) -> URL:
    return tx.database_url


def _warehouse_url(spec: ExperimentMetricSpec, environ: Mapping[str, str]) -> URL:
    name = spec.connection_env or ""
    value = environ.get(name, "").strip()
    if not value:
        raise MetricSourceError(
            f"metric {spec.key!r}: the environment variable {name} (the SQLAlchemy URL of "
            "its database) is not set on the control plane",
            metric=spec.key,
            source="sql",
            connection_env=name,
            reason="variable_not_set",
        )
    try:
        return make_url(value)
    except (ArgumentError, ValueError):  # never echo the value: it may hold a password
        raise MetricSourceError(
            f"metric {spec.key!r}: the environment variable {name} does not hold a "
            "SQLAlchemy URL (dialect+driver://user:password@host/database)",
            metric=spec.key,
            source="sql",
            connection_env=name,
            reason="invalid_url",
        ) from None


def _engine(spec: ExperimentMetricSpec, url: URL) -> Engine:
    try:
        return create_engine(url, poolclass=NullPool)
    except (ArgumentError, ImportError) as error:  # an unknown dialect, a missing driver
        raise MetricSourceError(
            f"metric {spec.key!r}: cannot use the database in {spec.connection_env}: "
            f"{type(error).__name__}: {error}",
            metric=spec.key,
            source="sql",
            connection_env=spec.connection_env,
            reason="engine_unavailable",
        ) from None


def _exposures_sql(
    tx: Tx, record: ExperimentRecord, path: str, spec: ExperimentMetricSpec, url: URL
) -> str:
    if spec.exposures_query is not None:
        return spec.exposures_query
    if _database(url) == _database(_control_plane_url(tx)):
        return _store_exposures_sql(record.key)
    raise ConfigError.single(
        None,
        f"{path}.exposures_query",
        f"metric {spec.key!r} reads a database that is not the control plane's "
        f"({spec.connection_env}): it needs an exposures_query returning unit, arm, "
        "timestamp from that database's exposure log",
    )


@contextmanager
def _sql_sources(
    tx: Tx, record: ExperimentRecord, environ: Mapping[str, str]
) -> Iterator[dict[str, SqlSource]]:
    """A :class:`SqlSource` per sql metric (metrics sharing a variable and exposures
    query share one engine); every engine is disposed on exit."""
    definition = record.definition
    paths = {
        spec.key: f"{name}.{index}"
        for name, specs in (
            ("primary", definition.primary),
            ("secondary", definition.secondary),
            ("guardrails", definition.guardrails),
        )
        for index, spec in enumerate(specs)
    }
    groups: dict[tuple[str, str], tuple[URL, list[ExperimentMetricSpec]]] = {}
    for _, spec in definition.metrics():
        if spec.source != "sql":
            continue
        url = _warehouse_url(spec, environ)
        exposures = _exposures_sql(tx, record, paths[spec.key], spec, url)
        key = (url.render_as_string(hide_password=False), exposures)
        groups.setdefault(key, (url, []))[1].append(spec)
    sources: dict[str, SqlSource] = {}
    with ExitStack() as stack:
        for (_, exposures), (url, specs) in groups.items():
            engine = _engine(specs[0], url)
            stack.callback(engine.dispose)
            queries = {
                spec.key: SqlMetricQuery(spec.query or "", spec.denominator_query) for spec in specs
            }
            source = SqlSource(engine, exposures, queries)
            for spec in specs:
                sources[spec.key] = source
        yield sources


@dataclass(frozen=True, slots=True)
class _Sources:
    """The engine's one source over several: each metric read where its spec says."""

    builtin: BuiltinSource
    sql: Mapping[str, SqlSource]
    specs: Mapping[str, ExperimentMetricSpec]
    exposures_from: str | None  # a sql metric's key, or None: the store's exposures

    def _failed(self, key: str, error: Exception) -> MetricSourceError:
        spec = self.specs[key]
        message = str(error)
        password = self.sql[key].engine.url.password
        if password:
            message = message.replace(str(password), "***")
        return MetricSourceError(
            f"metric {key!r}: its database ({spec.connection_env}) did not answer: {message}",
            metric=key,
            source="sql",
            connection_env=spec.connection_env,
            reason="query_failed",
        )

    def exposures(self, window: AnalysisWindow) -> Exposures:
        if self.exposures_from is None:
            return self.builtin.exposures(window)
        try:
            return self.sql[self.exposures_from].exposures(window)
        except (ProviderError, ValueError) as error:
            raise self._failed(self.exposures_from, error) from error

    def arm_totals(
        self, metric: ExperimentMetric, window: AnalysisWindow
    ) -> Mapping[str, ArmTotals]:
        source = self.sql.get(metric.key)
        if source is None:
            return self.builtin.arm_totals(metric, window)
        try:
            return source.arm_totals(metric, window)
        except (ProviderError, ValueError) as error:
            raise self._failed(metric.key, error) from error


def _sources_of(definition: ExperimentDefinition) -> dict[str, str]:
    return {spec.key: spec.source for _, spec in definition.metrics()}


def analyze_experiment(
    tx: Tx,
    record: ExperimentRecord,
    settings: AnalysisSettings,
    *,
    environ: Mapping[str, str] | None = None,
) -> ExperimentAnalysis:
    """Analyse ``record`` (running: up to now; stopped: up to when it stopped).

    The sample-ratio check counts the store's exposures, unless every metric is a sql
    metric: then the first metric's exposures (its database's log). ``environ`` is where
    ``connection_env`` variables are read (default: the process's environment).
    """
    definition = record.definition
    window = AnalysisWindow(start=None, end=record.stopped_at)
    metrics = [engine_metric(role, spec) for role, spec in definition.metrics()]
    specs = {spec.key: spec for _, spec in definition.metrics()}
    all_sql = all(spec.source == "sql" for spec in specs.values())
    with _sql_sources(tx, record, os.environ if environ is None else environ) as sql:
        source: MetricSource = _Sources(
            BuiltinSource(_StoreReader(tx, definition), record.key),
            sql,
            specs,
            definition.primary[0].key if all_sql else None,
        )
        data = collect(
            source,
            metrics,
            control=definition.control_arm,
            weights={arm: float(weight) for arm, weight in definition.arms.items()},
            window=window,
        )
    return ExperimentAnalysis(data, analyze(data, settings))


def experiment_results(
    tx: Tx,
    record: ExperimentRecord,
    settings: AnalysisSettings,
    *,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Results of ``record`` (running or stopped) as JSON-ready data (the API's body).

    ``source`` is ``builtin``, ``sql`` or ``mixed``; ``metric_sources`` names each
    metric's."""
    analysis = analyze_experiment(tx, record, settings, environ=environ)
    sources = _sources_of(record.definition)
    kinds = set(sources.values())
    return {
        "experiment": record.key,
        "state": record.state,
        "started_at": record.started_at,
        "stopped_at": record.stopped_at,
        "source": kinds.pop() if len(kinds) == 1 else "mixed",
        "metric_sources": sources,
        "units": dict(analysis.data.units),
        "excluded_units": analysis.data.excluded_units,
        "per_arm": analysis.per_arm(),
        "results": analysis.results.to_dict(),
    }
