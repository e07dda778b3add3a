"""One exception tree for everything rollwise raises.

Every error carries the context that explains it, so a caller can log ``str(error)`` and
an API layer can turn ``error.details`` into a JSON body without parsing messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ConfigError",
    "ConfigIssue",
    "ConflictError",
    "NoDataError",
    "NotFoundError",
    "ProviderError",
    "RollwiseError",
    "SourceError",
]


class RollwiseError(Exception):
    """Root of every exception rollwise raises on purpose."""

    code = "rollwise_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in a configuration: which flag, which field, and why."""

    flag: str | None
    path: str
    reason: str

    def __str__(self) -> str:
        where = f"flag {self.flag!r}: " if self.flag is not None else ""
        at = f"{self.path}: " if self.path else ""
        return f"{where}{at}{self.reason}"


class ConfigError(RollwiseError):
    """Configuration that cannot be used. Lists every issue found, first one first."""

    code = "invalid_config"

    def __init__(self, issues: Sequence[ConfigIssue]) -> None:
        if not issues:
            raise ValueError("ConfigError needs at least one issue")
        self.issues: tuple[ConfigIssue, ...] = tuple(issues)
        first = self.issues[0]
        message = str(first)
        if len(self.issues) > 1:
            message += f" (and {len(self.issues) - 1} more: "
            message += "; ".join(str(issue) for issue in self.issues[1:]) + ")"
        super().__init__(
            message,
            issues=[{"flag": i.flag, "path": i.path, "reason": i.reason} for i in self.issues],
        )

    @classmethod
    def single(cls, flag: str | None, path: str, reason: str) -> ConfigError:
        return cls([ConfigIssue(flag, path, reason)])

    @property
    def flag(self) -> str | None:
        return self.issues[0].flag

    @property
    def path(self) -> str:
        return self.issues[0].path

    @property
    def reason(self) -> str:
        return self.issues[0].reason


class SourceError(RollwiseError):
    """A config source could not deliver a document (unreadable file, unreachable server)."""

    code = "source_error"


class NotFoundError(RollwiseError):
    """A named resource does not exist."""

    code = "not_found"


class ConflictError(RollwiseError):
    """A write lost a race or is not legal in the resource's current state."""

    code = "conflict"


class ProviderError(RollwiseError):
    """A metric provider failed to answer."""

    code = "provider_error"


class NoDataError(ProviderError):
    """A metric provider answered, but had no data for the query: never a pass."""

    code = "no_data"
