"""The domain model: cameras and alert rules, each valid by construction.

Models are immutable pydantic models with strict types (no coercion: ``"true"`` is not a
boolean, ``"90"`` not a number) and no unknown fields.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "METRIC_RANGES",
    "AlertRule",
    "AlertRuleSet",
    "Camera",
    "CameraId",
    "CameraRegistry",
    "RuleId",
]

IDENTIFIER = r"^[a-z0-9][a-z0-9-]{0,63}$"

CameraId = Annotated[StrictStr, StringConstraints(pattern=IDENTIFIER)]
RuleId = Annotated[StrictStr, StringConstraints(pattern=IDENTIFIER)]

METRIC_RANGES: dict[str, tuple[float, float]] = {
    "fps": (0.0, 120.0),
    "frames_dropped_ratio": (0.0, 1.0),
    "heartbeat_age_seconds": (0.0, 86400.0),
    "cpu_percent": (0.0, 100.0),
}
"""Alert metrics and the range a threshold on each must lie in (inclusive)."""

Metric = Literal["fps", "frames_dropped_ratio", "heartbeat_age_seconds", "cpu_percent"]
Operator = Literal[">", ">=", "<", "<="]
Severity = Literal["info", "warning", "critical"]

# strict per field (collections stay lax: YAML gives lists where the models keep tuples)
_STRICT = ConfigDict(frozen=True, extra="forbid")


class Camera(BaseModel):
    model_config = _STRICT

    id: CameraId
    name: Annotated[StrictStr, StringConstraints(min_length=1, max_length=200)]
    source: Annotated[StrictStr, StringConstraints(min_length=1, max_length=500)]
    active: StrictBool = True
    auto_start: StrictBool = False


class CameraRegistry(BaseModel):
    """The cameras of ``cameras.yaml``, in file order, ids unique."""

    model_config = _STRICT

    cameras: tuple[Camera, ...] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        seen: set[str] = set()
        for camera in self.cameras:
            if camera.id in seen:
                raise ValueError(f"camera id {camera.id!r} appears twice")
            seen.add(camera.id)
        return self

    def find(self, camera_id: str) -> Camera | None:
        for camera in self.cameras:
            if camera.id == camera_id:
                return camera
        return None

    def replace(self, camera: Camera) -> CameraRegistry:
        """A registry with ``camera`` in place of the one with its id."""
        cameras = tuple(camera if c.id == camera.id else c for c in self.cameras)
        return CameraRegistry(cameras=cameras)


class AlertRule(BaseModel):
    """A condition on a camera metric (or on every camera's, without ``camera_id``)."""

    model_config = _STRICT

    id: RuleId
    camera_id: CameraId | None = None
    metric: Metric
    operator: Operator = ">"
    threshold: StrictInt | StrictFloat
    duration_seconds: Annotated[StrictInt, Field(ge=0, le=86400)] = 0
    severity: Severity = "warning"
    enabled: StrictBool = True

    @field_validator("threshold")
    @classmethod
    def _threshold_in_range(cls, threshold: float, info: ValidationInfo) -> float:
        metric = info.data.get("metric")  # absent when the metric itself was invalid
        if metric in METRIC_RANGES:
            low, high = METRIC_RANGES[metric]
            if not low <= threshold <= high:
                raise ValueError(f"out of range for {metric} ({low:g} to {high:g})")
        return threshold


class AlertRuleSet(BaseModel):
    """The rules of ``alert_rules.yaml``, in file order, ids unique."""

    model_config = _STRICT

    rules: tuple[AlertRule, ...] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        ids = [rule.id for rule in self.rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"rule ids appear more than once: {', '.join(duplicates)}")
        return self

    def find(self, rule_id: str) -> AlertRule | None:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        return None
