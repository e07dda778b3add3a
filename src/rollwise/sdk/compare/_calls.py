"""Running one side of a comparison, and what the plan for one call decided.

A side's exception is kept in its :class:`Run` (re-raised later only if that side answers);
a secondary that times out or cancels itself is its own error, never the caller's.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import FunctionType
from typing import Any

from ._types import Outcome, Run, Side

__all__ = ["Plan", "acall", "call", "falls_back", "is_async", "secondary_of"]


@dataclass(slots=True)
class Plan:
    """What the flag, the read-only mark and the sample decided for one call."""

    flag: str
    variant: str
    candidate_primary: bool
    both: bool
    fallback: bool
    skipped: Outcome

    @property
    def primary(self) -> Side:
        return "candidate" if self.candidate_primary else "control"


def falls_back(plan: Plan, primary: Run) -> bool:
    return plan.candidate_primary and plan.fallback and primary.error is not None


def is_async(function: Callable[..., Any]) -> bool:
    if type(function) is FunctionType:  # the common case, without inspect's unwrapping
        return bool(function.__code__.co_flags & inspect.CO_COROUTINE)
    return inspect.iscoroutinefunction(function)


def call(
    function: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    clock: Callable[[], float],
) -> Run:
    start = clock()
    try:
        value = function(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - the app's own call: re-raised if it answers
        return Run(None, error, clock() - start)
    return Run(value, None, clock() - start)


async def secondary_of(
    task: asyncio.Task[Run], clock: Callable[[], float], timeout: float | None
) -> Run:
    """The secondary's run; one that cancelled itself or ran out of ``timeout`` (then
    cancelled) is its error, not ours. Only a cancellation of the caller's own task
    (``cancelling()``) propagates.
    """
    start = clock()
    try:
        if timeout is None:
            return await task
        return await asyncio.wait_for(task, timeout)
    except TimeoutError:
        failure = TimeoutError(f"the secondary did not answer within {timeout:g}s")
        return Run(None, failure, clock() - start)
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
        return Run(None, RuntimeError("the secondary was cancelled"), clock() - start)


async def acall(
    function: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    clock: Callable[[], float],
) -> Run:
    start = clock()
    try:
        value = function(*args, **kwargs)
        if inspect.isawaitable(value):
            value = await value
    except Exception as error:  # noqa: BLE001 - the app's own call: re-raised if it answers
        return Run(None, error, clock() - start)
    return Run(value, None, clock() - start)
