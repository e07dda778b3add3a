"""Running one operation on the selected implementation, with fallback and comparison.

Every call goes through :class:`~rollwise.sdk.compare.DualRun` except the ones legacy
serves alone (legacy selected, not an alert-rule read). The flag evaluation DualRun asks for
is the request's :class:`~camera_service.selection.Selection` (so the env switches and
overrides apply to it too):

- **domain selected**: domain answers. If it *raises* (anything but a
  :class:`~camera_service.errors.RequestRejected`, which is an answer), legacy answers
  instead and the call is counted as ``fallback``. For writes this relies on the domain
  service being transactional: a failed domain write left nothing behind.
- **alert-rule reads** (``alerts.list_rules``, ``alerts.get_rule``): marked read-only, so on
  a sampled share (``CAMERA_SERVICE_COMPARE_SAMPLE``) both implementations run, concurrently,
  and their answers (status and body) are compared: ``match`` / ``mismatch`` counts show up
  whichever variant is selected, before anyone is switched.
- Other reads on domain are read-only too but never sampled (their answers carry uptimes
  that differ between two calls); writes are never run twice.

Answers are :class:`Answer` values (status and JSON body) on both sides, so a refusal is
compared like any answer and never triggers a fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from starlette.concurrency import run_in_threadpool

from rollwise.sdk.compare import DualRun

from .errors import RequestRejected
from .faults import FaultInjector
from .flags import DOMAIN, FLAG, LEGACY
from .interface import CameraBackend, Json
from .selection import Selection
from .stats import ServedCounter

__all__ = ["OPERATIONS", "Answer", "Dispatcher", "Operation", "SelectionEvaluator"]

Kind = Literal["write", "read", "compare"]


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    method: str  # the CameraBackend method
    kind: Kind
    status: int = 200


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation("cameras.start", "start_camera", "write"),
        Operation("cameras.stop", "stop_camera", "write"),
        Operation("cameras.restart", "restart_camera", "write"),
        Operation("cameras.refresh", "refresh", "write"),
        Operation("cameras.activate", "activate_camera", "write"),
        Operation("cameras.deactivate", "deactivate_camera", "write"),
        Operation("cameras.auto_start", "set_auto_start", "write"),
        Operation("cameras.status", "camera_status", "read"),
        Operation("cameras.batch_status", "batch_status", "read"),
        Operation("cameras.logs", "camera_logs", "read"),
        Operation("alerts.list_rules", "list_rules", "compare"),
        Operation("alerts.get_rule", "get_rule", "compare"),
        Operation("alerts.create_rule", "create_rule", "write", 201),
        Operation("alerts.update_rule", "update_rule", "write"),
    )
}


@dataclass(frozen=True, slots=True)
class Answer:
    """What an implementation answered: an HTTP status and a JSON body."""

    status: int
    body: Json


@dataclass(frozen=True, slots=True)
class Served:
    answer: Answer
    served_by: str


class SelectionEvaluator:
    """DualRun's flag evaluator: the selection already made for the request."""

    def evaluate(self, flag: str, context: Any) -> Any:
        return context["selection"].evaluation


class _Trace:
    __slots__ = ("domain_raised",)

    def __init__(self) -> None:
        self.domain_raised = False


class Dispatcher:
    def __init__(
        self,
        legacy: CameraBackend,
        domain: CameraBackend,
        runner: DualRun,
        faults: FaultInjector,
        served: ServedCounter,
        *,
        compare_sample: float = 1.0,
        logger: logging.Logger | None = None,
    ) -> None:
        self.legacy = legacy
        self.domain = domain
        self.runner = runner
        self.faults = faults
        self.served = served
        self.compare_sample = compare_sample
        self._logger = logger or logging.getLogger("camera_service")

    async def run(self, selection: Selection, operation: Operation, *args: Any) -> Served:
        legacy_call: Callable[..., Json] = getattr(self.legacy, operation.method)
        domain_call: Callable[..., Json] = getattr(self.domain, operation.method)
        trace = _Trace()

        async def control(*call_args: Any) -> Answer:
            return await run_in_threadpool(_answer, operation, legacy_call, *call_args)

        async def candidate(*call_args: Any) -> Answer:
            try:
                return await run_in_threadpool(
                    _answer, operation, self.faults.call, operation.name, domain_call, *call_args
                )
            except Exception as error:  # logged here, then DualRun falls back to legacy
                if selection.domain:
                    trace.domain_raised = True
                    self._logger.warning(
                        "domain service failed on %s (%r); legacy answers", operation.name, error
                    )
                raise

        if not selection.domain and operation.kind != "compare":
            answer = await control(*args)
            served_by = LEGACY
        else:
            compare = operation.kind == "compare"
            answer = await self.runner.acompare(
                operation.name,
                control=control,
                candidate=candidate,
                args=args,
                context={"selection": selection},
                flag=FLAG,
                sample=self.compare_sample if compare else 0.0,
                read_only=operation.kind != "write",
                fallback=True,
            )
            served_by = LEGACY if trace.domain_raised or not selection.domain else DOMAIN
        self.served.add(selection.variant, served_by)
        return Served(answer, served_by)


def _answer(operation: Operation, function: Callable[..., Json], *args: Any) -> Answer:
    """Call ``function``; a refusal is an answer too (its status and JSON error)."""
    try:
        return Answer(operation.status, function(*args))
    except RequestRejected as rejected:
        return Answer(rejected.status, rejected.body())
