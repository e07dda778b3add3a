"""Gates: what a rollout step must show before it is promoted, and what makes it fail.

A gate names a metric of the canary (the variant being rolled out), a bound, and how sure
the judge must be. Bounds are absolute (``max``/``min`` on the canary's own value) or
relative to the baseline variant in the same window (``max_increase``: at most that
fraction above the baseline; ``max_difference``: at most that much above, in the metric's
unit — for rates, a fraction such as 0.005 for half a percentage point). A gate may carry
several bounds; all of them must hold.

"Worse" depends on the metric: a higher error rate, mismatch rate or latency is worse; a
lower success rate is worse (its relative bounds read as "at most that fraction below").
A custom metric says which way is worse with ``higher_is_worse``. ``failing_units`` is the
share of units (users) with at least one server error, bounded like a rate
(docs/judging.md, "Unit-level gates").

Process gates bound the canary's own resources and throughput, absolutely (``max``/``min``
only): ``cpu`` (percent of the machine's CPU, 0-100), ``memory`` (resident memory as a
percent of the machine's RAM, 0-100) — each the ``mean`` or the ``max`` (``aggregate``)
over the canary's processes and windows in the step — and ``throughput`` (the canary's
requests per second over the step's settled windows; lower is worse).

This module is the shape only; :mod:`rollwise.analysis` judges gates on data.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "Gate",
    "GateMetric",
    "JudgeSettings",
    "NoDataPolicy",
    "ProcessAggregate",
    "PromotionRule",
    "PromotionRuleKind",
    "SampleRatioCheck",
    "Verdict",
]

GATE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"


class GateMetric(StrEnum):
    ERROR_RATE = "error_rate"
    SUCCESS_RATE = "success_rate"
    LATENCY_P50 = "latency_p50"
    LATENCY_P95 = "latency_p95"
    LATENCY_P99 = "latency_p99"
    MISMATCH_RATE = "mismatch_rate"
    CUSTOM = "custom"
    CPU = "cpu"
    MEMORY = "memory"
    THROUGHPUT = "throughput"
    FAILING_UNITS = "failing_units"
    """The share of units (users) with at least one server error in the step."""

    @property
    def is_rate(self) -> bool:
        return self in (self.ERROR_RATE, self.SUCCESS_RATE, self.MISMATCH_RATE)

    @property
    def is_latency(self) -> bool:
        return self in (self.LATENCY_P50, self.LATENCY_P95, self.LATENCY_P99)

    @property
    def is_process(self) -> bool:
        """Judged on the canary alone, against absolute bounds (``analysis/process_gates``)."""
        return self in (self.CPU, self.MEMORY, self.THROUGHPUT)

    @property
    def is_resource(self) -> bool:
        """Read from the SDK's process samples (a percent of the machine)."""
        return self in (self.CPU, self.MEMORY)

    @property
    def quantile(self) -> float | None:
        return {"latency_p50": 0.5, "latency_p95": 0.95, "latency_p99": 0.99}.get(self.value)


class Verdict(StrEnum):
    """What the data shows about a gate, or a whole step (the worst of its gates)."""

    PASS = "pass"
    """Enough data, not significantly harmful, and every estimate within its bound."""
    FAIL = "fail"
    """A bound is significantly violated (anytime-valid at the gate's alpha)."""
    HOLD = "hold"
    """Enough data, not significant, but an estimate is outside its bound: keep watching."""
    NO_DATA = "no_data"
    """Fewer samples than required in a variant the gate needs: never a pass or a failure."""
    SAMPLE_RATIO_MISMATCH = "sample_ratio_mismatch"
    """A whole step only: the canary's share of requests is significantly off the share the
    step configures, so the comparison with the baseline cannot be trusted (pause)."""


class ProcessAggregate(StrEnum):
    """Which figure of the canary's process samples a ``cpu``/``memory`` gate bounds."""

    MEAN = "mean"
    """The mean over every process and window of the step (sustained load)."""
    MAX = "max"
    """The highest any one process reported in any window (one leaking instance)."""


class NoDataPolicy(StrEnum):
    """What a step does while a gate lacks data (never a pass, never a failure by itself)."""

    HOLD = "hold"
    PAUSE = "pause"
    ROLLBACK = "rollback"


Fraction = Annotated[float, Field(gt=0, le=1)]

MAX_INCREASE = 100.0
"""A relative bound beyond +10,000% bounds nothing; larger is refused as a likely typo."""


class PromotionRuleKind(StrEnum):
    """What a gate must show to pass (see docs/judging.md, "Promotion")."""

    ESTIMATE = "estimate"
    """The point estimate within the bound (fast; no error control on promotion)."""
    UPPER_BOUND = "upper_bound"
    """An anytime-valid confidence bound of the harm within the bound plus a tolerance."""


