"""Exposures and tracked events in, per-arm sufficient statistics out.

Ingest (``tx.experiment_data.record``, once per telemetry batch id and environment):
exposures of running experiments are stored one row per (experiment, unit), the first one
winning (a later exposure in another arm marks the unit ``mixed``: analysis excludes it);
each tracked event an experiment's metric reads is added to its unit's row in
``experiment_unit_events`` — after the unit's first exposure as the metric's value, before
it (kept only for CUPED metrics) as the covariate. An event of a unit never exposed, or
before its exposure for a metric without CUPED, is not counted.

Reading (:meth:`ExperimentDataOperations.exposures` and
:meth:`~ExperimentDataOperations.arm_totals`) is one GROUP BY arm over one GROUP
BY unit, in the database: the per-arm sums the results engine turns into samples.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.elements import ColumnElement

from ..analysis.experiment.metrics import ExperimentMetric
from ..analysis.experiment.sources.base import AnalysisWindow, ArmTotals, Exposures
from ..core.experiment import ExperimentDefinition, ExperimentMetricSpec
from ..core.telemetry import Exposure, TrackedEvent
from ..errors import ConfigError
from ._base import Operations, aware
from .tables import experiment_batches, experiment_exposures, experiment_unit_events, experiments

__all__ = ["ExperimentDataOperations", "ExperimentIngest"]

_CHUNK = 500


@dataclass(slots=True)
class ExperimentIngest:
    """What one batch's exposures and events did (``duplicate``: stored before, nothing now)."""

    duplicate: bool = False
    exposures: int = 0
    new_units: int = 0
    events: int = 0
    pre_events: int = 0
    ignored: dict[str, int] = field(default_factory=dict)


def _insert(connection: Connection, table: Any) -> Any:
    return (postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert)(table)


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for index in range(0, len(items), _CHUNK):
        yield items[index : index + _CHUNK]


