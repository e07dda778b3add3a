"""The rollout spec: what an operator writes to roll a variant out (see docs/rollouts.md).

Pydantic checks everything the spec can check on its own (steps increase to 100%, gate keys
are unique, durations fit). What needs the flag (do the variants exist, which variant is
the baseline, can the canary take its share from it) is :func:`rollout_spec_issues`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ...errors import ConfigError, ConfigIssue, issues_error, validation_issues
from ..durations import Duration, format_duration
from ..flags import BUCKETS, FLAG_KEY_PATTERN, NAME_PATTERN, Flag
from ..gates import Gate, NoDataPolicy, PromotionRule, SampleRatioCheck
from ._health import HealthCheck
from ._issues import dotted

__all__ = [
    "DEFAULT_MIN_SAMPLES",
    "DEFAULT_ROUTER_APPLY_TIMEOUT",
    "IN_PROCESS_ROUTER",
    "ROUTER_PATTERN",
    "BlueGreenStrategy",
    "CanaryStrategy",
    "RolloutSpec",
    "Step",
    "check_rollout_spec",
    "current_weights",
    "parse_rollout_spec",
    "resolved_baseline",
    "rollout_spec_issues",
]

DEFAULT_MIN_SAMPLES = 200
"""Requests per variant a step needs before its gates can pass (a gate may ask for more)."""

DEFAULT_ROUTER_APPLY_TIMEOUT = 60.0
"""How long a router may take to apply a step's split before the rollout pauses (seconds)."""

IN_PROCESS_ROUTER = "flag"
"""The router that is the SDK's own split: nothing outside the processes to wait for."""

ROUTER_PATTERN = r"^[a-z][a-z0-9_\-]{0,63}$"
"""A router type name, as the agent reports it (``nginx``, ``command``, ``flag``)."""

_STEP_TEXT = re.compile(r"^\s*(\d+)\s*%?\s*(?:/\s*(\S.*?))?\s*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Step(_Model):
    """Send ``percent`` of the baseline's traffic to the canary and watch it for ``bake``.

    Written as a mapping, or as text: ``"10%/1h"``, ``"100%"``; a bare number is a percent
    with no bake.
    """

    percent: Annotated[int, Field(ge=1, le=100)]
    bake: Duration = 0.0

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, bool):
            return data
        if isinstance(data, int):
            return {"percent": data}
        if isinstance(data, str):
            match = _STEP_TEXT.match(data)
            if match is None:
                raise ValueError(
                    f"invalid step {data!r}: write e.g. '10%/1h', '100%' or "
                    "{percent: 10, bake: 1h}"
                )
            percent, bake = match.groups()
            return {"percent": int(percent)} if bake is None else {"percent": percent, "bake": bake}
        return data

    @property
    def share(self) -> int:
        """The step's share in basis points."""
        return self.percent * (BUCKETS // 100)


def _default_steps() -> list[Step]:
    hour = 3600.0
    return [Step(percent=p, bake=hour) for p in (10, 25, 50)] + [Step(percent=100)]


class CanaryStrategy(_Model):
    """Steps of increasing percent, each baked and judged; the last is always 100%.

    A 100% step is appended (with no bake) when the list does not end with one: reaching it
    is success. A 100% step with a bake is a verification window judged on absolute bounds.
    """

    type: Literal["canary"] = "canary"
    steps: Annotated[list[Step], Field(min_length=1)] = Field(default_factory=_default_steps)

    @field_validator("steps")
    @classmethod
    def _increasing_to_100(cls, steps: list[Step]) -> list[Step]:
        issues: list[tuple[str, str]] = []
        for index in range(1, len(steps)):
            previous, step = steps[index - 1], steps[index]
            if step.percent <= previous.percent:
                issues.append(
                    (
                        f"{index}.percent",
                        f"{step.percent}% is not above the previous step's {previous.percent}%: "
                        "percentages increase and 100% comes last",
                    )
                )
        if issues:
            raise issues_error(issues)
        if steps[-1].percent != 100:
            steps = [*steps, Step(percent=100)]
        if len(steps) == 1 and steps[0].bake == 0:
            raise issues_error(
                [
                    (
                        "0",
                        "a lone 100% step without a bake judges nothing: add a step below 100% "
                        "or a bake (a verification window) to the 100% step",
                    )
                ]
            )
        return steps


class BlueGreenStrategy(_Model):
    """Everyone switches to the canary at once, then ``verify`` decides; failure switches back.

    The baseline stays configured (at weight 0), so the switch back is one split change.
    """

    type: Literal["blue_green"] = "blue_green"
    verify: Annotated[Duration, Field(gt=0)] = 1800.0


Strategy = Annotated[CanaryStrategy | BlueGreenStrategy, Field(discriminator="type")]


class RolloutSpec(_Model):
    """A variant of a flag rolled out in one environment: strategy, gates, analysis settings.

    ``baseline`` is the variant the canary replaces and is compared with; unset, it is the
    flag's off variant (:func:`resolved_baseline`). ``max_step_duration`` unset means twice
    the step's bake, at least one hour (:func:`step_max_duration`).
    """

    flag: Annotated[str, Field(pattern=FLAG_KEY_PATTERN)]
    environment: Annotated[str, Field(pattern=NAME_PATTERN)]
    variant: Annotated[str, Field(min_length=1)]
    baseline: Annotated[str, Field(min_length=1)] | None = None
    strategy: Strategy = Field(default_factory=CanaryStrategy)
    gates: list[Gate] = Field(default_factory=list)
    min_samples: Annotated[int, Field(ge=1)] = DEFAULT_MIN_SAMPLES
    max_step_duration: Annotated[Duration, Field(gt=0)] | None = None
    on_no_data: NoDataPolicy = NoDataPolicy.HOLD
    promotion: PromotionRule = Field(default_factory=PromotionRule)
    """What a gate must show to pass: the point estimate (default) or a confidence bound."""
    sample_ratio: SampleRatioCheck = Field(default_factory=SampleRatioCheck)
    """The sample-ratio-mismatch check on steps with a baseline (pauses on a mismatch)."""
    alpha_budget: Annotated[float, Field(gt=0, lt=0.5)] | None = None
    """The rollout's whole false-rollback budget, split across gates x judged steps (in
    proportion to each gate's ``alpha``); None: each gate's ``alpha`` per step."""
    router: Annotated[str, Field(pattern=ROUTER_PATTERN)] | None = None
    """What applies the split: ``flag`` (the SDKs: nothing to wait for), a router type
    (``nginx``, ``command``: a step is judged once its routers applied its split), or None:
    the routers that report for the flag, if any (see ``_routing.py``)."""
    router_apply_timeout: Annotated[Duration, Field(gt=0, le=86_400)] = DEFAULT_ROUTER_APPLY_TIMEOUT
    """How long after a step begins its routers may take to apply its split; then the
    rollout pauses, naming them."""
    health_check: HealthCheck | None = None
    """Probe the candidate until it answers healthy before any traffic moves (``_health.py``);
    None: the first step starts at once."""

    @field_validator("strategy", mode="before")
    @classmethod
    def _strategy_shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"type": value}
        if isinstance(value, Mapping) and "type" not in value:
            return {"type": "blue_green" if "verify" in value else "canary", **value}
        return value

    @model_validator(mode="after")
    def _cross_field(self) -> Self:
        issues = list(_spec_issues(self))
        if issues:
            raise issues_error(issues)
        return self

    @property
    def steps(self) -> tuple[Step, ...]:
        """The steps every strategy comes down to: blue-green is one 100% step of ``verify``."""
        if isinstance(self.strategy, BlueGreenStrategy):
            return (Step(percent=100, bake=self.strategy.verify),)
        return tuple(self.strategy.steps)

    @property
    def is_blue_green(self) -> bool:
        return isinstance(self.strategy, BlueGreenStrategy)