class PromotionRule(BaseModel):
    """When a gate passes. ``upper_bound`` guarantees: a canary worse than its bound by more
    than ``tolerance`` (relative: the allowed value times ``1 + tolerance``) passes a gate,
    and so is promoted, with probability at most ``alpha``, however often the judge looks.
    Steps take longer: the data must show the canary is not that bad, not only fail to show
    that it is."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    rule: PromotionRuleKind = PromotionRuleKind.ESTIMATE
    tolerance: Annotated[float, Field(gt=0, le=10)] = 0.25
    """Relative margin over the allowed value that counts as "too bad" (0.25: 25% above)."""
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.05
    """Largest rate at which a too-bad canary passes a gate."""


class SampleRatioCheck(BaseModel):
    """The sample-ratio-mismatch check on every step with a baseline: the canary's share of
    the canary's and the baseline's requests against the share the step configures.

    It pauses the rollout when the share is significantly outside ``[w / (1 + tolerance),
    w * (1 + tolerance)]`` (anytime-valid at ``alpha``). Targeting rules or overrides that
    serve the canary or the baseline outside the split move the share too: widen the
    tolerance or disable the check for such flags."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    enabled: bool = True
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.001
    tolerance: Annotated[float, Field(ge=0, le=10)] = 0.2


class JudgeSettings(BaseModel):
    """The step-wide settings the judge needs besides the gates (built from the rollout)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    promotion: PromotionRule = Field(default_factory=PromotionRule)
    sample_ratio: SampleRatioCheck = Field(default_factory=SampleRatioCheck)
    canary_share: Annotated[float, Field(gt=0, lt=1)] | None = None
    """The canary's configured share of the canary's and the baseline's traffic in this step
    (None: unknown, or no baseline; the sample-ratio check is then skipped)."""


class Gate(BaseModel):
    """One condition a step must meet; see the module docs for the bounds."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: Annotated[str, Field(pattern=GATE_NAME_PATTERN)] | None = None
    metric: GateMetric
    max: float | None = None
    min: float | None = None
    max_increase: Annotated[float, Field(ge=0, le=MAX_INCREASE)] | None = None
    max_difference: Annotated[float, Field(ge=0)] | None = None
    query: Annotated[str, Field(min_length=1, max_length=2000)] | None = None
    """For ``custom``: the provider's query (PromQL with ``{variant}``, ``{flag}``, ...)."""
    higher_is_worse: bool = True
    """For ``custom``: which way is a regression."""
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.05
    """False-failure rate of the sequential test, valid however often the judge looks."""
    min_samples: Annotated[int, Field(ge=1)] | None = None
    """Per variant; the rollout's own minimum when unset. For ``cpu``/``memory``: process
    samples of the canary (default 1); for ``throughput``: settled windows (default 1)."""
    aggregate: ProcessAggregate = ProcessAggregate.MEAN
    """For ``cpu``/``memory``: bound the mean or the max of the canary's samples."""

    @model_validator(mode="after")
    def _check(self) -> Self:
        if all(b is None for b in (self.max, self.min, self.max_increase, self.max_difference)):
            raise ValueError("a gate needs a bound: max, min, max_increase or max_difference")
        if self.metric is GateMetric.CUSTOM and self.query is None:
            raise ValueError("a custom gate needs a query")
        if self.metric is not GateMetric.CUSTOM and self.query is not None:
            raise ValueError(f"query is only for custom gates, not {self.metric.value}")
        if self.metric.is_rate or self.metric is GateMetric.FAILING_UNITS:
            for label, bound in (
                ("max", self.max),
                ("min", self.min),
                ("max_difference", self.max_difference),
            ):
                if bound is not None and not 0.0 <= bound <= 1.0:
                    raise ValueError(f"{label} of a rate must be between 0 and 1")
        if self.metric.is_latency and self.min is not None:
            raise ValueError("latency gates bound from above: use max, not min")
        if self.metric.is_process:
            self._check_process()
        elif self.aggregate is not ProcessAggregate.MEAN:
            raise ValueError(f"aggregate is only for cpu and memory gates, not {self.metric}")
        return self

    def _check_process(self) -> None:
        metric = self.metric.value
        if self.max_increase is not None or self.max_difference is not None:
            raise ValueError(f"{metric} gates take absolute bounds only: max or min")
        if self.metric.is_resource:
            for label, bound in (("max", self.max), ("min", self.min)):
                if bound is not None and not 0.0 <= bound <= 100.0:
                    raise ValueError(f"{label} of {metric} is a percent: between 0 and 100")
        else:
            if self.aggregate is not ProcessAggregate.MEAN:
                raise ValueError("aggregate is only for cpu and memory gates, not throughput")
            for label, bound in (("max", self.max), ("min", self.min)):
                if bound is not None and bound < 0:
                    raise ValueError(f"{label} of throughput (requests per second) is >= 0")

    @property
    def has_absolute_bound(self) -> bool:
        """``max`` or ``min``: judged without a baseline (blue-green, a 100% step)."""
        return self.max is not None or self.min is not None

    @property
    def key(self) -> str:
        """The gate's name, or its metric when unnamed (how evidence refers to it)."""
        return self.name or self.metric.value

    @property
    def worse_when_higher(self) -> bool:
        if self.metric is GateMetric.CUSTOM:
            return self.higher_is_worse
        return self.metric not in (GateMetric.SUCCESS_RATE, GateMetric.THROUGHPUT)
