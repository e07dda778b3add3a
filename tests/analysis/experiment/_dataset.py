"""A small seeded experiment dataset, the per-arm totals it should give, and loaders.

The expected totals are computed here with plain loops, independently of the SQL the
source generates, so a backend test compares the engine's GROUP BY with a second
implementation of the same rules (first exposure, events after it, units in two arms
dropped, zeros for units without events, capping of the per-unit value, CUPED lookback).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from rollwise.analysis.experiment import ExperimentMetric
from rollwise.analysis.experiment.sources import AnalysisWindow, ArmTotals, InMemoryUnitAggregates

START = datetime(2026, 11, 1)
ARMS = ("control", "variant_a", "variant_b")
WEIGHTS = {"control": 0.5, "variant_a": 0.25, "variant_b": 0.25}


@dataclass
class Dataset:
    exposures: list[tuple[str, str, datetime]] = field(default_factory=list)
    orders: list[tuple[str, datetime, float]] = field(default_factory=list)
    sessions: list[tuple[str, datetime, float]] = field(default_factory=list)


def make_dataset(seed: int = 1, units: int = 600) -> Dataset:
    rng = random.Random(seed)
    data = Dataset()
    for i in range(units):
        unit = f"u{i:05d}"
        r = rng.random()
        arm = ARMS[0] if r < 0.5 else ARMS[1] if r < 0.75 else ARMS[2]
        first = START + timedelta(hours=rng.uniform(0, 240))
        data.exposures.append((unit, arm, first))
        if rng.random() < 0.3:  # logged again later: the first exposure counts
            data.exposures.append((unit, arm, first + timedelta(hours=rng.uniform(1, 48))))
        if rng.random() < 0.02:  # seen in another arm too: dropped from the analysis
            other = ARMS[(ARMS.index(arm) + 1) % 3]
            data.exposures.append((unit, other, first + timedelta(hours=1)))
        lift = {"control": 1.0, "variant_a": 1.1, "variant_b": 1.3}[arm]
        for _ in range(rng.randint(0, 6)):  # orders before and after exposure
            at = first + timedelta(hours=rng.uniform(-400, 300))
            data.orders.append((unit, at, round(rng.expovariate(1 / 20) * lift, 2)))
        if rng.random() < 0.01:  # a whale: capping matters
            data.orders.append((unit, first + timedelta(hours=2), 5000.0))
        for _ in range(rng.randint(0, 8)):
            at = first + timedelta(hours=rng.uniform(-100, 300))
            data.sessions.append((unit, at, 1.0))
    return data


def _first_exposures(data: Dataset, window: AnalysisWindow) -> dict[str, tuple[str, datetime]]:
    arms: dict[str, set[str]] = {}
    first: dict[str, datetime] = {}
    for unit, arm, at in data.exposures:
        if window.start is not None and at < window.start:
            continue
        if window.end is not None and at >= window.end:
            continue
        arms.setdefault(unit, set()).add(arm)
        first[unit] = min(first.get(unit, at), at)
    return {u: (next(iter(a)), first[u]) for u, a in arms.items() if len(a) == 1}


def excluded_units(data: Dataset) -> int:
    arms: dict[str, set[str]] = {}
    for unit, arm, _ in data.exposures:
        arms.setdefault(unit, set()).add(arm)
    return sum(len(a) > 1 for a in arms.values())


def _per_unit(
    rows: Iterable[tuple[str, datetime, float]],
    units: dict[str, tuple[str, datetime]],
    window: AnalysisWindow,
    *,
    pre: bool,
) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for unit, at, value in rows:
        if unit not in units:
            continue
        exposed = units[unit][1]
        if pre:
            keep = exposed - timedelta(seconds=window.lookback_seconds) <= at < exposed
        else:
            keep = at >= exposed
            if window.conversion_seconds is not None:
                keep = keep and at < exposed + timedelta(seconds=window.conversion_seconds)
            if window.end is not None:
                keep = keep and at < window.end
        if keep:
            found.setdefault(unit, []).append(value)
    return found


def _quantile(values: list[float], q: float) -> float:
    """Linear interpolation between order statistics (percentile_cont / numpy's default)."""
    s = sorted(values)
    pos = q * (len(s) - 1)
    low = int(pos)
    high = min(low + 1, len(s) - 1)
    return s[low] + (s[high] - s[low]) * (pos - low)


def expected_totals(
    data: Dataset, metric: ExperimentMetric, window: AnalysisWindow
) -> dict[str, ArmTotals]:
    units = _first_exposures(data, window)
    post = _per_unit(data.orders, units, window, pre=False)
    pre = _per_unit(data.orders, units, window, pre=True)
    den = _per_unit(data.sessions, units, window, pre=False)
    pre_den = _per_unit(data.sessions, units, window, pre=True)

    def value(found: dict[str, list[float]], unit: str) -> float:
        if metric.kind == "proportion":
            return 1.0 if found.get(unit) else 0.0
        return float(sum(found.get(unit, [])))

    def dot(a: list[float], b: list[float]) -> float:
        return sum(p * q for p, q in zip(a, b, strict=True))

    y = {u: value(post, u) for u in units}
    if metric.capping is not None:
        cap = metric.capping.upper
        if metric.capping.quantile is not None:
            cap = _quantile(list(y.values()), metric.capping.quantile)
        assert cap is not None
        y = {u: min(v, cap) for u, v in y.items()}
    ratio = metric.kind == "ratio"
    totals: dict[str, ArmTotals] = {}
    for arm in ARMS:
        members = [u for u, (a, _) in units.items() if a == arm]
        ys = [y[u] for u in members]
        ds = [float(sum(den.get(u, []))) for u in members]
        xs = [value(pre, u) for u in members]
        ws = [float(sum(pre_den.get(u, []))) for u in members]
        cuped = metric.cuped
        both = cuped and ratio
        totals[arm] = ArmTotals(
            n=len(members),
            sum=sum(ys),
            sum_squares=dot(ys, ys),
            denominator_sum=sum(ds) if ratio else 0.0,
            denominator_sum_squares=dot(ds, ds) if ratio else 0.0,
            cross_sum=dot(ys, ds) if ratio else 0.0,
            covariate_sum=sum(xs) if cuped else None,
            covariate_sum_squares=dot(xs, xs) if cuped else None,
            covariate_cross=dot(xs, ys) if cuped else None,
            sum_w=sum(ws) if both else None,
            sum_w2=dot(ws, ws) if both else None,
            sum_xw=dot(xs, ws) if both else None,
            sum_wy=dot(ws, ys) if both else None,
            sum_xd=dot(xs, ds) if both else None,
            sum_wd=dot(ws, ds) if both else None,
        )
    return totals


def unit_aggregates(
    data: Dataset, keys: Iterable[str], window: AnalysisWindow, experiment: str = "exp"
) -> InMemoryUnitAggregates:
    """The builtin path's input: the same dataset folded per unit as the control plane does
    (exposures as they came, each unit's orders and sessions after and before its first
    exposure) for metrics ``keys`` (means and ratios: the in-memory reader has no event
    times, so ``window`` must bound no exposure out)."""
    store = InMemoryUnitAggregates()
    for unit, arm, at in data.exposures:
        store.expose(experiment, unit, arm, at)
    units = _first_exposures(data, window)
    post = _per_unit(data.orders, units, window, pre=False)
    pre = _per_unit(data.orders, units, window, pre=True)
    den = _per_unit(data.sessions, units, window, pre=False)
    pre_den = _per_unit(data.sessions, units, window, pre=True)
    for key, unit in ((key, unit) for key in keys for unit in units):
        store.record(
            experiment,
            key,
            unit,
            float(sum(post.get(unit, []))),
            denominator=float(sum(den.get(unit, []))),
            pre_value=float(sum(pre.get(unit, []))),
            pre_denominator=float(sum(pre_den.get(unit, []))),
        )
    return store


def _literal(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, datetime):
        return f"'{value.isoformat(sep=' ')}'"
    return repr(float(value))  # type: ignore[arg-type]


def load(engine: Engine, data: Dataset, prefix: str) -> None:
    """Create ``{prefix}_exposures``, ``_orders`` and ``_sessions`` and fill them."""
    clickhouse = engine.dialect.name.startswith("clickhouse")
    text_type, time_type, float_type = (
        ("String", "DateTime64(6)", "Float64")
        if clickhouse
        else ("TEXT", "TIMESTAMP", "DOUBLE PRECISION")
    )
    suffix = " ENGINE = Memory" if clickhouse else ""
    tables: dict[str, tuple[str, list[Any]]] = {
        "exposures": (
            f"user_id {text_type}, variant {text_type}, seen_at {time_type}",
            data.exposures,
        ),
        "orders": (
            f"user_id {text_type}, ordered_at {time_type}, amount {float_type}",
            data.orders,
        ),
        "sessions": (
            f"user_id {text_type}, started_at {time_type}, one {float_type}",
            data.sessions,
        ),
    }
    with engine.begin() as connection:
        for name, (columns, rows) in tables.items():
            connection.execute(text(f"CREATE TABLE {prefix}_{name} ({columns}){suffix}"))
            for i in range(0, len(rows), 500):
                values = ", ".join(
                    "(" + ", ".join(_literal(v) for v in row) + ")" for row in rows[i : i + 500]
                )
                connection.execute(text(f"INSERT INTO {prefix}_{name} VALUES {values}"))


def queries(prefix: str) -> tuple[str, str, str]:
    """The user's SQL: exposures, orders (value) and sessions (a ratio's denominator)."""
    return (
        f"SELECT user_id AS unit, variant AS arm, seen_at AS timestamp FROM {prefix}_exposures",
        f"SELECT user_id AS unit, ordered_at AS timestamp, amount AS value FROM {prefix}_orders;",
        f"SELECT user_id AS unit, started_at AS timestamp, one AS value FROM {prefix}_sessions",
    )
