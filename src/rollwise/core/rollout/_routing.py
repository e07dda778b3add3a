"""A step whose split a router applies is judged from when the router applied it.

The in-process split (router ``flag``) is in force as soon as the SDKs fetch the document,
and the requests they record say which variant served them. A proxy (``rollwise router
nginx``, a ``command`` router) keeps sending traffic on the previous split until it has
applied the new one, so requests it served before then are not the step's. Routers report
the config revision they applied through the fleet view, under the instance name
``router-<type>/<flag>@<host>:<pid>`` (:func:`router_instance_name`); the controller counts
a step's traffic only from the moment every router its rollout goes through reports the
step's revision or a later one.

Which routers (``RolloutSpec.router``)
    ``flag``: none, nothing to wait for (today's in-process behaviour). A type such as
    ``nginx``: the routers of that type that report for the rollout's flag; when none
    does, the split is not applied. Unset (the default): whichever routers other than
    ``flag`` report for the flag in the environment; when none does, nothing to wait for.
    A router counts while it reported in the last :data:`ROUTER_GONE_AFTER`; a restarted
    agent is a new instance (a new pid), so per type, flag and host only the latest counts.

The deadline
    A split that is still not applied ``router_apply_timeout`` after the step began pauses
    the rollout, naming each router behind and the revision it is on; ``resume`` starts the
    step (and the deadline) again. Pure: the caller reads the reports and the revision.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..durations import format_duration
from ._decide import StepDecision
from ._phases import RolloutAction
from ._spec import IN_PROCESS_ROUTER, RolloutSpec

__all__ = [
    "ROUTER_GONE_AFTER",
    "ROUTER_INSTANCE_PREFIX",
    "RouterReport",
    "RoutingCheck",
    "carries",
    "check_routing",
    "live_routers",
    "parse_router_instance",
    "router_instance_name",
    "routing_decision",
]

ROUTER_INSTANCE_PREFIX = "router-"
"""Fleet instances whose name starts with this are routers, not SDK processes."""

ROUTER_GONE_AFTER = timedelta(minutes=10)
"""A router that has not reported for this long no longer carries any rollout's traffic."""

_NAME = re.compile(r"^router-(?P<type>[^/@]+)(?:/(?P<flag>[^@]+))?@(?P<where>.*)$")


def router_instance_name(router_type: str, flag: str, host: str, pid: int) -> str:
    """The fleet instance a router agent reports under (at most 200 characters: the host
    is cut, never the type or the flag)."""
    head = f"{ROUTER_INSTANCE_PREFIX}{router_type}/{flag}@"
    tail = f":{pid}"
    return head + host[: max(1, 200 - len(head) - len(tail))] + tail


@dataclass(frozen=True, slots=True)
class RouterReport:
    """What one router last reported: the revision it applied and since when."""

    instance: str
    router_type: str
    flag: str | None
    """The flag it follows (None: an agent that did not say; it counts for every flag)."""
    where: str
    """``host:pid``."""
    revision: int | None
    revision_since: datetime | None
    last_seen: datetime

    @property
    def host(self) -> str:
        return self.where.rsplit(":", 1)[0]

    def describe(self) -> str:
        revision = "no revision yet" if self.revision is None else f"revision {self.revision}"
        return f"{self.instance} is on {revision}"


def parse_router_instance(
    instance: str,
    *,
    revision: int | None,
    revision_since: datetime | None,
    last_seen: datetime,
) -> RouterReport | None:
    """The router behind a fleet instance name; None when the instance is not a router."""
    match = _NAME.match(instance)
    if match is None:
        return None
    return RouterReport(
        instance=instance,
        router_type=match["type"],
        flag=match["flag"],
        where=match["where"],
        revision=revision,
        revision_since=revision_since,
        last_seen=last_seen,
    )


def live_routers(reports: Iterable[RouterReport], now: datetime) -> list[RouterReport]:
    """The routers that reported in the last :data:`ROUTER_GONE_AFTER`, the latest instance
    per type, flag and host (a restarted agent replaces its predecessor), by name."""
    since = now - ROUTER_GONE_AFTER
    latest: dict[tuple[str, str | None, str], RouterReport] = {}
    for report in reports:
        if report.last_seen < since:
            continue
        key = (report.router_type, report.flag, report.host)
        kept = latest.get(key)
        if kept is None or report.last_seen > kept.last_seen:
            latest[key] = report
    return sorted(latest.values(), key=lambda r: r.instance)


