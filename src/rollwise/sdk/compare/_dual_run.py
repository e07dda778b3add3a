"""The dual runner: a flag picks the primary, a sample runs both, every call is recorded.

The rules it applies are the package's (:mod:`rollwise.sdk.compare`).
"""

from __future__ import annotations

import asyncio
import logging
import random as _random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Protocol, TypeVar, cast

from ...core.evaluation import Evaluation
from ._calls import Plan, acall, call, falls_back, is_async, secondary_of
from ._marks import is_read_only
from ._recorder import ComparisonRecorder
from ._types import ComparisonSink, Observation, Outcome, Run

__all__ = ["DualRun", "FlagEvaluator"]

T = TypeVar("T")

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class FlagEvaluator(Protocol):
    """What a comparison needs from a client: ``rollwise.Client`` is one."""

    def evaluate(self, flag: str, context: Mapping[str, Any]) -> Evaluation: ...


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
        if is_async(control) or is_async(candidate):
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
        primary = call(first, args, keywords, self._clock)
        secondary: Run | None = None
        if plan.both or falls_back(plan, primary):
            secondary = call(second, args, keywords, self._clock)
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
            task = asyncio.ensure_future(acall(second, args, keywords, self._clock))
        try:
            primary = await acall(first, args, keywords, self._clock)
            secondary: Run | None = None
            fell_back = falls_back(plan, primary)
            if task is None and (plan.both or fell_back):
                task = asyncio.ensure_future(acall(second, args, keywords, self._clock))
            if task is not None:
                limit = None if fell_back else secondary_timeout
                secondary = await secondary_of(task, self._clock, limit)
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
    ) -> Plan:
        key = flag if flag is not None else name
        try:
            evaluation = self.client.evaluate(key, context)
            candidate_primary = evaluation.enabled is True
            variant = evaluation.variant
        except Exception as error:  # noqa: BLE001 - the compare call's guard (counted, logged)
            self._failed("flag", name, error)
            candidate_primary, variant = False, "unknown"
        safe = sampled = False
        try:
            safe = read_only if read_only is not None else is_read_only(candidate)
            sampled = safe and self._sampled(sample)
        except Exception as error:  # noqa: BLE001 - the compare call's guard (injected random)
            self._failed("sampling", name, error)
        return Plan(
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
        plan: Plan,
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
        fell_back = control is not None and falls_back(plan, primary)
        self._observe(name, plan, control, candidate, fell_back, args, kwargs, comparator, redact)
        answer = control if fell_back and control is not None else primary
        if answer.error is not None:
            raise answer.error
        return answer.value

    def _observe(
        self,
        name: str,
        plan: Plan,
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
        except Exception as error:  # noqa: BLE001 - the compare call's guard (counted, logged)
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
        except Exception as error:  # noqa: BLE001 - the compare call's guard (the app's comparator)
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
