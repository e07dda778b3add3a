"""Turning pydantic's validation errors into the service's 422 answers."""

from __future__ import annotations

from pydantic import ValidationError

from ..errors import InvalidInput

__all__ = ["invalid_input"]


def invalid_input(error: ValidationError, message: str) -> InvalidInput:
    """A 422 whose details list every problem: the field path and the reason."""
    problems = [
        {"field": ".".join(str(part) for part in issue["loc"]) or "(body)", "reason": issue["msg"]}
        for issue in error.errors()
    ]
    first = problems[0]
    return InvalidInput(f"{message}: {first['field']}: {first['reason']}", problems=problems)