def _spec_issues(spec: RolloutSpec) -> Iterator[tuple[str, str]]:
    if spec.baseline is not None and spec.baseline == spec.variant:
        yield "baseline", "the baseline must differ from the variant being rolled out"
    seen: dict[str, int] = {}
    for index, gate in enumerate(spec.gates):
        if gate.key in seen:
            where = "name" if gate.name is not None else "metric"
            yield (
                f"gates.{index}.{where}",
                f"gate {gate.key!r} is already gates.{seen[gate.key]}: name gates uniquely "
                "(evidence refers to them by name)",
            )
        seen.setdefault(gate.key, index)
    if spec.max_step_duration is not None:
        for index, step in enumerate(spec.steps):
            if step.bake > spec.max_step_duration:
                where = "verify" if spec.is_blue_green else f"steps.{index}.bake"
                yield (
                    "max_step_duration",
                    f"{format_duration(spec.max_step_duration)} is shorter than the bake of "
                    f"strategy.{where} ({format_duration(step.bake)}): the step could never pass",
                )
    if spec.is_blue_green:
        yield from _blue_green_gate_issues(spec)
    else:
        yield from _verification_step_issues(spec)


def _verification_step_issues(spec: RolloutSpec) -> Iterator[tuple[str, str]]:
    """A canary's 100% step with a bake verifies on absolute bounds only: it needs one.

    A spec without gates is a timed rollout and stays one; a spec whose gates are all
    relative would otherwise pass its verification window without judging anything.
    """
    if not spec.gates or any(gate.has_absolute_bound for gate in spec.gates):
        return
    for index, step in enumerate(spec.steps):
        if step.percent == 100 and step.bake > 0:
            yield (
                f"strategy.steps.{index}.bake",
                "a 100% step with a bake is a verification window with no baseline traffic to "
                "compare with, so only absolute bounds judge it: add a gate with max or min, "
                "or drop the bake",
            )


def _blue_green_gate_issues(spec: RolloutSpec) -> Iterator[tuple[str, str]]:
    absolute = False
    for index, gate in enumerate(spec.gates):
        for field in ("max_increase", "max_difference"):
            if getattr(gate, field) is not None:
                yield (
                    f"gates.{index}.{field}",
                    "blue_green sends everyone to the canary, so there is no baseline traffic "
                    "in the same window to compare with: use absolute bounds (max, min)",
                )
        absolute = absolute or gate.has_absolute_bound
    if not absolute:
        yield (
            "gates",
            "blue_green needs at least one gate with an absolute bound (max or min): "
            "the verify window is the switch's health check",
        )


