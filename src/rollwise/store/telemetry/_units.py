"""Distinct-unit sketches: stored per bucket as unions, read back as a step's union.

SDKs report, per window and (flag, variant), an HLL sketch of the units served and one of
the units with a server error (:mod:`rollwise.core.unit_sketches`). Ingest adds each to
one bucket of every resolution (10 s, 5 min, 1 h), as request counts are, by taking the
union with what the bucket holds: a union is idempotent, so a retried batch, a window
continued in a second part or two processes reporting the same user never count a unit
twice. A query covers the step with the coarsest buckets that fit (``_plan.cover``) and
returns each variant's union over the whole range: a unit that failed in two windows is
one failing unit.

Only flags the control plane knows, and their variants, are stored; windows outside the
accepted time range (too old, in the future) are skipped, as request windows are. The
sketches are read with Apache DataSketches (the ``units`` extra): a control plane without
it stores none and :meth:`UnitOperations.unit_window` raises :class:`UnitsUnavailable`
saying why, so that a unit-level gate reports the data as missing, never as a pass.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ...core.telemetry import TelemetryBatch
from ...core.unit_sketches import LG_K
from ...errors import ConfigError, ConfigIssue, NoDataError
from .._base import Operations
from ..tables import flags, unit_buckets
from ._aggregate import epoch, epoch_end
from ._plan import align_down, cover
from .types import RESOLUTIONS, TelemetryPolicy

try:
    import datasketches as _ds
except ImportError:  # the optional `units` extra is not installed
    _ds = None

__all__ = [
    "BOUND_STD_DEVS",
    "UNITS_UNAVAILABLE",
    "UnitEstimate",
    "UnitOperations",
    "UnitWindow",
    "UnitsUnavailable",
    "store_unit_sketches",
]

UNITS_UNAVAILABLE = (
    "the control plane cannot read unit sketches: datasketches is not installed "
    "(pip install 'rollwise[units]' where the control plane runs)"
)
BOUND_STD_DEVS = 2
"""Width of the estimate's error bounds, in standard deviations (exact in list/set mode)."""
_KEY = ("environment", "flag", "resolution", "bucket_start", "variant")
_logger = logging.getLogger("rollwise")


class UnitsUnavailable(NoDataError):
    """The control plane cannot read unit sketches (datasketches is not installed): a
    unit-level gate has no data, never a pass."""


@dataclass(frozen=True, slots=True)
class UnitEstimate:
    """A distinct count: the sketch's estimate and its bounds (BOUND_STD_DEVS wide)."""

    estimate: float
    lower: float
    upper: float


@dataclass(frozen=True, slots=True)
class UnitWindow:
    """One variant's distinct units over a range: all served, and those with a failure."""

    variant: str
    units: UnitEstimate
    failing: UnitEstimate


def store_unit_sketches(
    conn: Connection,
    environment: str,
    batch: TelemetryBatch,
    now: datetime,
    policy: TelemetryPolicy,
) -> int:
    """Union the batch's unit sketches into their buckets; returns the sketches stored.

    Called by ingest for every part it stores (a part repeating a window's sketches adds
    nothing: the union is idempotent)."""
    if not any(window.units for window in batch.windows):
        return 0
    if _ds is None:
        _logger.warning("rollwise: unit sketches not stored: %s", UNITS_UNAVAILABLE)
        return 0
    wanted = {entry.flag for window in batch.windows for entry in window.units}
    known = {
        row.key: frozenset(row.variants)
        for row in conn.execute(
            select(flags.c.key, flags.c.variants).where(flags.c.key.in_(sorted(wanted)))
        )
    }
    moment = epoch(now)
    oldest = moment - int(min(policy.keep_batch_ids, policy.keep_10s).total_seconds())
    newest = moment + int(policy.future_tolerance.total_seconds())
    unions: dict[tuple[Any, ...], tuple[Any, Any]] = {}
    stored = 0
    for w, window in enumerate(batch.windows):
        start = epoch(window.start)
        if not oldest <= start <= newest:
            continue
        for u, entry in enumerate(window.units):
            if entry.variant not in known.get(entry.flag, ()):
                continue
            sketches = [
                _read(getattr(entry, side), f"windows.{w}.units.{u}.{side}")
                for side in ("seen", "failing")
            ]
            stored += 1
            for resolution in RESOLUTIONS:
                bucket = align_down(start, resolution)
                key = (environment, entry.flag, resolution, bucket, entry.variant)
                pair = unions.get(key)
                if pair is None:
                    pair = unions[key] = (_ds.hll_union(LG_K), _ds.hll_union(LG_K))
                pair[0].update(sketches[0])
                pair[1].update(sketches[1])
    if unions:
        _upsert(
            conn, {key: (_bytes(seen), _bytes(failing)) for key, (seen, failing) in unions.items()}
        )
    return stored


