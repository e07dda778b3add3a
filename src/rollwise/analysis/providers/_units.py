"""Unit counts for a provider's answer: what ``failing_units`` gates judge, per variant.

The builtin provider reads the step's union of the SDKs' distinct-unit sketches through an
injected :class:`UnitReader` (the controller binds it to the store's ``unit_window``) and
hands each variant's counts to the judge in ``VariantMetrics.units``. When there are none
the counts say why (``UnitCounts.missing``), and the gate reports no data with that
reason: the SDKs sent no unit sketches (they need the ``units`` extra and requests with a
unit), or the control plane cannot read them (``NoDataError`` from the reader).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from ...core.gates import GateMetric
from ...errors import NoDataError
from .._unit_counts import UnitCounts
from ..data import VariantMetrics
from ._query import MetricQuery

__all__ = ["NO_UNIT_READER", "UnitReader", "UnitWindowLike", "with_unit_counts"]

NO_UNIT_READER = "this provider was built without the control plane's unit data"
NO_UNITS = (
    "the SDKs reported no unit sketches for {variant} in this step: install "
    "'rollwise[units]' in the application and give its requests a unit (the flag's "
    "sticky unit, e.g. a user id)"
)


class EstimateLike(Protocol):
    @property
    def estimate(self) -> float: ...
    @property
    def lower(self) -> float: ...
    @property
    def upper(self) -> float: ...


class UnitWindowLike(Protocol):
    """One variant's distinct units over the step (the store's ``UnitWindow``)."""

    @property
    def units(self) -> EstimateLike: ...
    @property
    def failing(self) -> EstimateLike: ...


class UnitReader(Protocol):
    """Each variant of ``flag`` with unit data in ``[start, end)`` (others absent); raises
    :class:`~rollwise.errors.NoDataError` when unit data cannot be read at all."""

    def __call__(
        self, environment: str, flag: str, start: datetime, end: datetime
    ) -> Mapping[str, UnitWindowLike]: ...


def _counts(window: UnitWindowLike) -> UnitCounts:
    units, failing = window.units, window.failing
    return UnitCounts(
        units.estimate,
        min(failing.estimate, units.estimate),
        (units.lower, units.upper),
        (failing.lower, failing.upper),
    )


def with_unit_counts(
    query: MetricQuery, metrics: Sequence[VariantMetrics], reader: UnitReader | None
) -> tuple[list[VariantMetrics], dict[str, str]]:
    """``metrics`` with each variant's unit counts, and the ``failing_units`` gates the
    canary has no unit data for (``missing``). Reads nothing when no gate needs units."""
    gates = [gate for gate in query.gates if gate.metric is GateMetric.FAILING_UNITS]
    if not gates:
        return list(metrics), {}
    found: Mapping[str, UnitWindowLike] = {}
    reason: str | None = NO_UNIT_READER if reader is None else None
    if reader is not None:
        try:
            found = reader(query.environment, query.flag, query.start, query.end)
        except NoDataError as error:
            reason = error.message
    result = []
    for one in metrics:
        window = found.get(one.variant)
        if reason is not None:
            counts = UnitCounts.unavailable(reason)
        elif window is None:
            counts = UnitCounts.unavailable(NO_UNITS.format(variant=one.variant))
        else:
            counts = _counts(window)
        result.append(dataclasses.replace(one, units=counts))
    canary = query.roles.canary if query.roles is not None else None
    by_variant = {one.variant: one.units for one in result}
    missing = {}
    chosen = by_variant.get(canary) if canary is not None else None
    if chosen is not None and chosen.missing:
        missing = {gate.key: chosen.missing for gate in gates}
    return result, missing
