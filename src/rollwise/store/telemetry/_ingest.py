"""Telemetry ingest: a batch admitted (known flags, capped routes and names), stored once
per part (idempotent by batch id), its deltas added to the time-bucket rows.

See ``store/telemetry/_operations.py`` for what is stored and what is not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select

from ...core.telemetry import TelemetryBatch
from ...stats.sketch import unpack_sketch_data
from .._base import Operations
from ..tables import (
    comparison_buckets,
    mismatch_samples,
    override_buckets,
    request_buckets,
    telemetry_batch_parts,
    telemetry_batches,
    telemetry_keys,
    usage_buckets,
)
from ..tables.telemetry import process_buckets
from ._admission import read_admission
from ._aggregate import (
    MAX_COUNT,
    OTHER,
    ComparisonDelta,
    Deltas,
    add_counts,
    add_durations,
)
from ._batch import ParsedBatch, parse_batch
from ._claims import claim_batch, claim_part
from ._packed import merge_packed
from ._parts import Admission, BatchPart, combine_results, part_deltas, part_result, split_batch
from ._sketch import merge_sketch_data, pack
from ._units import store_unit_sketches
from ._upsert import add_counts_to_rows, insert_ignoring_conflicts, merge_rows
from .types import IngestResult, ProcessTotals, TelemetryPolicy

__all__ = ["MAX_DROPPED", "TelemetryIngest"]

_KEY = ("environment", "flag", "resolution", "bucket_start")
MAX_DROPPED = 2**40  # per batch: a day of sums stays far inside 64 bits (SQLite's sum())


class TelemetryIngest(Operations):
    """Writes SDK telemetry: :meth:`ingest` (one transaction) or
    :meth:`admit` then :meth:`store_part` per part (the server's)."""

    telemetry_policy: TelemetryPolicy

    def ingest(self, environment: str, batch: TelemetryBatch | ParsedBatch) -> IngestResult:
        """Store ``batch`` for ``environment`` once; a repeated batch id counts nothing.

        Everything in this one transaction (tests, small batches); the server stores
        batches in short transactions with :meth:`Store.ingest_telemetry` instead. Both
        record the same parts, so either path stores each part of a batch exactly once.
        Raises :class:`~rollwise.errors.ConfigError` naming each invalid field (a sketch
        that does not parse, errors above requests, ...) and ``NotFoundError`` for an
        unknown environment.
        """
        parsed = batch if isinstance(batch, ParsedBatch) else parse_batch(batch)
        parts = split_batch(parsed)
        admission = self.admit(environment, parsed, check_stored=len(parts) > 1)
        results = []
        for part in parts:
            if part.index in admission.stored:
                results.append(part_result(part, Deltas(), environment, stored=False))
                continue
            deltas = part_deltas(part, admission, self.telemetry_policy)
            stored = self.store_part(environment, part, deltas, admission.now)
            results.append(part_result(part, deltas, environment, stored))
        return combine_results(results)

    def admit(
        self, environment: str, parsed: ParsedBatch, *, check_stored: bool = True
    ) -> Admission:
        """What of ``parsed`` may be stored: its known flags, its route templates and
        comparison names (new ones registered up to the caps, the others folded), and
        (``check_stored``) which of its parts a previous attempt already stored."""
        wire, policy = parsed.batch, self.telemetry_policy
        reading = read_admission(self._conn, environment, sorted(_flags_in(wire)))
        if reading is None:
            raise self._not_found("environment", environment)
        known, cap = reading.known, policy.max_routes_per_flag
        routes = self._admit(environment, "route", cap, _routes(wire, known), reading.keys)
        cap = policy.max_comparisons_per_flag
        names = self._admit(environment, "comparison", cap, _names(wire, known), reading.keys)
        return Admission(
            self._now(),
            known,
            frozenset(routes),
            frozenset(names),
            self._stored_parts(environment, wire.batch_id) if check_stored else frozenset(),
        )

    def _stored_parts(self, environment: str, batch_id: str) -> frozenset[int]:
        """The parts of this batch already stored (none for a new batch id)."""
        b, p = telemetry_batches.c, telemetry_batch_parts.c
        first = self._conn.execute(
            select(b.batch_id).where(b.environment == environment, b.batch_id == batch_id)
        ).first()
        if first is None:
            return frozenset()
        others = self._conn.execute(
            select(p.part).where(p.environment == environment, p.batch_id == batch_id)
        ).scalars()
        return frozenset({0, *others})

    def store_part(self, environment: str, part: BatchPart, deltas: Deltas, now: datetime) -> bool:
        """Add one part's deltas unless that part was already stored (then False)."""
        if not self._claim(environment, part, now):
            return False
        self._store(environment, part.parsed.batch.instance, deltas)
        store_unit_sketches(self._conn, environment, part.parsed.batch, now, self.telemetry_policy)
        return True

    def _claim(self, environment: str, part: BatchPart, now: datetime) -> bool:
        """Record this part as stored, first thing in its transaction; False when it
        already was (a retry, or its twin won the race: PostgreSQL waits for the twin's
        transaction and then sees its row)."""
        wire = part.parsed.batch
        if self._conn.dialect.name == "postgresql":
            if part.index:
                return claim_part(self._conn, environment, wire.batch_id, part.index, now)
            dropped = wire.dropped
            capped = (
                min(dropped.batches, MAX_DROPPED),
                min(dropped.windows, MAX_DROPPED),
                min(dropped.samples, MAX_DROPPED),
            )
            return claim_batch(self._conn, environment, wire.batch_id, wire.instance, now, capped)
        if part.index == 0:
            statement = insert_ignoring_conflicts(self._conn, telemetry_batches).values(
                environment=environment,
                batch_id=wire.batch_id,
                instance=wire.instance,
                received_at=now,
                dropped_batches=min(wire.dropped.batches, MAX_DROPPED),
                dropped_windows=min(wire.dropped.windows, MAX_DROPPED),
                dropped_samples=min(wire.dropped.samples, MAX_DROPPED),
            )
            key = telemetry_batches.c.batch_id
        else:
            statement = insert_ignoring_conflicts(self._conn, telemetry_batch_parts).values(
                environment=environment, batch_id=wire.batch_id, part=part.index, received_at=now
            )
            key = telemetry_batch_parts.c.batch_id
        return self._conn.execute(statement.returning(key)).first() is not None

    def _admit(
        self,
        environment: str,
        kind: str,
        cap: int,
        wanted: dict[str, set[str]],
        registered: dict[tuple[str, str], set[str]],
    ) -> set[tuple[str, str]]:
        """The (flag, key) pairs stored as they are; new ones registered up to ``cap``
        (``registered``: the keys already registered per (flag, kind))."""
        admitted: set[tuple[str, str]] = set()
        for flag, keys in sorted(wanted.items()):
            known = registered.get((flag, kind), set())
            room = cap - len(known)
            new = []
            for key in sorted(keys):
                if key in known or key == OTHER:
                    admitted.add((flag, key))
                elif room > 0:
                    room -= 1
                    new.append(key)
                    admitted.add((flag, key))
            if new:
                self._conn.execute(
                    insert_ignoring_conflicts(self._conn, telemetry_keys),
                    [
                        {
                            "environment": environment,
                            "flag": flag,
                            "kind": kind,
                            "key": key,
                            "created_at": self._now(),
                        }
                        for key in new
                    ],
                )
        return admitted

    def _store(self, environment: str, instance: str, deltas: Deltas) -> None:
        conn = self._conn
        requests = {
            (environment, *key): {
                "requests": min(delta.requests, MAX_COUNT),
                "errors": min(delta.errors, MAX_COUNT),
                "client_errors": min(delta.client_errors, MAX_COUNT),
                "latency": delta.latency.packed(),
            }
            for key, delta in deltas.requests.items()
        }
        merge_rows(
            conn,
            request_buckets,
            (*_KEY, "variant", "route"),
            requests,
            lambda row, key: _combine_requests(row, requests[key]),
        )
        add_counts_to_rows(
            conn,
            usage_buckets,
            (*_KEY, "variant"),
            {(environment, *key): count for key, count in deltas.usage.items()},
            MAX_COUNT,
        )
        comparisons = {(environment, *key): delta for key, delta in deltas.comparisons.items()}
        merge_rows(
            conn,
            comparison_buckets,
            (*_KEY, "variant", "name"),
            {
                key: {"counts": delta.counts, "durations": delta.durations}
                for key, delta in comparisons.items()
            },
            lambda row, key: _combine_comparisons(row, comparisons[key]),
        )
        add_counts_to_rows(
            conn,
            override_buckets,
            (*_KEY, "outcome", "variant", "reason"),
            {(environment, *key): count for key, count in deltas.overrides.items()},
            MAX_COUNT,
        )
        processes = {(environment, *key): delta for key, delta in deltas.process.items()}
        merge_rows(
            conn,
            process_buckets,
            (*_KEY, "variant"),
            {key: delta.values() for key, delta in processes.items()},
            lambda row, key: _combine_process(row, processes[key]),
        )
        if deltas.samples:
            received = self._now()
            conn.execute(
                insert(mismatch_samples),
                [
                    {"environment": environment, "received_at": received, "instance": instance}
                    | sample
                    for sample in deltas.samples
                ],
            )
            self._trim_samples(environment, {sample["name"] for sample in deltas.samples})

    def _trim_samples(self, environment: str, names: Iterable[str]) -> None:
        """Keep the latest ``samples_per_name`` samples of each name (locked in id order)."""
        c = mismatch_samples.c
        for name in sorted(names):
            surplus = list(
                self._conn.execute(
                    select(c.id)
                    .where(c.environment == environment, c.name == name)
                    .order_by(c.id.desc())
                    .offset(self.telemetry_policy.samples_per_name)
                ).scalars()
            )
            self._delete_samples(surplus)

    def _delete_samples(self, ids: Sequence[int]) -> int:
        """Delete these samples, locking them in id order first (no deadlock with a twin)."""
        ordered = sorted(ids)
        c = mismatch_samples.c
        for index in range(0, len(ordered), 1000):
            chunk = ordered[index : index + 1000]
            self._conn.execute(
                select(c.id).where(c.id.in_(chunk)).order_by(c.id).with_for_update()
            ).all()
            self._conn.execute(delete(mismatch_samples).where(c.id.in_(chunk)))
        return len(ordered)


def _flags_in(batch: TelemetryBatch) -> set[str]:
    keys = {override.flag for override in batch.overrides}
    keys.update(sample.flag for sample in batch.samples)
    for window in batch.windows:
        keys.update(series.flag for series in window.series)
        keys.update(usage.flag for usage in window.usage)
        keys.update(comparison.flag for comparison in window.comparisons)
        if window.process is not None:
            keys.add(window.process.flag)
    return keys


def _routes(batch: TelemetryBatch, known: Mapping[str, object]) -> dict[str, set[str]]:
    """Route templates per known flag (unknown flags register nothing)."""
    routes: dict[str, set[str]] = {}
    for window in batch.windows:
        for series in window.series:
            if series.flag in known:
                routes.setdefault(series.flag, set()).add(series.route)
    return routes


def _names(batch: TelemetryBatch, known: Mapping[str, object]) -> dict[str, set[str]]:
    """Comparison names per known flag."""
    names: dict[str, set[str]] = {}
    for window in batch.windows:
        for comparison in window.comparisons:
            if comparison.flag in known:
                names.setdefault(comparison.flag, set()).add(comparison.name)
    for sample in batch.samples:
        if sample.flag in known:
            names.setdefault(sample.flag, set()).add(sample.name)
    return names


def _combine_requests(row: dict[str, Any], delta: dict[str, Any]) -> dict[str, Any]:
    """A stored request row plus a delta (both sketches packed: merged as bytes when they
    can be, else unpacked, merged and packed again, which refuses a corrupt row)."""
    latency = merge_packed(row["latency"], delta["latency"])
    if latency is None:
        stored = unpack_sketch_data(row["latency"])
        latency = pack(merge_sketch_data(stored, unpack_sketch_data(delta["latency"])))
    return {
        "requests": min(row["requests"] + delta["requests"], MAX_COUNT),
        "errors": min(row["errors"] + delta["errors"], MAX_COUNT),
        "client_errors": min(row["client_errors"] + delta["client_errors"], MAX_COUNT),
        "latency": latency,
    }


def _combine_comparisons(row: dict[str, Any], delta: ComparisonDelta) -> dict[str, Any]:
    counts = dict(row["counts"])
    add_counts(counts, delta.counts)
    durations = {side: list(values) for side, values in row["durations"].items()}
    add_durations(durations, delta.durations)
    return {"counts": counts, "durations": durations}


def _combine_process(row: dict[str, Any], delta: ProcessTotals) -> dict[str, Any]:
    stored = ProcessTotals.from_row(row)
    stored.add(delta)
    stored.samples = min(stored.samples, MAX_COUNT)
    return stored.values()