def _read(text: str, path: str) -> Any:
    """The sketch of ``text`` (already checked structurally by the wire schema)."""
    assert _ds is not None
    try:
        return _ds.hll_sketch.deserialize(base64.b64decode(text))
    except (ValueError, RuntimeError, IndexError, MemoryError) as error:
        raise ConfigError([ConfigIssue(None, path, f"not a unit sketch: {error}")]) from None


def _bytes(union: Any) -> bytes:
    assert _ds is not None
    return bytes(union.get_result(_ds.tgt_hll_type.HLL_8).serialize_compact())


def _upsert(conn: Connection, deltas: dict[tuple[Any, ...], tuple[bytes, bytes]]) -> None:
    """Create missing rows with the delta; union the others under a row lock (key order,
    so two ingests of the same buckets wait for each other instead of deadlocking)."""
    assert _ds is not None
    keys = sorted(deltas)
    rows = [dict(zip(_KEY, key, strict=True)) | _values(deltas[key]) for key in keys]
    maker = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    c = unit_buckets.c
    columns = [c[name] for name in _KEY]
    created = {
        tuple(row)
        for row in conn.execute(
            maker(unit_buckets).values(rows).on_conflict_do_nothing().returning(*columns)
        )
    }
    existing = [key for key in keys if key not in created]
    for index in range(0, len(existing), 200):
        chunk = existing[index : index + 200]
        found = conn.execute(
            select(*columns, c.seen, c.failing)
            .where(
                or_(
                    *(
                        and_(*(col == v for col, v in zip(columns, key, strict=True)))
                        for key in chunk
                    )
                )
            )
            .order_by(*columns)
            .with_for_update()
        ).all()
        for row in found:
            key = tuple(row[: len(_KEY)])
            seen, failing = deltas[key]
            merged = (_union(row.seen, seen), _union(row.failing, failing))
            conn.execute(
                unit_buckets.update()
                .where(*(col == v for col, v in zip(columns, key, strict=True)))
                .values(_values(merged))
            )


def _values(pair: tuple[bytes, bytes]) -> dict[str, bytes]:
    return {"seen": pair[0], "failing": pair[1]}


def _union(*stored: bytes) -> bytes:
    assert _ds is not None
    union = _ds.hll_union(LG_K)
    for data in stored:
        union.update(_ds.hll_sketch.deserialize(bytes(data)))
    return _bytes(union)


class UnitOperations(Operations):
    """Reads the distinct-unit sketches (the unit-level gates' input)."""

    telemetry_policy: TelemetryPolicy = TelemetryPolicy()

    def unit_window(
        self, environment: str, flag: str, start: datetime, end: datetime
    ) -> dict[str, UnitWindow]:
        """Each variant's distinct units (and failing units) in ``[start, end)``: the union
        of every bucket covering the range (attributed by bucket start, as
        ``variant_window``). Variants without unit data are absent.

        Raises :class:`UnitsUnavailable` when this process cannot read sketches."""
        if _ds is None:
            raise UnitsUnavailable(UNITS_UNAVAILABLE)
        now = epoch(self._now())
        policy = self.telemetry_policy
        oldest = {r: now - int(policy.keep(r).total_seconds()) for r in RESOLUTIONS}
        segments = cover(epoch(start), epoch_end(end), oldest)
        if not segments:
            return {}
        c = unit_buckets.c
        rows = self._conn.execute(
            select(c.variant, c.seen, c.failing).where(
                c.environment == environment,
                c.flag == flag,
                or_(
                    *(
                        and_(c.resolution == r, c.bucket_start >= low, c.bucket_start < high)
                        for r, low, high in segments
                    )
                ),
            )
        )
        unions: dict[str, tuple[Any, Any]] = {}
        for row in rows:
            pair = unions.get(row.variant)
            if pair is None:
                pair = unions[row.variant] = (_ds.hll_union(LG_K), _ds.hll_union(LG_K))
            pair[0].update(_ds.hll_sketch.deserialize(bytes(row.seen)))
            pair[1].update(_ds.hll_sketch.deserialize(bytes(row.failing)))
        result = {}
        for variant in sorted(unions):
            seen, failing = (union.get_result(_ds.tgt_hll_type.HLL_8) for union in unions[variant])
            result[variant] = UnitWindow(variant, _estimate(seen), _estimate(failing))
        return result


def _estimate(sketch: Any) -> UnitEstimate:
    return UnitEstimate(
        sketch.get_estimate(),
        sketch.get_lower_bound(BOUND_STD_DEVS),
        sketch.get_upper_bound(BOUND_STD_DEVS),
    )
