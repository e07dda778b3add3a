"""What one dual-run comparison produced: its outcome and the runs behind it.

:class:`DualRun` builds one :class:`Observation` per call and hands it to a
:class:`ComparisonSink`; the sink (by default a :class:`ComparisonRecorder`) counts it and
decides whether to keep a sample. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, Protocol

__all__ = ["ComparisonSink", "Observation", "Outcome", "Run", "Side"]

Side = Literal["control", "candidate"]


class Outcome(StrEnum):
    """How one call of a comparison ended. Exactly one per call.

    - ``match`` / ``mismatch``: both ran; the comparator said equal or not. Both raising an
      exception of the same type is a match, of different types a mismatch.
    - ``candidate_error``: the candidate raised, the control did not (and no fallback).
    - ``control_error``: the control raised, the candidate did not.
    - ``fallback``: the candidate was primary and raised; the control answered instead.
    - ``comparator_error``: both answered but the comparator itself raised.
    - ``skipped_sampling``: only the primary ran, this call was outside the sample.
    - ``skipped_not_read_only``: only the primary ran, the candidate is not marked
      read-only-safe, so the operation is never executed twice.
    """

    MATCH = "match"
    MISMATCH = "mismatch"
    CANDIDATE_ERROR = "candidate_error"
    CONTROL_ERROR = "control_error"
    FALLBACK = "fallback"
    COMPARATOR_ERROR = "comparator_error"
    SKIPPED_SAMPLING = "skipped_sampling"
    SKIPPED_NOT_READ_ONLY = "skipped_not_read_only"


SAMPLED_OUTCOMES = frozenset(
    {Outcome.MISMATCH, Outcome.CANDIDATE_ERROR, Outcome.CONTROL_ERROR, Outcome.FALLBACK}
)
"""Outcomes worth a sample (inputs and both answers) for someone to look at."""


@dataclass(slots=True)
class Run:
    """One implementation's answer: a value or the exception it raised, and its wall time.

    Not frozen only because frozen dataclasses are slow to build (one per call); treat it
    as read-only, like :class:`Observation`.
    """

    value: Any
    error: Exception | None
    seconds: float


@dataclass(slots=True)
class Observation:
    """Everything a sink needs about one call; values are references, not copies.

    Built on every call, so not frozen (cheaper); sinks must treat it as read-only.

    ``control`` / ``candidate`` are ``None`` for an implementation that did not run.
    ``redact`` is the call's own redaction hook, if it passed one.
    """

    name: str
    flag: str
    variant: str
    primary: Side
    outcome: Outcome
    control: Run | None
    candidate: Run | None
    args: Sequence[Any]
    kwargs: Mapping[str, Any]
    redact: Callable[[Any], Any] | None = None


class ComparisonSink(Protocol):
    """Receives every observation and hands over what it kept when the reporter asks.

    ``record`` is called on the application's thread (keep it cheap, never block);
    ``drain`` returns JSON-friendly data covering everything since the previous drain.
    """

    def record(self, observation: Observation) -> None: ...

    def drain(self) -> dict[str, Any]: ...