class ExperimentDataOperations(Operations):
    # -- ingest ----------------------------------------------------------------------------

    def record(
        self,
        environment: str,
        batch_id: str,
        exposures: Sequence[Exposure],
        events: Sequence[TrackedEvent],
    ) -> ExperimentIngest:
        """Store a batch's exposures and events once per ``batch_id`` (a retry: nothing)."""
        result = ExperimentIngest()
        if not exposures and not events:
            return result
        claimed = self._conn.execute(
            _insert(self._conn, experiment_batches)
            .on_conflict_do_nothing()
            .values(environment=environment, batch_id=batch_id, received_at=self._now())
            .returning(experiment_batches.c.batch_id)
        ).first()
        if claimed is None:
            result.duplicate = True
            return result
        running = {
            row.key: ExperimentDefinition.model_validate(row.definition)
            for row in self._conn.execute(
                select(experiments.c.key, experiments.c.definition).where(
                    experiments.c.environment == environment, experiments.c.state == "running"
                )
            )
        }
        self._store_exposures(running, exposures, result)
        self._store_events(running, events, result)
        return result

    def _store_exposures(
        self,
        running: Mapping[str, ExperimentDefinition],
        exposures: Sequence[Exposure],
        result: ExperimentIngest,
    ) -> None:
        first: dict[tuple[str, str], tuple[str, datetime, bool]] = {}
        for exposure in sorted(exposures, key=lambda e: e.at):
            definition = running.get(exposure.experiment)
            if definition is None or exposure.arm not in definition.arms:
                why = "experiment_not_running" if definition is None else "unknown_arm"
                result.ignored[why] = result.ignored.get(why, 0) + 1
                continue
            result.exposures += 1
            key = (exposure.experiment, exposure.unit)
            known = first.get(key)
            if known is None:
                first[key] = (exposure.arm, exposure.at, False)
            elif known[0] != exposure.arm:
                first[key] = (known[0], known[1], True)
        if not first:
            return
        by_experiment: dict[str, list[str]] = defaultdict(list)
        for experiment, unit in first:
            by_experiment[experiment].append(unit)
        table = experiment_exposures
        for experiment, units in sorted(by_experiment.items()):
            for chunk in _chunks(sorted(units)):
                existing = {
                    row.unit: row
                    for row in self._conn.execute(
                        select(table)
                        .where(table.c.experiment == experiment, table.c.unit.in_(chunk))
                        .with_for_update()
                    )
                }
                new = [
                    {
                        "experiment": experiment,
                        "unit": unit,
                        "arm": first[(experiment, unit)][0],
                        "first_seen": first[(experiment, unit)][1],
                        "mixed": first[(experiment, unit)][2],
                    }
                    for unit in chunk
                    if unit not in existing
                ]
                if new:
                    inserted = self._conn.execute(
                        _insert(self._conn, table).on_conflict_do_nothing().returning(table.c.unit),
                        new,
                    )
                    result.new_units += len(inserted.all())
                for unit, row in existing.items():
                    arm, at, mixed = first[(experiment, unit)]
                    mixed = mixed or row.mixed or arm != row.arm
                    seen = min(aware(row.first_seen) or at, at)
                    if mixed != row.mixed or seen != aware(row.first_seen):
                        self._conn.execute(
                            update(table)
                            .where(table.c.experiment == experiment, table.c.unit == unit)
                            .values(mixed=mixed, first_seen=seen)
                        )

    def _store_events(
        self,
        running: Mapping[str, ExperimentDefinition],
        events: Sequence[TrackedEvent],
        result: ExperimentIngest,
    ) -> None:
        readers: dict[str, list[tuple[str, bool]]] = defaultdict(list)
        for key, definition in running.items():
            covariates = {e for _, m in definition.metrics() if m.cuped for e in m.events}
            for name in definition.events():
                readers[name].append((key, name in covariates))
        wanted = [e for e in events if e.event in readers]
        ignored = len(events) - len(wanted)
        if ignored:
            result.ignored["event_not_measured"] = ignored
        if not wanted:
            return
        units_of: dict[str, set[str]] = defaultdict(set)
        for event in wanted:
            for key, _ in readers[event.event]:
                units_of[key].add(event.unit)
        exposed: dict[tuple[str, str], datetime] = {}
        table = experiment_exposures
        for key, units in units_of.items():
            for chunk in _chunks(sorted(units)):
                for row in self._conn.execute(
                    select(table.c.unit, table.c.first_seen).where(
                        table.c.experiment == key, table.c.unit.in_(chunk)
                    )
                ):
                    moment = aware(row.first_seen)
                    assert moment is not None
                    exposed[(key, row.unit)] = moment
        deltas: dict[tuple[str, str, str], list[float]] = {}
        for event in wanted:
            value = 1.0 if event.value is None else float(event.value)
            for key, cuped in readers[event.event]:
                since = exposed.get((key, event.unit))
                after = since is not None and event.at >= since
                if not after and not cuped:
                    result.ignored["not_exposed"] = result.ignored.get("not_exposed", 0) + 1
                    continue
                delta = deltas.setdefault((key, event.unit, event.event), [0.0, 0, 0.0, 0])
                if after:
                    delta[0] += value
                    delta[1] += 1
                    result.events += 1
                else:
                    delta[2] += value
                    delta[3] += 1
                    result.pre_events += 1
        self._add_event_deltas(deltas)

    def _add_event_deltas(self, deltas: Mapping[tuple[str, str, str], list[float]]) -> None:
        if not deltas:
            return
        table = experiment_unit_events
        statement = _insert(self._conn, table)
        added = statement.excluded
        upsert = statement.on_conflict_do_update(
            index_elements=[table.c.experiment, table.c.unit, table.c.event],
            set_={
                "sum": table.c.sum + added.sum,
                "count": table.c.count + added.count,
                "pre_sum": table.c.pre_sum + added.pre_sum,
                "pre_count": table.c.pre_count + added.pre_count,
            },
        )
        rows = [
            {
                "experiment": key[0],
                "unit": key[1],
                "event": key[2],
                "sum": delta[0],
                "count": int(delta[1]),
                "pre_sum": delta[2],
                "pre_count": int(delta[3]),
            }
            for key, delta in sorted(deltas.items())
        ]
        for chunk in _chunks(rows):
            self._conn.execute(upsert, list(chunk))

    # -- reading: the builtin source's UnitAggregateReader ---------------------------------

    def exposures(self, experiment: str, window: AnalysisWindow) -> Exposures:
        """Exposed units per arm (first exposure in ``window``); mixed units are excluded."""
        table = experiment_exposures
        rows = self._conn.execute(
            select(table.c.arm, table.c.mixed, func.count())
            .where(table.c.experiment == experiment, *_window(table.c.first_seen, window))
            .group_by(table.c.arm, table.c.mixed)
        )
        units: dict[str, int] = {}
        excluded = 0
        for arm, mixed, count in rows:
            if mixed:
                excluded += int(count)
            else:
                units[arm] = units.get(arm, 0) + int(count)
        return Exposures(units, excluded)

    def arm_totals(
        self,
        experiment: str,
        metric: ExperimentMetric,
        spec: ExperimentMetricSpec,
        window: AnalysisWindow,
    ) -> dict[str, ArmTotals]:
        """Per-arm sums of the per-unit values of ``metric`` (one query, GROUP BY arm)."""
        if metric.capping is not None and metric.capping.upper is None:
            raise ConfigError.single(
                None, f"{metric.key}.capping", "builtin metrics cap at a value, not a quantile"
            )
        x, e = experiment_exposures, experiment_unit_events
        numerator, denominator = spec.event, spec.denominator_event

        def total(column: Any, event: str | None) -> ColumnElement[Any]:
            if event is None:
                return literal(0.0)
            return func.coalesce(func.sum(case((e.c.event == event, column))), 0.0)

        per_unit = (
            select(
                x.c.arm.label("arm"),
                total(e.c.sum, numerator).label("y"),
                total(e.c.count, numerator).label("yc"),
                total(e.c.sum, denominator).label("d"),
                total(e.c.pre_sum, numerator).label("x"),
                total(e.c.pre_count, numerator).label("xc"),
                total(e.c.pre_sum, denominator).label("w"),
            )
            .select_from(
                x.outerjoin(
                    e,
                    and_(
                        e.c.experiment == x.c.experiment,
                        e.c.unit == x.c.unit,
                        e.c.event.in_([v for v in (numerator, denominator) if v is not None]),
                    ),
                )
            )
            .where(
                x.c.experiment == experiment,
                x.c.mixed.is_(False),
                *_window(x.c.first_seen, window),
            )
            .group_by(x.c.arm, x.c.unit)
            .subquery()
        )
        cap = metric.capping.upper if metric.capping is not None else None
        if metric.kind == "proportion":
            y: ColumnElement[Any] = case((per_unit.c.yc > 0, 1.0), else_=0.0)
            cov: ColumnElement[Any] = case((per_unit.c.xc > 0, 1.0), else_=0.0)
        else:
            y = per_unit.c.y if cap is None else case((per_unit.c.y > cap, cap), else_=per_unit.c.y)
            cov = per_unit.c.x  # the covariate is not capped (as in the sql source)
        d, w = per_unit.c.d, per_unit.c.w
        query = select(
            per_unit.c.arm,
            func.count(),
            func.sum(y),
            func.sum(y * y),
            func.sum(d),
            func.sum(d * d),
            func.sum(y * d),
            func.sum(cov),
            func.sum(cov * cov),
            func.sum(cov * y),
            func.sum(w),
            func.sum(w * w),
            func.sum(cov * w),
            func.sum(w * y),
            func.sum(cov * d),
            func.sum(w * d),
        ).group_by(per_unit.c.arm)
        totals: dict[str, ArmTotals] = {}
        for row in self._conn.execute(query):
            arm, n, *sums = row
            s = [float(v or 0.0) for v in sums]
            totals[arm] = ArmTotals(
                n=int(n),
                sum=s[0],
                sum_squares=s[1],
                denominator_sum=s[2],
                denominator_sum_squares=s[3],
                cross_sum=s[4],
                covariate_sum=s[5],
                covariate_sum_squares=s[6],
                covariate_cross=s[7],
                sum_w=s[8],
                sum_w2=s[9],
                sum_xw=s[10],
                sum_wy=s[11],
                sum_xd=s[12],
                sum_wd=s[13],
            )
        return totals


def _window(column: Any, window: AnalysisWindow) -> list[ColumnElement[bool]]:
    conditions = []
    if window.start is not None:
        conditions.append(column >= window.start)
    if window.end is not None:
        conditions.append(column < window.end)
    return conditions
