"""The ``sql`` source: metrics defined as SQL over the user's own database or warehouse.

The user writes two kinds of queries, plain SELECTs in their engine's dialect:

- exposures: one row per exposure, columns ``unit``, ``arm``, ``timestamp`` (a table of
  the SDK's exposure log, or the user's own assignment table);
- each metric: one row per event, columns ``unit``, ``timestamp``, ``value`` (a ratio
  metric has a second query for its denominator, same columns).

rollwise wraps them as common table expressions in one statement that runs in the engine:
first exposure per unit (units seen in several arms are dropped and counted), the unit's
events from its first exposure (within ``conversion_seconds`` if set, before the window's
end) summed per unit (a proportion: 1 if any event), units without events as 0, the
pre-exposure value over ``lookback_seconds`` for CUPED (a ratio's numerator and
denominator both, with the cross products the ratio's CUPED reads), capping of the per-unit value
(``LEAST(y, cap)``, the cap a constant or the pooled percentile computed in the same
statement), then one GROUP BY arm returning ``n`` and the sums. One row per arm comes back,
whatever the number of units: ten million units never travel to Python.

Tested on PostgreSQL, DuckDB (``duckdb-engine``) and ClickHouse (chDB through
clickhouse-connect's SQLAlchemy dialect). The only dialect-specific parts are interval
arithmetic, the float type and the percentile aggregate (:class:`_Dialect`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from ....errors import ProviderError
from ..metrics import ExperimentMetric
from .base import AnalysisWindow, ArmTotals, Exposures

__all__ = ["SqlMetricQuery", "SqlSource"]


@dataclass(frozen=True, slots=True)
class SqlMetricQuery:
    """A metric's events as SQL: columns ``unit``, ``timestamp``, ``value``."""

    sql: str
    denominator_sql: str | None = None


@dataclass(frozen=True, slots=True)
class _Dialect:
    name: str

    @property
    def clickhouse(self) -> bool:
        return self.name.startswith("clickhouse")

    def seconds(self, count: int) -> str:
        if self.clickhouse or self.name == "duckdb":
            return f"INTERVAL {int(count)} SECOND"
        return f"INTERVAL '{int(count)} seconds'"

    @property
    def float_type(self) -> str:
        if self.clickhouse:
            return "Float64"
        return "DOUBLE" if self.name == "duckdb" else "DOUBLE PRECISION"

    def quantile(self, q: float, column: str) -> str:
        if self.clickhouse:
            return f"quantileExactInclusive({float(q)!r})({column})"
        return f"percentile_cont({float(q)!r}) WITHIN GROUP (ORDER BY {column})"


_RATIO_COVARIATE = (
    ("sum_w", "c.w"),
    ("sum_w2", "c.w * c.w"),
    ("sum_xw", "c.x * c.w"),
    ("sum_wy", "c.w * c.y"),
    ("sum_xd", "c.x * c.d"),
    ("sum_wd", "c.w * c.d"),
)
"""A ratio's CUPED sums beyond Σx, Σx², Σxy (``w``: the pre-period denominator): name, term."""


def _columns(metric: ExperimentMetric) -> list[str]:
    """The sums a metric's statement returns after arm and n, in order."""
    ratio = metric.kind == "ratio"
    names = ["sum_y", "sum_y2"]
    if ratio:
        names += ["sum_d", "sum_d2", "sum_yd"]
    if metric.cuped:
        names += ["sum_x", "sum_x2", "sum_xy"]
    if metric.cuped and ratio:
        names += [name for name, _ in _RATIO_COVARIATE]
    return names


def _float(value: Any) -> float:
    return float(value) if value is not None else 0.0


def _body(sql: str) -> str:
    """The user's SELECT without trailing semicolons or whitespace."""
    body = sql.strip().rstrip(";").strip()
    if not body:
        raise ValueError("an empty SQL query")
    return body


