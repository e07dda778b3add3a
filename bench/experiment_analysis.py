"""Experiment analysis: the engine on 3 arms x 10 metrics, per-unit aggregation, the SQL path.

Figures (issue 15):

  - analysis: ``analyze()`` on 3 arms x 10 metrics whose per-arm sums come from 10 million
    units (proportions, means and ratios, all with CUPED; sequential intervals, Bayesian,
    power, Holm, guardrails). Target: < 1 s.
  - per-unit aggregation in Python (what an embedded builtin reader would do): 10 million
    per-unit values and covariates into per-arm sums with NumPy, time and peak memory
    (tracemalloc), one metric at a time.
  - the SQL path: exposures of 10 million units (and orders for 30% of them, one before and
    one after exposure) generated inside DuckDB and PostgreSQL (``generate_series``), then
    ``SqlSource.arm_totals`` for a capped mean with CUPED (and a ratio with CUPED, revenue
    per order, the orders' pre-period numerator and denominator): time, rows returned to Python,
    Python's heap peak, the process's max RSS (DuckDB and chDB run in process) and
    PostgreSQL's temporary files (the per-unit aggregation spills past ``work_mem``;
    ``--pg-work-mem 256MB`` sets it for the session). ``--engines`` adds ``clickhouse``
    (chDB in process).

    .venv/bin/python bench/experiment_analysis.py
    .venv/bin/python bench/experiment_analysis.py --units 1000000 --engines duckdb
    .venv/bin/python bench/experiment_analysis.py --engines postgresql --pg-work-mem 256MB
    .venv/bin/python bench/experiment_analysis.py --json

Figures are printed, never asserted; these 2-core machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import resource
import secrets
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import StaticPool

from _timing import median_seconds
from rollwise.analysis.experiment import (
    AnalysisSettings,
    Capping,
    ExperimentData,
    ExperimentMetric,
    MetricData,
    analyze,
)
from rollwise.analysis.experiment.sources import AnalysisWindow
from rollwise.analysis.experiment.sources.sql import SqlMetricQuery, SqlSource
from rollwise.stats.experiment import (
    Covariate,
    Proportion,
    RatioCovariate,
    RatioSample,
    SampleMean,
)

ARMS = {"control": 0.5, "variant_a": 0.25, "variant_b": 0.25}
POSTGRES_URL = "postgresql+psycopg://postgres@/rollwise_test?host=/var/run/postgresql"


def _metrics() -> list[ExperimentMetric]:
    kinds = ["proportion", "mean", "ratio"] * 4
    metrics = []
    for i in range(10):
        kind = kinds[i]
        metrics.append(
            ExperimentMetric(
                f"metric_{i}",
                kind,  # type: ignore[arg-type]
                role="guardrail" if i >= 8 else "primary" if i == 0 else "secondary",
                cuped=True,
                threshold=0.05,
                target_effect=0.02,
            )
        )
    return metrics


def _synthetic_data(units: int, seed: int = 1) -> ExperimentData:
    """Per-arm sums of ``units`` units, drawn from their distributions (no per-unit arrays)."""
    rng = np.random.default_rng(seed)
    counts = dict(zip(ARMS, rng.multinomial(units, list(ARMS.values())), strict=True))
    data = []
    for metric in _metrics():
        samples: dict[str, Any] = {}
        for arm, n in counts.items():
            n = int(n)
            lift = 1.0 + (0.01 if arm == "variant_b" else 0.0)
            if metric.kind == "proportion":
                conv = float(rng.binomial(n, 0.1 * lift))
                samples[arm] = Proportion(n, conv, Covariate(conv * 0.9, conv * 0.9, conv * 0.6))
            elif metric.kind == "mean":
                mean, sd = 30.0 * lift, 40.0
                s = float(rng.normal(mean * n, sd * n**0.5))
                ss = n * (mean**2 + sd**2)
                cov = Covariate(s * 0.95, ss * 0.9, ss * 0.6)
                samples[arm] = SampleMean(n, s, ss, cov)
            else:
                d = float(3.0 * n)
                y = float(rng.normal(12.0 * lift * n, 20.0 * n**0.5))
                # pre-period revenue x and sessions w: means 11 and 3, (co)variances
                # consistent with the metric's (a positive definite 4 x 4 matrix)
                pre = RatioCovariate(
                    sum_x=11.0 * n,
                    sum_x2=n * (256.0 + 121.0),
                    sum_w=3.0 * n,
                    sum_w2=n * (3.0 + 9.0),
                    sum_xw=n * (14.0 + 33.0),
                    sum_xy=n * (150.0 + 132.0),
                    sum_wy=n * (8.0 + 36.0),
                    sum_xd=n * (8.0 + 33.0),
                    sum_wd=n * (1.5 + 9.0),
                )
                samples[arm] = RatioSample(n, y, n * 400.0, d, n * 12.0, n * 50.0, pre)
        data.append(MetricData(metric, samples))
    return ExperimentData("control", ARMS, {a: int(c) for a, c in counts.items()}, data)


def bench_analysis(units: int, repeats: int) -> dict[str, Any]:
    data = _synthetic_data(units)
    settings = AnalysisSettings(sequential=True, tuning=units, correction="holm")
    results = analyze(data, settings)
    seconds = median_seconds(lambda: analyze(data, settings), repeats)
    fixed = median_seconds(lambda: analyze(data, AnalysisSettings()), repeats)
    return {
        "arms": len(ARMS),
        "metrics": len(data.metrics),
        "units": units,
        "analysis_sequential_s": seconds,
        "analysis_fixed_s": fixed,
        "srm_p_value": results.sample_ratio.test.p_value,
        "guardrail_action": results.guardrails.action,
    }


def bench_python_aggregation(units: int, chunk: int = 1_000_000) -> dict[str, Any]:
    """One metric's per-unit values (and covariate) into per-arm sums with NumPy.

    Chunked, as a reader streaming units from a store would do: memory is bounded by the
    chunk, not by the number of units.
    """
    rng = np.random.default_rng(2)
    arm_index = rng.choice(3, p=list(ARMS.values()), size=units).astype(np.int8)
    y = rng.gamma(2.0, 15.0, size=units)
    x = y * 0.8 + rng.normal(0.0, 5.0, size=units)
    tracemalloc.start()
    start = time.perf_counter()
    totals = np.zeros((6, 3))
    for i in range(0, units, chunk):
        idx, yc, xc = (
            arm_index[i : i + chunk],
            np.minimum(y[i : i + chunk], 200.0),
            x[i : i + chunk],
        )
        totals[0] += np.bincount(idx, minlength=3)
        for row, weights in enumerate((yc, yc * yc, xc, xc * xc, xc * yc), start=1):
            totals[row] += np.bincount(idx, weights=weights, minlength=3)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert int(totals[0].sum()) == units
    inputs = y.nbytes + x.nbytes + arm_index.nbytes
    return {
        "units": units,
        "chunk": chunk,
        "seconds": seconds,
        "input_mb": inputs / 1e6,
        "peak_extra_mb": peak / 1e6,
    }


def _generate(engine: Engine, units: int) -> None:
    name = engine.dialect.name
    if name == "postgresql":
        series = f"generate_series(0::bigint, {units - 1}) AS t(i)"
        seconds = "make_interval(secs => i % 864000)"
    elif name == "duckdb":
        series = f"range({units}) AS t(i)"
        seconds = "to_seconds(i % 864000)"
    else:  # clickhouse
        series = f"(SELECT number AS i FROM numbers({units}))"
        seconds = "toIntervalSecond(i % 864000)"
    arm = (
        "CASE WHEN (i * 2654435761) % 4 < 2 THEN 'control' "
        "WHEN (i * 2654435761) % 4 = 2 THEN 'variant_a' ELSE 'variant_b' END"
    )
    seen = f"TIMESTAMP '2026-11-01 00:00:00' + {seconds}"
    if name.startswith("clickhouse"):
        seen = f"toDateTime64('2026-11-01 00:00:00', 6) + {seconds}"
    hour = "INTERVAL 1 HOUR" if name != "postgresql" else "INTERVAL '1 hour'"
    day = "INTERVAL 1 DAY" if name != "postgresql" else "INTERVAL '1 day'"
    engine_clause = " ENGINE = MergeTree ORDER BY user_id" if name.startswith("click") else ""
    with engine.begin() as c:
        c.execute(
            text(
                f"CREATE TABLE bench_exposures{engine_clause} AS "
                f"SELECT i AS user_id, {arm} AS variant, {seen} AS seen_at FROM {series}"
            )
        )
        c.execute(
            text(
                f"CREATE TABLE bench_orders{engine_clause} AS "
                f"SELECT i AS user_id, {seen} + {hour} AS ordered_at, "
                f"CAST((i % 97) + 0.5 AS DOUBLE PRECISION) AS amount FROM {series} "
                f"WHERE (i * 7919) % 10 < 3 "
                f"UNION ALL SELECT i AS user_id, {seen} - {day} AS ordered_at, "
                f"CAST((i % 89) + 0.25 AS DOUBLE PRECISION) AS amount FROM {series} "
                f"WHERE (i * 7919) % 10 < 3"
            )
        )
        if name == "postgresql":
            c.execute(text("ANALYZE bench_exposures"))
            c.execute(text("ANALYZE bench_orders"))


@contextmanager
def _engine(kind: str, url: str, work_mem: str | None = None) -> Iterator[Engine]:
    if kind == "duckdb":
        engine = create_engine("duckdb:///:memory:", poolclass=StaticPool)
        yield engine
        engine.dispose()
    elif kind == "postgresql":
        import psycopg

        admin = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        db = f"rollwise_bench_{secrets.token_hex(4)}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db}"')
        options = {"options": f"-c work_mem={work_mem}"} if work_mem else {}
        engine = create_engine(make_url(url).set(database=db), connect_args=options)
        try:
            yield engine
        finally:
            engine.dispose()
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    else:
        engine = create_engine("clickhousedb://", connect_args={"dsn": "chdb://memory"})
        try:
            yield engine
        finally:
            with engine.begin() as c:
                c.execute(text("DROP TABLE IF EXISTS bench_exposures"))
                c.execute(text("DROP TABLE IF EXISTS bench_orders"))
            engine.dispose()


def _temp_bytes(engine: Engine) -> int:
    """PostgreSQL's bytes spilled to temporary files in this database (0 elsewhere)."""
    if engine.dialect.name != "postgresql":
        return 0
    with engine.connect() as c:
        found = c.execute(
            text("SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()")
        ).scalar()
    return int(found or 0)


