"""What a look asks a metric provider: any number of variants over one cumulative window.

:class:`MetricQuery` names the variants (or a canary and its baseline, :class:`Roles`),
the window from the step's (or experiment's) start to now, and the gates; the window's
per-window cuts are :func:`window_bounds`. The contract is in :mod:`.base`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, overload

from ...core.gates import Gate

__all__ = ["WINDOW_SECONDS", "MetricQuery", "Roles", "roles_of", "window_bounds"]

WINDOW_SECONDS = 60.0
"""Default length of the per-window counts a provider gives the judge (docs/judging.md)."""


def _utc(value: datetime) -> datetime:
    """Naive instants are taken as UTC, as everywhere else in rollwise."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def window_bounds(
    start: datetime, end: datetime, seconds: float = WINDOW_SECONDS
) -> list[tuple[datetime, datetime]]:
    """The step's windows ``[start + k L, start + (k + 1) L)`` up to ``end``, oldest first.

    Fixed from the step's start, so a window never changes bounds between looks (the last
    one is cut at ``end`` while it is open). Empty when ``end <= start``.
    """
    if seconds <= 0:
        raise ValueError(f"window length must be positive, got {seconds!r}")
    length = timedelta(seconds=seconds)
    bounds: list[tuple[datetime, datetime]] = []
    cursor = start
    while cursor < end:
        upper = min(cursor + length, end)
        bounds.append((cursor, upper))
        cursor += length
    return bounds


@dataclass(frozen=True, slots=True)
class Roles:
    """Which of a query's variants is the canary and which its baseline (None: none)."""

    canary: str
    baseline: str | None


@dataclass(frozen=True, slots=True, init=False)
class MetricQuery:
    """What one look needs: any number of variants over one cumulative window.

    ``start`` is when the step (or the experiment) began and ``end`` is now: the window is
    cumulative, never a sliding one. ``variants`` names the variants to fetch, in the order
    the answer keeps (at least one, no repeats); ``gates`` tell the provider which custom
    queries to evaluate. ``required`` names the variants without whose traffic the look is
    "no data" (:class:`~rollwise.errors.NoDataError`); when it is empty, only a window in
    which no variant served a request is.

    Two ways to build one::

        MetricQuery(flag, environment, canary, baseline, start, end, gates)  # a comparison
        MetricQuery(flag, environment, variants=("control", "a", "b"), start=..., end=...)

    A comparison fetches the canary then the baseline (None: no concurrent baseline, as in
    blue-green verification), requires the canary's traffic, and records their
    :class:`Roles` so that the answer's :attr:`StepMetrics.canary` and
    :attr:`StepMetrics.baseline` find them.
    """

    flag: str
    environment: str
    variants: tuple[str, ...]
    start: datetime
    end: datetime
    gates: tuple[Gate, ...]
    required: tuple[str, ...]
    roles: Roles | None

    @overload
    def __init__(
        self,
        flag: str,
        environment: str,
        canary: str,
        baseline: str | None,
        start: datetime,
        end: datetime,
        gates: Sequence[Gate] = (),
    ) -> None: ...

    @overload
    def __init__(
        self,
        flag: str,
        environment: str,
        *,
        variants: Sequence[str],
        start: datetime,
        end: datetime,
        gates: Sequence[Gate] = (),
        required: Sequence[str] = (),
    ) -> None: ...

    def __init__(
        self,
        flag: str,
        environment: str,
        canary: str | None = None,
        baseline: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        gates: Sequence[Gate] = (),
        *,
        variants: Sequence[str] | None = None,
        required: Sequence[str] = (),
    ) -> None:
        if start is None or end is None:
            raise TypeError("a MetricQuery needs start and end")
        roles: Roles | None = None
        if variants is None:
            if canary is None:
                raise TypeError("a MetricQuery needs variants, or a canary (and a baseline)")
            if required:
                raise TypeError("a comparison requires its canary: give variants to choose")
            if canary == baseline:
                raise ValueError(f"canary and baseline are the same variant {canary!r}")
            roles = Roles(canary, baseline)
            variants = (canary,) if baseline is None else (canary, baseline)
            required = (canary,)
        elif canary is not None or baseline is not None:
            raise TypeError("give variants, or a canary and a baseline, not both")
        names = tuple(variants)
        if isinstance(variants, str) or not names:
            raise ValueError("a query names at least one variant (a sequence of names)")
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"variants must not repeat: {', '.join(map(repr, repeated))}")
        unknown = [name for name in required if name not in names]
        if unknown:
            raise ValueError(f"required variants {unknown!r} are not among {list(names)!r}")
        start, end = _utc(start), _utc(end)
        if end < start:
            raise ValueError(f"the window ends ({end}) before it starts ({start})")
        for name, value in (
            ("flag", flag),
            ("environment", environment),
            ("variants", names),
            ("start", start),
            ("end", end),
            ("gates", tuple(gates)),
            ("required", tuple(required)),
            ("roles", roles),
        ):
            object.__setattr__(self, name, value)

    @property
    def canary(self) -> str:
        """The canary of a comparison (ValueError for a query that names none)."""
        return roles_of(self.roles).canary

    @property
    def baseline(self) -> str | None:
        """The baseline of a comparison (ValueError for a query that names no canary)."""
        return roles_of(self.roles).baseline

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def describe(self) -> dict[str, Any]:
        """The query as JSON-friendly details for errors and evidence."""
        named: dict[str, Any] = (
            {"canary": self.roles.canary, "baseline": self.roles.baseline}
            if self.roles is not None
            else {"variants": list(self.variants)}
        )
        return {
            "flag": self.flag,
            "environment": self.environment,
            **named,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }


def roles_of(roles: Roles | None) -> Roles:
    """``roles``, or the ValueError that says the query named no canary."""
    if roles is None:
        raise ValueError(
            "this query names no canary: build it as MetricQuery(flag, environment, canary, "
            "baseline, start, end), or use StepMetrics.pair(canary, baseline)"
        )
    return roles
