"""The ``sql`` source on real engines: PostgreSQL, DuckDB and ClickHouse (chDB).

Each engine gets the same seeded dataset in tables of its own; the per-arm sums computed
inside the engine must equal the ones computed by plain loops in ``_dataset``.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterator
from dataclasses import astuple
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from rollwise.analysis.experiment import (
    AnalysisSettings,
    Capping,
    ExperimentMetric,
    analyze,
    collect,
)
from rollwise.analysis.experiment.sources import AnalysisWindow, BuiltinSource
from rollwise.analysis.experiment.sources.sql import SqlMetricQuery, SqlSource
from rollwise.errors import ProviderError

from ..._db import fresh_postgres_database
from ._dataset import (
    START,
    WEIGHTS,
    excluded_units,
    expected_totals,
    load,
    make_dataset,
    queries,
    unit_aggregates,
)

DATA = make_dataset(seed=1, units=600)

METRICS = {
    "converted": ExperimentMetric("converted", "proportion"),
    "revenue": ExperimentMetric("revenue", "mean"),
    "revenue_capped": ExperimentMetric("revenue_capped", "mean", capping=Capping(upper=200.0)),
    "revenue_p99": ExperimentMetric("revenue_p99", "mean", capping=Capping(quantile=0.99)),
    "revenue_cuped": ExperimentMetric("revenue_cuped", "mean", cuped=True),
    "converted_cuped": ExperimentMetric("converted_cuped", "proportion", cuped=True),
    "revenue_per_session": ExperimentMetric("revenue_per_session", "ratio"),
    "revenue_per_session_cuped": ExperimentMetric("revenue_per_session_cuped", "ratio", cuped=True),
}

WINDOWS = {
    "all": AnalysisWindow(),
    "bounded": AnalysisWindow(
        start=START + timedelta(hours=12),
        end=START + timedelta(hours=200),
        conversion_seconds=72 * 3600,
        lookback_seconds=7 * 86400,
    ),
}


@pytest.fixture(scope="module", params=["postgresql", "duckdb", "clickhouse"])
def source(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SqlSource]:
    prefix = f"rw_{secrets.token_hex(4)}"
    engine: Engine
    if request.param == "postgresql":
        with fresh_postgres_database() as url:
            engine = create_engine(url)
            yield _source(engine, prefix)
            engine.dispose()
        return
    if request.param == "duckdb":
        path: Path = tmp_path_factory.mktemp("duckdb") / "warehouse.duckdb"
        engine = create_engine(f"duckdb:///{path}")
    else:
        engine = create_engine("clickhousedb://", connect_args={"dsn": "chdb://memory"})
    yield _source(engine, prefix)
    if request.param == "clickhouse":  # chDB's memory session is shared by the process
        with engine.begin() as connection:
            for name in ("exposures", "orders", "sessions"):
                connection.execute(text(f"DROP TABLE IF EXISTS {prefix}_{name}"))
    engine.dispose()


def _source(engine: Engine, prefix: str) -> SqlSource:
    load(engine, DATA, prefix)
    exposures, orders, sessions = queries(prefix)
    metrics = {key: SqlMetricQuery(orders) for key in METRICS}
    for key in ("revenue_per_session", "revenue_per_session_cuped"):
        metrics[key] = SqlMetricQuery(orders, denominator_sql=sessions)
    return SqlSource(engine, exposures, metrics)


def test_exposures_count_first_exposures_and_drop_units_seen_in_two_arms(
    source: SqlSource,
) -> None:
    found = source.exposures(AnalysisWindow())
    expected = expected_totals(DATA, METRICS["converted"], AnalysisWindow())
    assert found.units == {arm: totals.n for arm, totals in expected.items()}
    assert found.excluded_units == excluded_units(DATA) > 0


@pytest.mark.parametrize("window", list(WINDOWS), ids=list(WINDOWS))
@pytest.mark.parametrize("key", list(METRICS))
def test_per_arm_sums_match_the_reference(source: SqlSource, key: str, window: str) -> None:
    metric = METRICS[key]
    found = source.arm_totals(metric, WINDOWS[window])
    expected = expected_totals(DATA, metric, WINDOWS[window])
    assert set(found) == set(expected)
    for arm, totals in expected.items():
        got = found[arm]
        assert got.n == totals.n
        want = [-1.0 if v is None else v for v in astuple(totals)[1:]]
        have = [-1.0 if v is None else v for v in astuple(got)[1:]]
        assert have == pytest.approx(want, rel=1e-9, abs=1e-9), arm


def test_collect_and_analyze_end_to_end(source: SqlSource) -> None:
    metrics = [
        METRICS["converted"],
        METRICS["revenue_capped"],
        METRICS["revenue_per_session"],
        ExperimentMetric("revenue_cuped", "mean", role="guardrail", threshold=0.5, cuped=True),
    ]
    data = collect(source, metrics, control="control", weights=WEIGHTS)
    results = analyze(data, AnalysisSettings(sequential=True, tuning=600))
    assert not results.sample_ratio.mismatch
    assert results.sample_ratio.excluded_units == excluded_units(DATA)
    assert results.metric("revenue_capped").arms[1].arm == "variant_b"
    assert results.guardrails.action == "continue"
    assert results.metric("revenue_cuped").cuped_theta["variant_a"] is not None
    assert results.to_dict()["metrics"][0]["metric"] == "converted"


def _same(actual: Any, expected: Any, where: str = "") -> None:
    """Equal JSON, floats to 1e-9 relative (sums in another engine, another order)."""
    if isinstance(expected, dict):
        assert actual.keys() == expected.keys(), where
        for name in expected:
            _same(actual[name], expected[name], f"{where}.{name}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), where
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _same(a, e, f"{where}.{index}")
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=1e-9, abs=1e-12), where
    else:
        assert actual == expected, where


@pytest.mark.parametrize("sequential", [False, True], ids=["fixed", "sequential"])
def test_ratio_cuped_in_the_engine_gives_the_builtin_paths_numbers(
    source: SqlSource, sequential: bool
) -> None:
    """The sums pushed into the engine and the builtin reader's per-unit folding agree to
    1e-9 on every figure of a ratio metric with and without CUPED."""
    metrics = [METRICS["revenue_per_session"], METRICS["revenue_per_session_cuped"]]
    settings = AnalysisSettings(sequential=sequential, tuning=600)
    builtin = BuiltinSource(
        unit_aggregates(DATA, [m.key for m in metrics], AnalysisWindow()), "exp"
    )
    expected = analyze(collect(builtin, metrics, control="control", weights=WEIGHTS), settings)
    found = analyze(collect(source, metrics, control="control", weights=WEIGHTS), settings)
    _same(found.to_dict(), expected.to_dict())
    result = found.metric("revenue_per_session_cuped")
    assert all(theta is not None and math.isfinite(theta) for theta in result.cuped_theta.values())
    unadjusted = found.metric("revenue_per_session")
    assert all(t is None for t in unadjusted.cuped_theta.values())
    for adjusted, raw in zip(result.arms, unadjusted.arms, strict=True):
        assert adjusted.absolute.std_error < raw.absolute.std_error


def test_a_failing_query_is_a_provider_error_naming_the_metric(source: SqlSource) -> None:
    broken = SqlSource(
        source.engine, source.exposures_sql, {"m": SqlMetricQuery("SELECT nope FROM missing")}
    )
    with pytest.raises(ProviderError, match="the SQL for m failed"):
        broken.arm_totals(ExperimentMetric("m", "mean"), AnalysisWindow())
