"""What ``rollwise doctor`` reports: findings, each with what disagrees and what to do."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DoctorReport", "Finding", "Severity"]


class Severity(StrEnum):
    """``error``: what runs is not what the control plane says (a wrong share, a lost
    notification, nobody driving rollouts); ``warning``: it may soon be, or cannot be
    checked. Either makes the doctor's verdict ``problems``."""

    ERROR = "error"
    WARNING = "warning"


class Finding(BaseModel):
    """One disagreement between the control plane and what runs, with its fix."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(description="Stable identifier, e.g. fleet.stale_revision (docs/doctor.md)")
    severity: Severity
    environment: str | None = Field(description="None: not about one environment")
    subject: str = Field(description="What it is about: an instance, a flag, a rollout, ...")
    message: str = Field(description="What disagrees, with the numbers")
    fix: str = Field(description="What the operator should do")
    details: dict[str, Any] = Field(default_factory=dict)


class DoctorReport(BaseModel):
    """Every finding of one doctor run; ``healthy`` when there are none."""

    status: Literal["healthy", "problems"]
    checked_at: datetime
    environments: list[str]
    checks: list[str] = Field(description="The checks that ran, by name")
    findings: list[Finding]