@dataclass(frozen=True, slots=True)
class SqlSource:
    """A :class:`~.base.MetricSource` over SQL queries run through a SQLAlchemy engine."""

    engine: Engine
    exposures_sql: str
    metrics: Mapping[str, SqlMetricQuery] = field(default_factory=dict)

    @property
    def _dialect(self) -> _Dialect:
        return _Dialect(self.engine.dialect.name)

    def _units_ctes(self, window: AnalysisWindow, params: dict[str, Any]) -> str:
        where = []
        if window.start is not None:
            where.append("r.timestamp >= :rw_start")
            params["rw_start"] = window.start
        if window.end is not None:
            where.append("r.timestamp < :rw_end")
            params["rw_end"] = window.end
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        return (
            f"rw_exposure_rows AS (\n{_body(self.exposures_sql)}\n),\n"
            "rw_seen AS (\n"
            "  SELECT r.unit AS unit, MIN(r.arm) AS arm, MAX(r.arm) AS last_arm,\n"
            "         MIN(r.timestamp) AS exposed_at\n"
            f"  FROM rw_exposure_rows r {clause}\n"
            "  GROUP BY r.unit\n"
            "),\n"
            "rw_units AS (SELECT s.unit AS unit, s.arm AS arm, s.exposed_at AS exposed_at\n"
            "  FROM rw_seen s WHERE s.arm = s.last_arm)"
        )

    def exposures_statement(self, window: AnalysisWindow) -> tuple[str, dict[str, Any]]:
        params: dict[str, Any] = {}
        sql = (
            f"WITH {self._units_ctes(window, params)}\n"
            "SELECT CASE WHEN s.arm = s.last_arm THEN s.arm ELSE '' END AS arm, COUNT(*) AS n\n"
            "FROM rw_seen s GROUP BY CASE WHEN s.arm = s.last_arm THEN s.arm ELSE '' END"
        )
        return sql, params

    def exposures(self, window: AnalysisWindow) -> Exposures:
        sql, params = self.exposures_statement(window)
        rows = self._run(sql, params, "exposures")
        units = {str(arm): int(n) for arm, n in rows if arm}
        excluded = sum(int(n) for arm, n in rows if not arm)
        return Exposures(units, excluded)

    def _conditions(self, window: AnalysisWindow) -> tuple[str, str]:
        """An event's place relative to its unit's first exposure: (after, before)."""
        d = self._dialect
        after = "ev.timestamp >= u.exposed_at"
        if window.conversion_seconds is not None:
            after += f" AND ev.timestamp < u.exposed_at + {d.seconds(window.conversion_seconds)}"
        if window.end is not None:
            after += " AND ev.timestamp < :rw_end"
        before = (
            "ev.timestamp < u.exposed_at AND "
            f"ev.timestamp >= u.exposed_at - {d.seconds(window.lookback_seconds)}"
        )
        return after, before

    def metric_statement(
        self, metric: ExperimentMetric, window: AnalysisWindow
    ) -> tuple[str, dict[str, Any]]:
        """The one statement computing the metric's per-arm sums (for tests and EXPLAIN).

        The metric's events (tagged ``y``, and ``d`` for a ratio's denominator) joined with
        the first exposures and summed per unit with conditional sums, every exposed unit
        joined with those sums (0 without events), one GROUP BY arm. Joins are on equality
        only (ClickHouse joins on equalities), and only units with events are grouped.
        """
        query = self.metrics.get(metric.key)
        if query is None:
            raise ValueError(f"no SQL for metric {metric.key!r}")
        if metric.kind == "ratio" and query.denominator_sql is None:
            raise ValueError(f"ratio metric {metric.key!r} needs denominator_sql")
        d = self._dialect
        f = d.float_type
        params: dict[str, Any] = {}
        ratio = metric.kind == "ratio"
        cuped = metric.cuped
        events = (
            f"SELECT e.unit AS unit, e.timestamp AS timestamp, e.value AS value, 'y' AS k\n"
            f"  FROM (\n{_body(query.sql)}\n) e"
        )
        if ratio:
            events += (
                "\n  UNION ALL\n"
                "  SELECT e.unit AS unit, e.timestamp AS timestamp, e.value AS value, 'd' AS k\n"
                f"  FROM (\n{_body(query.denominator_sql or '')}\n) e"
            )
        ctes = [self._units_ctes(window, params), f"rw_events AS (\n  {events}\n)"]
        after, before = self._conditions(window)

        def total(tag: str, when: str) -> str:
            if metric.kind == "proportion":
                return f"MAX(CASE WHEN ev.k = '{tag}' AND {when} THEN 1 ELSE 0 END)"
            return f"SUM(CASE WHEN ev.k = '{tag}' AND {when} THEN ev.value ELSE 0 END)"

        sums = [f"{total('y', after)} AS y"]
        columns = [f"CAST(COALESCE(e.y, 0) AS {f}) AS y"]
        if ratio:
            sums.append(f"{total('d', after)} AS d")
            columns.append(f"CAST(COALESCE(e.d, 0) AS {f}) AS d")
        if cuped:
            sums.append(f"{total('y', before)} AS x")
            columns.append(f"CAST(COALESCE(e.x, 0) AS {f}) AS x")
        if cuped and ratio:
            sums.append(f"{total('d', before)} AS w")
            columns.append(f"CAST(COALESCE(e.w, 0) AS {f}) AS w")
        # per unit with events only (an inner equi-join and a GROUP BY over those units),
        # then every exposed unit, 0 where it had none (a left equi-join, no GROUP BY)
        ctes.append(
            "rw_event_values AS (\n"
            f"  SELECT u.unit AS unit, {', '.join(sums)}\n"
            "  FROM rw_events ev INNER JOIN rw_units u ON ev.unit = u.unit\n"
            "  GROUP BY u.unit\n"
            ")"
        )
        capping = metric.capping if metric.kind != "proportion" else None
        reused = capping is not None and capping.quantile is not None
        # read twice (the percentile, then the capping): computed once where the engine
        # would otherwise inline it twice (DuckDB); ClickHouse has no such hint
        hint = "MATERIALIZED " if reused and not d.clickhouse else ""
        ctes.append(
            f"rw_unit_values AS {hint}(\n"
            f"  SELECT u.arm AS arm, {', '.join(columns)}\n"
            "  FROM rw_units u LEFT JOIN rw_event_values e ON e.unit = u.unit\n"
            ")"
        )
        y = "v.y"
        if capping is not None and capping.quantile is not None:
            ctes.append(
                f"rw_cap AS (SELECT {d.quantile(capping.quantile, 'v.y')} AS cap "
                "FROM rw_unit_values v)"
            )
            y = "LEAST(v.y, (SELECT c.cap FROM rw_cap c))"
        elif capping is not None and capping.upper is not None:
            params["rw_cap"] = float(capping.upper)
            y = f"LEAST(v.y, CAST(:rw_cap AS {f}))"
        rest = ", v.d AS d" if ratio else ""
        rest += ", v.x AS x" if cuped else ""
        rest += ", v.w AS w" if cuped and ratio else ""
        ctes.append(f"rw_capped AS (SELECT v.arm AS arm, {y} AS y{rest} FROM rw_unit_values v)")
        sums = ["COUNT(*) AS n", "SUM(c.y) AS sum_y", "SUM(c.y * c.y) AS sum_y2"]
        if ratio:
            sums += ["SUM(c.d) AS sum_d", "SUM(c.d * c.d) AS sum_d2", "SUM(c.y * c.d) AS sum_yd"]
        if cuped:
            sums += ["SUM(c.x) AS sum_x", "SUM(c.x * c.x) AS sum_x2", "SUM(c.x * c.y) AS sum_xy"]
        if cuped and ratio:
            sums += [f"SUM({term}) AS {name}" for name, term in _RATIO_COVARIATE]
        sql = (
            "WITH " + ",\n".join(ctes) + "\n"
            f"SELECT c.arm AS arm, {', '.join(sums)}\n"
            "FROM rw_capped c GROUP BY c.arm ORDER BY c.arm"
        )
        return sql, params

    def arm_totals(
        self, metric: ExperimentMetric, window: AnalysisWindow
    ) -> Mapping[str, ArmTotals]:
        sql, params = self.metric_statement(metric, window)
        ratio = metric.kind == "ratio"
        totals: dict[str, ArmTotals] = {}
        for row in self._run(sql, params, metric.key):
            arm, n = str(row[0]), int(row[1])
            named = dict(zip(_columns(metric), (_float(v) for v in row[2:]), strict=True))
            w = (
                {name: named[name] for name, _ in _RATIO_COVARIATE}
                if ratio and metric.cuped
                else {}
            )
            totals[arm] = ArmTotals(
                n,
                named["sum_y"],
                named["sum_y2"],
                named.get("sum_d", 0.0),
                named.get("sum_d2", 0.0),
                named.get("sum_yd", 0.0),
                named.get("sum_x"),
                named.get("sum_x2"),
                named.get("sum_xy"),
                **w,
            )
        return totals

    def _run(self, sql: str, params: dict[str, Any], what: str) -> list[tuple[Any, ...]]:
        try:
            with self.engine.connect() as connection:
                return [tuple(row) for row in connection.execute(text(sql), params)]
        except Exception as error:  # any driver's error: one exception type, with the query
            raise ProviderError(
                f"the SQL for {what} failed: {error}", source="sql", query=what
            ) from error
