"""Dual-run comparison: run the old and the new implementation on the same input, compare.

A team replacing a code path (``legacy`` → ``domain``) wraps the call site once; a flag then
decides, per context, which implementation *answers* (the primary), and on a sampled share
of calls the other one runs too so that the answers can be compared on real traffic.

Rules, in the order they apply to one call:

- **Primary.** The flag named ``name`` (or ``flag=``) is evaluated for ``context``: its off
  variant means the control is primary, any other variant means the candidate is primary.
  An unknown flag serves its default (off), so the control answers. E.g. flag
  ``camera-domain-service`` with variants ``legacy`` (off) / ``domain``.
- **Side effects.** The secondary runs only if the operation is marked read-only-safe:
  ``read_only=True`` on the call, or the candidate decorated with :func:`read_only`. An
  unmarked operation is never executed twice: only the primary runs and the call counts as
  ``skipped_not_read_only``. (The mark speaks for the operation: when the candidate is
  primary, the control is the one that runs in the shadow.)
- **Sampling.** A read-only call runs both on a ``sample`` share of calls (default ``1.0``,
  every call: a read-only comparison costs the secondary's time and nothing else; lower it on
  hot paths). Outside the sample only the primary runs (``skipped_sampling``). The draw uses
  the injected random source.
- **Answer.** The primary's value is returned and the primary's exception propagates; the
  secondary's exceptions never reach the caller. The comparator (default ``==``) is called
  as ``comparator(control_value, candidate_value)``.
- **Fallback.** When the candidate is primary and raises, the control answers instead, as
  if the flag were off (its value, or its own exception), and the call counts as
  ``fallback`` with the candidate's exception kept in the sample. Fallback is on for
  read-only operations and off otherwise, since a failed write may have half-happened;
  ``fallback=True`` turns it on for a write that leaves nothing behind when it raises
  (one transaction), ``fallback=False`` turns it off.
- **Never raises because of rollwise.** Flag evaluation, sampling, the comparator, redaction
  and recording are guarded: a failure there is counted in :attr:`DualRun.errors`, logged
  once, and the call goes on (a raising comparator counts as ``comparator_error``).

Every call is recorded by (name, flag, variant) as exactly one :class:`Outcome`, with the
wall time of each implementation that ran; mismatches and errors keep a redacted,
size-capped sample. :meth:`DualRun.drain` hands all of it over (the reporter's job).

Async: :meth:`DualRun.acompare` awaits coroutine functions; when both run they run
concurrently (the secondary as a task, the primary in the caller's task), unless
``concurrent=False`` (for implementations sharing a connection or session that cannot be
used concurrently). :meth:`DualRun.compare` given a coroutine function returns
``acompare``'s awaitable, so ``await runner.compare(...)`` works too.

``client.compare(...)`` / ``client.acompare(...)`` take the same arguments and use a
``DualRun`` the client owns (``client.comparisons``), which the client's reporter drains;
a ``DualRun`` of your own needs ``Reporter(..., comparisons=[runner])`` to be reported.

Usage::

    from rollwise import Client
    from rollwise.sdk.compare import DualRun, read_only

    client = Client("flags.yaml", environment="production").start()
    comparisons = DualRun(client)

    @read_only
    def domain_camera(camera_id: str) -> dict: ...

    def legacy_camera(camera_id: str) -> dict: ...

    camera = comparisons.compare(
        "camera-domain-service",
        control=legacy_camera,
        candidate=domain_camera,
        args=(camera_id,),
        context={"user_id": user.id},
        sample=0.25,
        redact=lambda value: scrub_emails(value),
    )

    # async: both run concurrently on sampled calls
    camera = await comparisons.acompare(
        "camera-domain-service", control=legacy_async, candidate=domain_async,
        args=(camera_id,), context={"user_id": user.id}, read_only=True,
    )

    report = comparisons.drain()  # {"comparisons": [...], "samples": [...], ...}
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import random as _random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import FunctionType, MappingProxyType
from typing import Any, Protocol, TypeVar, cast

from ...core.evaluation import Evaluation
from ._recorder import ComparisonRecorder, Durations, SeriesStats
from ._samples import SampleOptions
from ._types import ComparisonSink, Observation, Outcome, Run, Side

__all__ = [
    "ComparisonRecorder",
    "ComparisonSink",
    "DualRun",
    "Durations",
    "FlagEvaluator",
    "Observation",
    "Outcome",
    "Run",
    "SampleOptions",
    "SeriesStats",
    "Side",
    "is_read_only",
    "read_only",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_MARK = "__rollwise_read_only__"


class FlagEvaluator(Protocol):
    """What a comparison needs from a client: ``rollwise.Client`` is one."""

    def evaluate(self, flag: str, context: Mapping[str, Any]) -> Evaluation: ...


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


@dataclass(slots=True)
class _Plan:
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


class DualRun:
    """Runs comparisons against one client's flags and records them in one sink.

    ``client`` answers flag evaluations (a :class:`rollwise.Client`). ``sink`` receives one
    :class:`Observation` per call (a :class:`ComparisonRecorder` unless given). ``clock``
    measures durations (monotonic seconds); ``random`` returns floats in ``[0, 1)`` for the
    sampling draw. Nothing is started: a ``DualRun`` is safe to build anywhere and to share
    between threads and event loops.
    """

    def __init__(
        self,
        client: FlagEvaluator,
        sink: ComparisonSink | None = None,
        *,
        clock: Callable[[], float] = time.perf_counter,
        random: Callable[[], float] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.client = client
        self.sink: ComparisonSink = sink if sink is not None else ComparisonRecorder()
        self._clock = clock
        # the stdlib's shared generator is reseeded in forked children; a private one would
        # make every gunicorn worker draw the same sequence
        self._random = random if random is not None else _random.random
        self._logger = logger or logging.getLogger("rollwise")
        self.errors: Counter[str] = Counter()
        """rollwise-side failures by kind: ``flag``, ``sampling``, ``comparator``, ``record``."""
        self._logged: set[str] = set()

    def drain(self) -> dict[str, Any]:
        """The sink's report since the last drain (see :meth:`ComparisonRecorder.drain`)."""
        return self.sink.drain()

    # -- sync ----------------------------------------------------------------------------

    def compare(
        self,
        name: str,
        *,
        control: Callable[..., T],
        candidate: Callable[..., T],
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] = _EMPTY,
        flag: str | None = None,
        comparator: Callable[[Any, Any], object] | None = None,
        sample: float = 1.0,
        read_only: bool | None = None,
        fallback: bool | None = None,
        redact: Callable[[Any], Any] | None = None,
    ) -> T:
        """Call the primary with ``args``/``kwargs`` and return its answer (module docs).

        ``read_only=None`` reads the candidate's :func:`read_only` mark; ``fallback=None``
        means "on if read-only". Given a coroutine function, returns the awaitable of
        :meth:`acompare` with the same arguments.
        """
        if _is_async(control) or _is_async(candidate):
            return cast(
                T,
                self.acompare(
                    name,
                    control=cast(Any, control),
                    candidate=cast(Any, candidate),
                    args=args,
                    kwargs=kwargs,
                    context=context,
                    flag=flag,
                    comparator=comparator,
                    sample=sample,
                    read_only=read_only,
                    fallback=fallback,
                    redact=redact,
                ),
            )
        keywords = kwargs if kwargs is not None else _EMPTY
        plan = self._plan(name, flag, context, candidate, sample, read_only, fallback)
        first, second = (candidate, control) if plan.candidate_primary else (control, candidate)
        primary = _call(first, args, keywords, self._clock)
        secondary: Run | None = None
        if plan.both or _falls_back(plan, primary):
            secondary = _call(second, args, keywords, self._clock)
        return cast(
            T, self._settle(name, plan, primary, secondary, args, keywords, comparator, redact)
        )

    # -- async ---------------------------------------------------------------------------

    async def acompare(
        self,
        name: str,
        *,
        control: Callable[..., Awaitable[T]],
        candidate: Callable[..., Awaitable[T]],
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] = _EMPTY,
        flag: str | None = None,
        comparator: Callable[[T, T], object] | None = None,
        sample: float = 1.0,
        read_only: bool | None = None,
        fallback: bool | None = None,
        redact: Callable[[Any], Any] | None = None,
        concurrent: bool = True,
        secondary_timeout: float | None = None,
    ) -> T:
        """:meth:`compare` for coroutine functions; both run concurrently when both run.

        The primary runs in the caller's task (its context variables are the caller's); the
        secondary runs in a task of its own, cancelled if the caller is cancelled. A sync
        callable is tolerated (called inline). Durations are wall times, so when both run
        concurrently each includes time the loop spent on the other. ``secondary_timeout``
        bounds how long an answered call waits for the shadow side (cancelled then, and
        counted as its error); a fallback, which is the answer, is always awaited.
        """
        keywords = kwargs if kwargs is not None else _EMPTY
        plan = self._plan(name, flag, context, candidate, sample, read_only, fallback)
        first, second = (candidate, control) if plan.candidate_primary else (control, candidate)
        task: asyncio.Task[Run] | None = None
        if plan.both and concurrent:
            task = asyncio.ensure_future(_acall(second, args, keywords, self._clock))
        try:
            primary = await _acall(first, args, keywords, self._clock)
            secondary: Run | None = None
            falls_back = _falls_back(plan, primary)
            if task is None and (plan.both or falls_back):
                task = asyncio.ensure_future(_acall(second, args, keywords, self._clock))
            if task is not None:
                limit = None if falls_back else secondary_timeout
                secondary = await _secondary_of(task, self._clock, limit)
        finally:
            if task is not None and not task.done():
                task.cancel()
        return cast(
            T, self._settle(name, plan, primary, secondary, args, keywords, comparator, redact)
        )

    # -- shared --------------------------------------------------------------------------

    def _plan(
        self,
        name: str,
        flag: str | None,
        context: Mapping[str, Any],
        candidate: Callable[..., Any],
        sample: float,
        read_only: bool | None,
        fallback: bool | None,
    ) -> _Plan:
        key = flag if flag is not None else name
        try:
            evaluation = self.client.evaluate(key, context)
            candidate_primary = evaluation.enabled is True
            variant = evaluation.variant
        except Exception as error:  # noqa: BLE001 - the documented SDK guard
            self._failed("flag", name, error)
            candidate_primary, variant = False, "unknown"
        safe = sampled = False
        try:
            safe = read_only if read_only is not None else is_read_only(candidate)
            sampled = safe and self._sampled(sample)
        except Exception as error:  # noqa: BLE001 - same guard (an injected random source)
            self._failed("sampling", name, error)
        return _Plan(
            flag=key,
            variant=variant,
            candidate_primary=candidate_primary,
            both=sampled,
            fallback=fallback if fallback is not None else safe,
            skipped=Outcome.SKIPPED_SAMPLING if safe else Outcome.SKIPPED_NOT_READ_ONLY,
        )

    def _sampled(self, sample: float) -> bool:
        if sample >= 1.0:
            return True
        if not sample > 0.0:  # zero, negative or NaN
            return False
        return self._random() < sample

    def _settle(
        self,
        name: str,
        plan: _Plan,
        primary: Run,
        secondary: Run | None,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        comparator: Callable[[Any, Any], object] | None,
        redact: Callable[[Any], Any] | None,
    ) -> Any:
        """Record the call, then return the answer or raise the answering side's exception."""
        control: Run | None = secondary if plan.candidate_primary else primary
        candidate: Run | None = primary if plan.candidate_primary else secondary
        fell_back = control is not None and _falls_back(plan, primary)
        self._observe(name, plan, control, candidate, fell_back, args, kwargs, comparator, redact)
        answer = control if fell_back and control is not None else primary
        if answer.error is not None:
            raise answer.error
        return answer.value

    def _observe(
        self,
        name: str,
        plan: _Plan,
        control: Run | None,
        candidate: Run | None,
        fell_back: bool,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        comparator: Callable[[Any, Any], object] | None,
        redact: Callable[[Any], Any] | None,
    ) -> None:
        try:
            if control is None or candidate is None:
                outcome = plan.skipped
            elif fell_back:
                outcome = Outcome.FALLBACK
            else:
                outcome = self._classify(name, control, candidate, comparator)
            self.sink.record(
                Observation(
                    name=name,
                    flag=plan.flag,
                    variant=plan.variant,
                    primary=plan.primary,
                    outcome=outcome,
                    control=control,
                    candidate=candidate,
                    args=args,
                    kwargs=kwargs,
                    redact=redact,
                )
            )
        except Exception as error:  # noqa: BLE001 - the documented SDK guard
            self._failed("record", name, error)

    def _classify(
        self,
        name: str,
        control: Run,
        candidate: Run,
        comparator: Callable[[Any, Any], object] | None,
    ) -> Outcome:
        if control.error is not None and candidate.error is not None:
            same = type(control.error) is type(candidate.error)
            return Outcome.MATCH if same else Outcome.MISMATCH
        if candidate.error is not None:
            return Outcome.CANDIDATE_ERROR
        if control.error is not None:
            return Outcome.CONTROL_ERROR
        try:
            if comparator is None:
                equal = bool(control.value == candidate.value)
            else:
                equal = bool(comparator(control.value, candidate.value))
        except Exception as error:  # noqa: BLE001 - the application's comparator, guarded
            self._failed("comparator", name, error)
            return Outcome.COMPARATOR_ERROR
        return Outcome.MATCH if equal else Outcome.MISMATCH

    def _failed(self, kind: str, name: str, error: Exception) -> None:
        self.errors[kind] += 1
        key = f"{kind}:{name}"
        if key not in self._logged:
            self._logged.add(key)
            self._logger.warning(
                "rollwise: comparison %r: %s failed (%r); the call goes on", name, kind, error
            )


def _falls_back(plan: _Plan, primary: Run) -> bool:
    return plan.candidate_primary and plan.fallback and primary.error is not None


def _is_async(function: Callable[..., Any]) -> bool:
    if type(function) is FunctionType:  # the common case, without inspect's unwrapping
        return bool(function.__code__.co_flags & inspect.CO_COROUTINE)
    return inspect.iscoroutinefunction(function)


def _call(
    function: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    clock: Callable[[], float],
) -> Run:
    start = clock()
    try:
        value = function(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - kept, then re-raised if this side answers
        return Run(None, error, clock() - start)
    return Run(value, None, clock() - start)


async def _secondary_of(
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


async def _acall(
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
    except Exception as error:  # noqa: BLE001 - kept, then re-raised if this side answers
        return Run(None, error, clock() - start)
    return Run(value, None, clock() - start)