def parse_rollout_spec(data: Any, flag: Flag | None = None) -> RolloutSpec:
    """Validate a rollout spec (from YAML/JSON or the API); with ``flag``, against it too.

    Raises :class:`~rollwise.errors.ConfigError` listing every problem with its field path
    (``strategy.steps.2.percent``). With ``flag``, the returned spec has its baseline
    resolved (see :func:`check_rollout_spec`).
    """
    if isinstance(data, RolloutSpec):
        spec = data
    else:
        if not isinstance(data, Mapping):
            kind = "null" if data is None else type(data).__name__
            raise ConfigError.single(None, "", f"expected a mapping, got {kind}")
        key = data.get("flag")
        flag_key = key if isinstance(key, str) else None
        try:
            spec = RolloutSpec.model_validate(data)
        except ValidationError as error:
            raise ConfigError(validation_issues(error, flag=flag_key, locate=dotted)) from None
    if flag is None:
        return spec
    return check_rollout_spec(spec, flag)


def check_rollout_spec(spec: RolloutSpec, flag: Flag) -> RolloutSpec:
    """Check ``spec`` against ``flag``; return it with its baseline resolved.

    Store the returned spec: a later change of the flag's off variant must not change which
    variant an ongoing rollout replaces.
    """
    issues = list(rollout_spec_issues(spec, flag))
    if issues:
        raise ConfigError(issues)
    if spec.baseline is None:
        return spec.model_copy(update={"baseline": resolved_baseline(spec, flag)})
    return spec


def resolved_baseline(spec: RolloutSpec, flag: Flag) -> str:
    """The variant the canary replaces: ``spec.baseline``, or the flag's off variant."""
    return spec.baseline if spec.baseline is not None else flag.resolved_off_variant


def current_weights(flag: Flag, environment: str) -> dict[str, int]:
    """The flag's fallthrough weights in ``environment`` (a default is 100% of one variant)."""
    state = flag.environments.get(environment)
    if state is None:
        return {flag.resolved_off_variant: BUCKETS}
    if state.split is not None:
        return dict(state.split)
    return {state.default if state.default is not None else flag.resolved_off_variant: BUCKETS}


def rollout_spec_issues(spec: RolloutSpec, flag: Flag) -> Iterator[ConfigIssue]:
    """Every problem of ``spec`` against ``flag`` and its current state in the environment.

    Besides the names, the canary must be able to take its share from the baseline without
    moving anyone else: the two together must have traffic, and no variant with traffic may
    sit between them in the flag's variant order (its units would shift as the canary grows).
    """
    key = spec.flag
    variants = flag.variants
    known = ", ".join(variants)
    if spec.flag != flag.key:
        yield ConfigIssue(key, "flag", f"the rollout names flag {spec.flag!r}, not {flag.key!r}")
        return
    names_ok = True
    if spec.variant not in variants:
        names_ok = False
        yield ConfigIssue(
            key, "variant", f"unknown variant {spec.variant!r} (variants are: {known})"
        )
    if spec.baseline is not None and spec.baseline not in variants:
        names_ok = False
        yield ConfigIssue(
            key, "baseline", f"unknown variant {spec.baseline!r} (variants are: {known})"
        )
    if spec.baseline is None and spec.variant == flag.resolved_off_variant:
        names_ok = False
        yield ConfigIssue(
            key,
            "baseline",
            f"{spec.variant!r} is the flag's off variant, the default baseline: name the "
            "variant it replaces",
        )
    if names_ok:
        yield from _traffic_issues(spec, flag)


def _traffic_issues(spec: RolloutSpec, flag: Flag) -> Iterator[ConfigIssue]:
    baseline = resolved_baseline(spec, flag)
    weights = current_weights(flag, spec.environment)
    where = f"in {spec.environment}"
    if weights.get(baseline, 0) + weights.get(spec.variant, 0) == 0:
        yield ConfigIssue(
            spec.flag,
            "baseline",
            f"neither the baseline {baseline!r} nor {spec.variant!r} gets traffic {where}: "
            "the canary takes its share from the baseline, so name a baseline that has traffic",
        )
        return
    between = variants_between(flag, weights, baseline, spec.variant)
    if between:
        names = ", ".join(f"{v!r} ({weights[v] / 100:g}%)" for v in between)
        yield ConfigIssue(
            spec.flag,
            "variant",
            f"{names} sit(s) between {baseline!r} and {spec.variant!r} in the flag's variant "
            f"order with traffic {where}: their users would move as the canary grows",
        )


def variants_between(flag: Flag, weights: Mapping[str, int], first: str, second: str) -> list[str]:
    """Variants with traffic strictly between ``first`` and ``second`` in the flag's order."""
    low, high = sorted((flag.variants.index(first), flag.variants.index(second)))
    return [v for v in flag.variants[low + 1 : high] if weights.get(v, 0) > 0]
