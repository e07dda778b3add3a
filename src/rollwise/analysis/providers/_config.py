"""What every provider config has in common, and turning pydantic errors into ConfigIssues."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict, ValidationError

from ...core.gates import Gate
from ...errors import ConfigError, ConfigIssue

__all__ = ["ProviderConfigBase", "gate_issue", "issues_from", "join_path", "raise_issues"]


class ProviderConfigBase(BaseModel):
    """A provider's settings; subclasses fix ``type`` to a literal (the registry's key)."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    type: str


def join_path(prefix: str, loc: Iterable[object]) -> str:
    parts = [prefix] if prefix else []
    parts += [str(part) for part in loc]
    return ".".join(parts)


def issues_from(error: ValidationError, prefix: str) -> list[ConfigIssue]:
    """Pydantic's errors as ConfigIssues: the dotted field path and a plain reason."""
    issues = []
    for item in error.errors():
        reason = item["msg"]
        for noise in ("Value error, ", "Assertion failed, "):
            reason = reason.removeprefix(noise)
        issues.append(ConfigIssue(None, join_path(prefix, item["loc"]), reason))
    return issues


def gate_issue(index: int, gate: Gate, field: str, reason: str) -> ConfigIssue:
    return ConfigIssue(None, f"gates[{index}].{field}", f"gate {gate.key!r}: {reason}")


def raise_issues(issues: Sequence[ConfigIssue]) -> None:
    if issues:
        raise ConfigError(issues)
