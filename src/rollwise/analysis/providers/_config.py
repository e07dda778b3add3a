"""What every provider config has in common, and turning pydantic errors into ConfigIssues."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from ...core.gates import Gate
from ...errors import ConfigError, ConfigIssue

__all__ = ["ProviderConfigBase", "gate_issue", "raise_issues"]


class ProviderConfigBase(BaseModel):
    """A provider's settings; subclasses fix ``type`` to a literal (the registry's key)."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    type: str


def gate_issue(index: int, gate: Gate, field: str, reason: str) -> ConfigIssue:
    return ConfigIssue(None, f"gates.{index}.{field}", f"gate {gate.key!r}: {reason}")


def raise_issues(issues: Sequence[ConfigIssue]) -> None:
    if issues:
        raise ConfigError(issues)
