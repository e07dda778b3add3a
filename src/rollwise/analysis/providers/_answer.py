"""What a metric provider answers: each queried variant's metrics, and the "no data" rule.

:class:`StepMetrics` maps every queried variant to its
:class:`~rollwise.analysis.VariantMetrics`; :meth:`StepMetrics.pair` (or, for a
comparison's answer, ``canary``/``baseline``) gives the :class:`Comparison` the judge
reads. :func:`require_traffic` is the one rule for :class:`~rollwise.errors.NoDataError`
every provider applies. The contract is in :mod:`.base`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ...errors import NoDataError
from ..data import VariantMetrics
from ._query import MetricQuery, Roles, roles_of

__all__ = ["Comparison", "StepMetrics", "require_traffic"]


def require_traffic(query: MetricQuery, requests: Mapping[str, int], /, **details: Any) -> None:
    """Raise :class:`~rollwise.errors.NoDataError` when the look is "no data" (the query's
    docs): a required variant served no request, or no variant did. ``details`` (the
    provider, its queries) go into the error with the query's own."""
    where = f"of flag {query.flag!r} in {query.environment!r} since {query.start.isoformat()}"
    for name in query.required:
        if requests.get(name, 0) == 0:
            role = "canary" if query.roles is not None and name == query.roles.canary else "variant"
            raise NoDataError(
                f"no requests for {role} {name!r} {where}", **details, **query.describe()
            )
    if not any(requests.get(name, 0) for name in query.variants):
        names = ", ".join(map(repr, query.variants))
        raise NoDataError(
            f"no requests for any of the variants {names} {where}",
            **details,
            **query.describe(),
        )


@dataclass(frozen=True, slots=True)
class Comparison:
    """A canary and its baseline out of an answer: what the judge reads (``judge_step``)."""

    canary: VariantMetrics
    baseline: VariantMetrics | None


@dataclass(frozen=True, slots=True, init=False)
class StepMetrics:
    """A provider's answer: each variant over the query's window, and what it could not give.

    ``variants`` maps each queried variant to its :class:`~rollwise.analysis.VariantMetrics`
    (with per-window counts when the provider has them, the same bounds for every variant),
    in the query's order; a variant without traffic is there with zero requests.
    ``missing`` maps a gate's key to the reason the provider has no value for it (the judge
    then reports that gate as no data); ``source`` says where the numbers came from (the
    provider type, and for Prometheus the queries and the evaluation time), for evidence.
    ``roles`` is the query's canary and baseline when it was a comparison.

    Built by providers with :meth:`for_query`; ``StepMetrics(canary, baseline, missing,
    source)`` builds a comparison's answer directly.
    """

    variants: Mapping[str, VariantMetrics]
    missing: Mapping[str, str]
    source: Mapping[str, Any]
    roles: Roles | None

    def __init__(
        self,
        canary: VariantMetrics | None = None,
        baseline: VariantMetrics | None = None,
        missing: Mapping[str, str] | None = None,
        source: Mapping[str, Any] | None = None,
        *,
        variants: Mapping[str, VariantMetrics] | None = None,
        roles: Roles | None = None,
    ) -> None:
        if variants is None:
            if canary is None:
                raise TypeError("StepMetrics needs variants, or a canary (and a baseline)")
            chosen = [canary] if baseline is None else [canary, baseline]
            variants = {one.variant: one for one in chosen}
            roles = Roles(canary.variant, baseline.variant if baseline is not None else None)
        elif canary is not None or baseline is not None:
            raise TypeError("give variants, or a canary and a baseline, not both")
        if roles is not None:
            for name in (roles.canary, roles.baseline):
                if name is not None and name not in variants:
                    raise ValueError(f"the roles name {name!r}, which the answer does not hold")
        object.__setattr__(self, "variants", MappingProxyType(dict(variants)))
        object.__setattr__(self, "missing", MappingProxyType(dict(missing or {})))
        object.__setattr__(self, "source", MappingProxyType(dict(source or {})))
        object.__setattr__(self, "roles", roles)

    @classmethod
    def for_query(
        cls,
        query: MetricQuery,
        metrics: Sequence[VariantMetrics],
        missing: Mapping[str, str] | None = None,
        source: Mapping[str, Any] | None = None,
    ) -> StepMetrics:
        """The answer to ``query``: ``metrics`` holds one entry for each of its variants."""
        by_name = {one.variant: one for one in metrics}
        if list(by_name) != list(query.variants) or len(metrics) != len(by_name):
            raise ValueError(
                f"an answer holds each queried variant once, in order: {list(query.variants)}"
                f", got {[one.variant for one in metrics]}"
            )
        return cls(missing=missing, source=source, variants=by_name, roles=query.roles)

    def pair(self, canary: str, baseline: str | None = None) -> Comparison:
        """``canary`` and ``baseline`` (None: none) as the judge reads them."""
        for name in (canary, baseline):
            if name is not None and name not in self.variants:
                raise ValueError(
                    f"variant {name!r} is not in the answer (it holds {list(self.variants)})"
                )
        return Comparison(
            self.variants[canary], self.variants[baseline] if baseline is not None else None
        )

    @property
    def comparison(self) -> Comparison:
        """The query's canary and baseline (ValueError when it named none)."""
        roles = roles_of(self.roles)
        return self.pair(roles.canary, roles.baseline)

    @property
    def canary(self) -> VariantMetrics:
        return self.comparison.canary

    @property
    def baseline(self) -> VariantMetrics | None:
        return self.comparison.baseline

    def summary(self) -> dict[str, Any]:
        """JSON-friendly figures of each variant, the missing gates and the source.

        A comparison's variants are under ``canary`` and ``baseline``; any other answer's
        under ``variants``, by name in the query's order."""
        figures: dict[str, Any]
        if self.roles is not None:
            comparison = self.comparison
            figures = {
                "canary": comparison.canary.summary(),
                "baseline": comparison.baseline.summary()
                if comparison.baseline is not None
                else None,
            }
        else:
            figures = {"variants": {name: m.summary() for name, m in self.variants.items()}}
        return {
            **figures,
            "missing": dict(sorted(self.missing.items())),
            "source": dict(self.source),
        }
