"""The experiment model: a flag's split used as an A/B/n test, its metrics and its states.

Pure: pydantic checks shapes, :func:`parse_experiment` the cross-field rules (weights that
sum to 10,000, a control among the arms, each metric with exactly one source: a builtin
event or a sql query) and turns every problem into a :class:`ConfigError` naming the field.
Whether the arms are the flag's variants needs the flag: :func:`check_arms` does that part.
The legal state changes live in :data:`TRANSITIONS`, in one place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigError, ConfigIssue, ConflictError, validation_issues
from .durations import Duration
from .flags import BUCKETS, FLAG_KEY_PATTERN, NAME_PATTERN

__all__ = [
    "TRANSITIONS",
    "Decision",
    "DecisionKind",
    "ExperimentDefinition",
    "ExperimentMetricSpec",
    "ExperimentState",
    "MetricRole",
    "MetricSourceKind",
    "check_arms",
    "next_state",
    "parse_decision",
    "parse_experiment",
]

ExperimentState = Literal["draft", "running", "stopped"]
DecisionKind = Literal["ship", "keep_control", "inconclusive"]
MetricRole = Literal["primary", "secondary", "guardrail"]
MetricSourceKind = Literal["builtin", "sql"]
EVENT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
"""An environment variable's name (what ``connection_env`` holds, never a URL)."""
_SQL_FIELDS = ("query", "denominator_query", "connection_env", "exposures_query")