def _timed(run: Callable[[], Any]) -> tuple[float, Any, float]:
    tracemalloc.start()
    start = time.perf_counter()
    value = run()
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, value, peak / 1e6


def bench_sql(kind: str, units: int, url: str, work_mem: str | None) -> dict[str, Any]:
    with _engine(kind, url, work_mem) as engine:
        start = time.perf_counter()
        _generate(engine, units)
        generate_s = time.perf_counter() - start
        orders = (
            "SELECT user_id AS unit, ordered_at AS timestamp, amount AS value FROM bench_orders"
        )
        source = SqlSource(
            engine,
            "SELECT user_id AS unit, variant AS arm, seen_at AS timestamp FROM bench_exposures",
            {
                "revenue": SqlMetricQuery(orders),
                "revenue_per_order": SqlMetricQuery(
                    orders,
                    denominator_sql="SELECT user_id AS unit, ordered_at AS timestamp, "
                    "1.0 AS value FROM bench_orders",
                ),
            },
        )
        window = AnalysisWindow(lookback_seconds=7 * 86400)
        metric = ExperimentMetric("revenue", "mean", capping=Capping(upper=90.0), cuped=True)
        exposures_s, exposures, _ = _timed(lambda: source.exposures(window))
        spilled = _temp_bytes(engine)
        metric_s, totals, peak_mb = _timed(lambda: source.arm_totals(metric, window))
        spilled = _temp_bytes(engine) - spilled
        p99 = ExperimentMetric("revenue", "mean", capping=Capping(quantile=0.99))
        p99_s, _, _ = _timed(lambda: source.arm_totals(p99, window))
        ratio = ExperimentMetric("revenue_per_order", "ratio", cuped=True)
        ratio_s, ratio_totals, _ = _timed(lambda: source.arm_totals(ratio, window))
        assert all(t.sum_wd is not None for t in ratio_totals.values())
        return {
            "engine": kind,
            "units": units,
            "generate_s": generate_s,
            "exposures_s": exposures_s,
            "metric_capped_cuped_s": metric_s,
            "metric_p99_cap_s": p99_s,
            "metric_ratio_cuped_s": ratio_s,
            "rows_to_python": len(totals),
            "python_peak_mb": peak_mb,
            "units_seen": sum(exposures.units.values()),
            "engine_temp_mb": spilled / 1e6 if kind == "postgresql" else None,
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--engines", default="duckdb,postgresql")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument(
        "--pg-work-mem", default=None, help="work_mem for the PostgreSQL session (e.g. 256MB)"
    )
    parser.add_argument("--skip-sql", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    figures: dict[str, Any] = {"sql": []}
    # the SQL path first: the process's peak RSS then shows what an in-process engine
    # (DuckDB, chDB) used, before NumPy's arrays raise it
    if not args.skip_sql:
        for kind in [e for e in args.engines.split(",") if e]:
            result = bench_sql(kind, args.units, args.postgres_url, args.pg_work_mem)
            figures["sql"].append(result)
            if not args.json:
                spilled = result["engine_temp_mb"]
                print(
                    f"sql {kind}: {result['units']:,} exposures generated in "
                    f"{result['generate_s']:.1f} s; "
                    f"exposures per arm {result['exposures_s']:.2f} s; "
                    f"capped mean with CUPED {result['metric_capped_cuped_s']:.2f} s; "
                    f"p99-capped mean {result['metric_p99_cap_s']:.2f} s; "
                    f"ratio with CUPED {result['metric_ratio_cuped_s']:.2f} s; "
                    f"{result['rows_to_python']} rows to Python, "
                    f"Python heap peak {result['python_peak_mb']:.2f} MB, "
                    f"process max RSS {result['max_rss_mb']:.0f} MB"
                    + (f", PostgreSQL temp files {spilled:.0f} MB" if spilled is not None else "")
                )
    figures["analysis"] = bench_analysis(args.units, args.repeats)
    if not args.json:
        a = figures["analysis"]
        print(
            f"analysis: {a['arms']} arms x {a['metrics']} metrics, {a['units']:,} units: "
            f"{a['analysis_sequential_s'] * 1000:.1f} ms sequential, "
            f"{a['analysis_fixed_s'] * 1000:.1f} ms fixed horizon (target < 1000 ms)"
        )
    figures["python_aggregation"] = bench_python_aggregation(args.units)
    if not args.json:
        p = figures["python_aggregation"]
        print(
            f"per-unit aggregation in NumPy: {p['units']:,} units in chunks of {p['chunk']:,}, "
            "one metric with covariate: "
            f"{p['seconds']:.2f} s, inputs {p['input_mb']:.0f} MB, "
            f"peak extra {p['peak_extra_mb']:.0f} MB"
        )
    if args.json:
        json.dump(figures, sys.stdout, indent=2)
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
