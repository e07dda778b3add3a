"""The keyword options of one comparison call, as types for forwarding them unchanged.

:class:`~rollwise.sdk.compare.DualRun` declares them (with their defaults and meaning) on
``compare``/``acompare``; whoever only passes a call on (``client.compare``) takes them as
``**options: Unpack[CompareOptions[...]]`` instead of listing them a second time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypedDict, TypeVar

__all__ = ["AsyncCompareOptions", "CompareOptions"]

T = TypeVar("T")


class CompareOptions(TypedDict, Generic[T], total=False):
    """``DualRun.compare``'s keyword options after ``control`` and ``candidate``."""

    args: Sequence[Any]
    kwargs: Mapping[str, Any] | None
    context: Mapping[str, Any]
    flag: str | None
    comparator: Callable[[T, T], object] | None
    sample: float
    read_only: bool | None
    fallback: bool | None
    redact: Callable[[Any], Any] | None


class AsyncCompareOptions(CompareOptions[T], total=False):
    """``DualRun.acompare``'s: :class:`CompareOptions` and how the two sides are awaited."""

    concurrent: bool
    secondary_timeout: float | None