TRANSITIONS: Mapping[tuple[ExperimentState, str], ExperimentState] = {
    ("draft", "start"): "running",
    ("running", "stop"): "stopped",
}
"""(state, action) → the state it leads to; any other pair is refused."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExperimentMetricSpec(_Model):
    """One metric: what is measured per unit, which way is better, how it is trimmed.

    ``event`` is the tracked event summed per unit (a ratio's numerator);
    ``denominator_event`` is a ratio's denominator. A proportion counts units with at least
    one ``event``; a mean averages each unit's sum of ``event`` values (an event tracked
    without a value counts 1). ``capping`` winsorises each unit's value at that bound;
    ``cuped`` uses the unit's same metric before its exposure as covariate (a ratio: its
    ``event`` and ``denominator_event`` before it, the pre-period ratio); a guardrail's
    ``threshold`` is the relative lift it tolerates in the harmful direction.

    ``source`` says where the per-unit values come from: ``builtin`` (the SDK's tracked
    ``event``, the default) or ``sql`` (``query``, a SELECT over the user's own database or
    warehouse returning ``unit``, ``timestamp``, ``value``; a ratio's denominator in
    ``denominator_query``). ``connection_env`` names the control plane's environment
    variable holding that database's SQLAlchemy URL, so no URL or password is ever stored
    in a definition; ``exposures_query`` (``unit``, ``arm``, ``timestamp``) is the
    warehouse's own exposure log, needed unless the URL is the control plane's database.
    """

    key: str = Field(pattern=NAME_PATTERN)
    kind: Literal["proportion", "mean", "ratio"]
    source: MetricSourceKind = "builtin"
    event: str | None = Field(default=None, pattern=EVENT_PATTERN)
    denominator_event: str | None = Field(default=None, pattern=EVENT_PATTERN)
    query: str | None = Field(default=None, min_length=1, max_length=20_000)
    denominator_query: str | None = Field(default=None, min_length=1, max_length=20_000)
    connection_env: str | None = Field(default=None, min_length=1, max_length=128)
    exposures_query: str | None = Field(default=None, min_length=1, max_length=20_000)
    direction: Literal["higher", "lower"] = "higher"
    capping: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    cuped: bool = False
    threshold: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    target_effect: float | None = Field(default=None, gt=0, allow_inf_nan=False)

    @property
    def events(self) -> tuple[str, ...]:
        """The tracked events a builtin metric reads (none for a sql metric)."""
        return tuple(e for e in (self.event, self.denominator_event) if e is not None)


class ExperimentDefinition(_Model):
    """What an operator writes. ``arms`` maps each arm (a flag variant) to its weight in
    basis points, in order; the first arm is control unless ``control`` names one. ``unit``
    is the context attribute units are bucketed and counted by (unset: the flag's)."""

    key: str = Field(pattern=NAME_PATTERN)
    flag: str = Field(pattern=FLAG_KEY_PATTERN)
    environment: str = Field(pattern=NAME_PATTERN)
    arms: dict[str, int] = Field(min_length=2, max_length=26)
    control: str | None = None
    hypothesis: str = Field(default="", max_length=2000)
    unit: str | None = Field(default=None, min_length=1, max_length=200)
    planned_duration: Duration | None = None
    primary: list[ExperimentMetricSpec] = Field(min_length=1, max_length=20)
    secondary: list[ExperimentMetricSpec] = Field(default_factory=list, max_length=50)
    guardrails: list[ExperimentMetricSpec] = Field(default_factory=list, max_length=20)

    @property
    def control_arm(self) -> str:
        return self.control if self.control is not None else next(iter(self.arms))

    def metrics(self) -> list[tuple[MetricRole, ExperimentMetricSpec]]:
        """Every metric with its role, primary first."""
        return [
            *(("primary", m) for m in self.primary),
            *(("secondary", m) for m in self.secondary),
            *(("guardrail", m) for m in self.guardrails),
        ]

    def events(self) -> set[str]:
        """Every event name a metric reads."""
        return {event for _, metric in self.metrics() for event in metric.events}


class Decision(_Model):
    """What was decided when the experiment stopped: ship ``arm``, keep control, or
    inconclusive; ``reason`` says why (free text for the record)."""

    kind: DecisionKind
    arm: str | None = None
    reason: str = Field(default="", max_length=2000)


def parse_experiment(data: Any) -> ExperimentDefinition:
    """Validate a definition; every problem is a :class:`ConfigIssue` naming its field."""
    if isinstance(data, ExperimentDefinition):
        definition = data
    else:
        if not isinstance(data, Mapping):
            raise ConfigError.single(None, "", "expected a mapping (an experiment definition)")
        try:
            definition = ExperimentDefinition.model_validate(data)
        except ValidationError as error:
            raise ConfigError(validation_issues(error)) from None
    issues = list(_issues(definition))
    if issues:
        raise ConfigError([ConfigIssue(None, path, reason) for path, reason in issues])
    return definition


def _issues(definition: ExperimentDefinition) -> list[tuple[str, str]]:
    issues: list[tuple[str, str]] = []
    for arm, weight in definition.arms.items():
        if weight <= 0:
            issues.append((f"arms.{arm}", f"a weight is basis points > 0, got {weight}"))
    total = sum(definition.arms.values())
    if total != BUCKETS:
        issues.append(("arms", f"weights must sum to {BUCKETS} basis points, got {total}"))
    if definition.control is not None and definition.control not in definition.arms:
        issues.append(("control", f"{definition.control!r} is not one of the arms"))
    seen: set[str] = set()
    for role, metrics in (
        ("primary", definition.primary),
        ("secondary", definition.secondary),
        ("guardrails", definition.guardrails),
    ):
        for index, metric in enumerate(metrics):
            path = f"{role}.{index}"
            if metric.key in seen:
                issues.append((f"{path}.key", f"metric {metric.key!r} is defined twice"))
            seen.add(metric.key)
            issues.extend(_source_issues(path, metric))
            if metric.kind == "proportion" and metric.capping is not None:
                issues.append((f"{path}.capping", "a proportion cannot be capped"))
            if role != "guardrails" and metric.threshold is not None:
                issues.append((f"{path}.threshold", "only guardrail metrics have a threshold"))
    return issues


def _source_issues(path: str, metric: ExperimentMetricSpec) -> list[tuple[str, str]]:
    """Exactly one of a builtin ``event`` or a sql ``query``, and only its source's fields."""
    issues: list[tuple[str, str]] = []
    ratio = metric.kind == "ratio"
    if metric.source == "builtin":
        if metric.event is None:
            why = "a builtin metric needs the tracked event it reads"
            if metric.query is not None:
                why += " (a metric defined by a query says source: sql)"
            issues.append((f"{path}.event", why))
        for name in _SQL_FIELDS:
            if getattr(metric, name) is not None:
                issues.append((f"{path}.{name}", "only sql metrics (source: sql) have one"))
        denominator = "denominator_event"
    else:
        if metric.query is None:
            issues.append(
                (f"{path}.query", "a sql metric needs a query returning unit, timestamp, value")
            )
        for name in ("event", "denominator_event"):
            if getattr(metric, name) is not None:
                issues.append((f"{path}.{name}", "a sql metric reads its query, not an event"))
        if metric.connection_env is None:
            issues.append(
                (
                    f"{path}.connection_env",
                    "a sql metric needs the name of the environment variable holding its "
                    "database's SQLAlchemy URL",
                )
            )
        elif not ENV_NAME.match(metric.connection_env):
            issues.append(
                (
                    f"{path}.connection_env",
                    "the name of an environment variable (letters, digits, _), never the "
                    "URL itself",
                )
            )
        denominator = "denominator_query"
    if ratio and getattr(metric, denominator) is None:
        issues.append((f"{path}.{denominator}", "a ratio metric needs one"))
    if not ratio and getattr(metric, denominator) is not None:
        issues.append((f"{path}.{denominator}", "only ratio metrics have one"))
    return issues


def check_arms(definition: ExperimentDefinition, variants: Sequence[str]) -> None:
    """The arms must be variants of the flag (ConfigError naming the arm otherwise)."""
    issues = [
        ConfigIssue(
            definition.flag,
            f"arms.{arm}",
            f"{arm!r} is not a variant of flag {definition.flag!r} "
            f"(variants are: {', '.join(variants)})",
        )
        for arm in definition.arms
        if arm not in variants
    ]
    if issues:
        raise ConfigError(issues)


def parse_decision(data: Any, definition: ExperimentDefinition) -> Decision:
    """A decision for ``definition``: shipping names a non-control arm, nothing else does."""
    try:
        decision = data if isinstance(data, Decision) else Decision.model_validate(data)
    except ValidationError as error:
        raise ConfigError(validation_issues(error, path="decision")) from None
    if decision.kind == "ship":
        if decision.arm is None:
            raise ConfigError.single(None, "decision.arm", "shipping needs the arm to ship")
        if decision.arm not in definition.arms:
            raise ConfigError.single(
                None, "decision.arm", f"{decision.arm!r} is not one of the arms"
            )
    elif decision.arm is not None and decision.arm != definition.control_arm:
        raise ConfigError.single(
            None, "decision.arm", f"a {decision.kind!r} decision names no arm to ship"
        )
    return decision


def next_state(key: str, state: ExperimentState, action: str) -> ExperimentState:
    """The state ``action`` leads to from ``state``; ConflictError when it is not legal."""
    target = TRANSITIONS.get((state, action))
    if target is None:
        legal = sorted(a for (s, a) in TRANSITIONS if s == state)
        raise ConflictError(
            f"experiment {key!r} is {state}: cannot {action} it"
            + (f" (it can: {', '.join(legal)})" if legal else ""),
            resource="experiment",
            key=key,
            state=state,
            action=action,
        )
    return target
