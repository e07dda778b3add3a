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

from ._dual_run import DualRun, FlagEvaluator
from ._marks import is_read_only, read_only
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
