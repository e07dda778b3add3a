"""A seeded experiment dataset, loaded twice: into the control plane as SDK telemetry (the
builtin metrics' input) and into a warehouse's own tables (the sql metrics' input).

Both hold the same exposures (a few units exposed in two arms, which analysis excludes) and
the same events, so a sql metric over the warehouse must give the builtin metric's numbers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from rollwise.core.telemetry import Exposure, TrackedEvent
from rollwise.store import Store

ARMS = ("control", "control", "variant_a", "variant_b")  # 50 / 25 / 25
EXPERIMENT = "checkout-test"

EXPOSURES_QUERY = "SELECT unit, arm, occurred_at AS timestamp FROM wh_exposures"


def _events(event: str, value: str = "value") -> str:
    return (
        f"SELECT unit, occurred_at AS timestamp, {value} AS value FROM wh_events "
        f"WHERE event = '{event}'"
    )


def metrics(source: str, **sql: Any) -> dict[str, list[dict[str, Any]]]:
    """The same three metrics, builtin (tracked events) or sql (queries over ``wh_*``)."""
    if source == "builtin":
        conversion = {"event": "purchase"}
        revenue = {"event": "revenue"}
        ratio = {"event": "revenue", "denominator_event": "session"}
    else:
        common = {"source": "sql", **sql}
        conversion = {**common, "query": _events("purchase", "1.0")}
        revenue = {**common, "query": _events("revenue")}
        ratio = {
            **common,
            "query": _events("revenue"),
            "denominator_query": _events("session", "1.0"),
        }
    return {
        "primary": [{"key": "conversion", "kind": "proportion", **conversion}],
        "secondary": [
            {"key": "revenue", "kind": "mean", "capping": 150, "cuped": True, **revenue},
            {"key": "revenue_per_session", "kind": "ratio", **ratio},
            {"key": "revenue_per_session_cuped", "kind": "ratio", "cuped": True, **ratio},
        ],
        "guardrails": [],
    }


@dataclass
class Dataset:
    exposures: list[Exposure] = field(default_factory=list)
    events: list[TrackedEvent] = field(default_factory=list)


def make_dataset(seed: int = 15, units: int = 240) -> Dataset:
    """Units exposed over an hour; variant_b converts more; a few mixed units and events
    outside any exposure (never exposed, or before the unit's exposure: purchases, and
    sessions and revenue in the hour before, the ratio's CUPED pre-period)."""
    rng = random.Random(seed)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    data = Dataset()
    for index in range(units):
        unit = f"u{index:04d}"
        arm = ARMS[index % 4]
        at = start + timedelta(seconds=15 * index)
        data.exposures.append(Exposure(experiment=EXPERIMENT, unit=unit, arm=arm, at=at))
        if index % 61 == 7:  # seen later in another arm: excluded from the analysis
            other = "variant_a" if arm != "variant_a" else "control"
            later = at + timedelta(minutes=5)
            data.exposures.append(Exposure(experiment=EXPERIMENT, unit=unit, arm=other, at=later))
        if index % 17 == 3:  # before the exposure: counted by neither
            early = at - timedelta(minutes=1)
            data.events.append(TrackedEvent(event="purchase", unit=unit, at=early))
        for minute in range(rng.randint(1, 4)):
            moment = at + timedelta(minutes=minute + 1)
            data.events.append(TrackedEvent(event="session", unit=unit, at=moment))
        spend = rng.lognormvariate(3.0, 0.5)  # the user's habit, before and after exposure
        for minute in range(rng.randint(0, 3)):
            moment = at - timedelta(minutes=10 * minute + 5)
            data.events.append(TrackedEvent(event="session", unit=unit, at=moment))
            amount = round(spend * rng.uniform(0.5, 1.5), 2)
            data.events.append(TrackedEvent(event="revenue", unit=unit, value=amount, at=moment))
        if rng.random() < {"control": 0.3, "variant_a": 0.32, "variant_b": 0.45}[arm]:
            moment = at + timedelta(minutes=10)
            data.events.append(TrackedEvent(event="purchase", unit=unit, at=moment))
            for _ in range(rng.randint(1, 2)):
                amount = round(spend * rng.lognormvariate(0.5, 0.8), 2)
                data.events.append(
                    TrackedEvent(event="revenue", unit=unit, value=amount, at=moment)
                )
    data.events.append(TrackedEvent(event="purchase", unit="never-exposed", at=start))
    return data


def ingest(store: Store, environment: str, data: Dataset) -> None:
    """What the SDK's telemetry does: exposures first, then events, in two batches."""
    with store.transaction("sdk") as tx:
        tx.experiment_data.record(environment, "batch-exposures", data.exposures, [])
    with store.transaction("sdk") as tx:
        tx.experiment_data.record(environment, "batch-events", [], data.events)


def load_warehouse(engine: Engine, data: Dataset, *, exposures: bool = True) -> None:
    """The warehouse's own tables: ``wh_events`` and (optionally) ``wh_exposures``."""
    stamp = "TIMESTAMP" if engine.dialect.name == "duckdb" else "TIMESTAMP WITH TIME ZONE"

    def at(moment: datetime) -> datetime:
        # DuckDB's TIMESTAMP is naive UTC; PostgreSQL keeps the zone
        return moment.replace(tzinfo=None) if engine.dialect.name == "duckdb" else moment

    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE wh_events (event VARCHAR(64), unit VARCHAR(64), "
                f"value DOUBLE PRECISION, occurred_at {stamp})"
            )
        )
        connection.execute(
            text("INSERT INTO wh_events VALUES (:event, :unit, :value, :at)"),
            [
                {
                    "event": e.event,
                    "unit": e.unit,
                    "value": 1.0 if e.value is None else e.value,
                    "at": at(e.at),
                }
                for e in data.events
            ],
        )
        if exposures:
            connection.execute(
                text(
                    "CREATE TABLE wh_exposures (unit VARCHAR(64), arm VARCHAR(64), "
                    f"occurred_at {stamp})"
                )
            )
            connection.execute(
                text("INSERT INTO wh_exposures VALUES (:unit, :arm, :at)"),
                [{"unit": x.unit, "arm": x.arm, "at": at(x.at)} for x in data.exposures],
            )
