"""One exception tree for everything rollwise raises.

Every error carries the context that explains it, so a caller can log ``str(error)`` and
an API layer can turn ``error.details`` into a JSON body without parsing messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticCustomError

__all__ = [
    "ISSUES_ERROR",
    "ConfigError",
    "ConfigIssue",
    "ConflictError",
    "JudgeError",
    "NoDataError",
    "NotFoundError",
    "ProviderError",
    "RollwiseError",
    "SourceError",
    "field_path",
    "issues_error",
    "validation_issues",
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


ISSUES_ERROR = "rollwise_issues"
"""Type of the pydantic error that carries several ``(sub-path, reason)`` problems."""


def field_path(prefix: str, loc: Iterable[object]) -> str:
    """``prefix`` and a pydantic location joined as a dotted field path."""
    parts = [prefix] if prefix else []
    parts += [str(part) for part in loc if part != ""]
    return ".".join(parts)


def issues_error(issues: Sequence[tuple[str, str]]) -> PydanticCustomError:
    """One pydantic error carrying several problems, each at its own sub-path.

    A validator raises at its own location only, but a cross-field check may find several
    problems deeper down (``steps.2.percent``); :func:`validation_issues` expands this error
    back into one issue per problem.
    """
    summary = "; ".join(f"{path}: {reason}" if path else reason for path, reason in issues)
    return PydanticCustomError(ISSUES_ERROR, "{summary}", {"summary": summary, "issues": issues})


def validation_issues(
    error: ValidationError,
    *,
    path: str = "",
    flag: str | None = None,
    locate: Callable[[Sequence[Any]], str] | None = None,
) -> list[ConfigIssue]:
    """Pydantic's errors as :class:`ConfigIssue` s: a dotted field path and a plain reason.

    ``locate`` turns a pydantic location into a path (e.g. to drop a union's tag).
    """
    issues: list[ConfigIssue] = []
    for item in error.errors():
        where = field_path(path, [locate(item["loc"])] if locate else item["loc"])
        if item["type"] == ISSUES_ERROR:
            for sub, reason in (item.get("ctx") or {})["issues"]:
                issues.append(ConfigIssue(flag, field_path(where, [sub]), reason))
            continue
        reason = item["msg"]
        for noise in ("Value error, ", "Assertion failed, "):
            reason = reason.removeprefix(noise)
        issues.append(ConfigIssue(flag, where, reason))
    return issues


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


class JudgeError(RollwiseError):
    """The judge could not reach a verdict on data it was given: never a pass."""

    code = "judge_error"
