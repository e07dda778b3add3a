"""The read-only mark: a candidate that changes nothing may run twice (both sides)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["is_read_only", "read_only"]

F = TypeVar("F", bound=Callable[..., Any])

_MARK = "__rollwise_read_only__"


def read_only(function: F) -> F:
    """Mark ``function`` (a candidate) as safe to run twice: it changes nothing.

    Returns the function itself. Objects that take no attributes (builtins, bound methods)
    cannot be marked: decorate the underlying function, or pass ``read_only=True``.
    """
    try:
        setattr(function, _MARK, True)
    except (AttributeError, TypeError) as error:
        raise TypeError(
            f"cannot mark {function!r} read-only; pass read_only=True to compare() instead"
        ) from error
    return function


def is_read_only(function: Callable[..., Any]) -> bool:
    """Whether ``function`` (or the function a ``functools.partial`` wraps) is marked."""
    while True:
        if getattr(function, _MARK, False) is True:
            return True
        if not isinstance(function, functools.partial):
            return False
        function = function.func