def carries(spec: RolloutSpec, report: RouterReport) -> bool:
    """Whether ``report``'s router applies ``spec``'s split: it follows the flag (or did
    not say which), and is of the spec's router type (unset: any but ``flag``)."""
    if report.flag not in (None, spec.flag):
        return False
    if spec.router is None:
        return report.router_type != IN_PROCESS_ROUTER
    return report.router_type == spec.router


@dataclass(frozen=True, slots=True)
class RoutingCheck:
    """Whether the routers a step goes through have applied its split (revision ``revision``).

    ``applied_at`` is when the last of them reported it (None: not all have yet);
    ``judged_from`` is when the step's traffic starts to count: the later of the step's
    start and ``applied_at``.
    """

    revision: int
    router: str | None
    routers: tuple[RouterReport, ...]
    step_started_at: datetime
    deadline: datetime
    applied_at: datetime | None

    @property
    def applied(self) -> bool:
        return self.applied_at is not None

    @property
    def judged_from(self) -> datetime | None:
        if self.applied_at is None:
            return None
        return max(self.step_started_at, self.applied_at)

    @property
    def behind(self) -> tuple[RouterReport, ...]:
        return tuple(r for r in self.routers if r.revision is None or r.revision < self.revision)

    def evidence(self) -> dict[str, Any]:
        """The check as the judgement's and the history's evidence (``routing``)."""
        return {
            "router": self.router,
            "revision": self.revision,
            "routers": [
                {
                    "instance": r.instance,
                    "type": r.router_type,
                    "revision": r.revision,
                    "since": r.revision_since,
                    "last_seen": r.last_seen,
                }
                for r in self.routers
            ],
            "applied_at": self.applied_at,
            "judged_from": self.judged_from,
            "deadline": self.deadline,
        }


def check_routing(
    spec: RolloutSpec,
    *,
    step_started_at: datetime,
    revision: int,
    reports: Iterable[RouterReport],
    now: datetime,
    applied_at: datetime | None = None,
) -> RoutingCheck | None:
    """Where the step's split (config revision ``revision``) stands with its routers; None
    when nothing outside the processes applies it.

    ``applied_at``, when given, is the moment an earlier look found it applied: kept, so a
    router's later revisions (other flags changing) never move the step's window.
    """
    if spec.router == IN_PROCESS_ROUTER:
        return None
    routers = tuple(r for r in live_routers(reports, now) if carries(spec, r))
    if not routers and spec.router is None and applied_at is None:
        return None
    deadline = step_started_at + timedelta(seconds=spec.router_apply_timeout)
    current = all(r.revision is not None and r.revision >= revision for r in routers)
    if applied_at is None and routers and current:
        # since when each reports the revision it is on: the moment it applied it, or
        # later (a revision after the step's), never earlier
        applied_at = max(r.revision_since or r.last_seen for r in routers)
    return RoutingCheck(revision, spec.router, routers, step_started_at, deadline, applied_at)


def routing_decision(
    spec: RolloutSpec, step: int, check: RoutingCheck, *, now: datetime
) -> StepDecision | None:
    """Hold while the step's routers have not applied its split, pause at the deadline;
    None once it is applied (the step is judged from ``check.judged_from``)."""
    if check.applied:
        return None
    number = step + 1
    split = f"the split (revision {check.revision})"
    if not check.routers:
        who = f"no {spec.router} router reports for {spec.flag} in {spec.environment}"
        if now < check.deadline:
            return StepDecision(RolloutAction.HOLD, f"step {number}: waiting for {split}: {who}")
        return StepDecision(
            RolloutAction.PAUSE,
            f"step {number}: {split} was not applied within "
            f"{format_duration(spec.router_apply_timeout)}: {who}",
        )
    behind = "; ".join(r.describe() for r in check.behind)
    if now < check.deadline:
        return StepDecision(
            RolloutAction.HOLD,
            f"step {number}: waiting for the router(s) to apply {split}: {behind}",
        )
    return StepDecision(
        RolloutAction.PAUSE,
        f"step {number}: the router(s) did not apply {split} within "
        f"{format_duration(spec.router_apply_timeout)}: {behind}",
    )
