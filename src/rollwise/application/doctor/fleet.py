"""Fleet checks: do the SDK instances and the routers apply what the control plane serves,
and report?

The instances are what each one last reported (:mod:`rollwise.store.instances`). Router
agents (``rollwise router nginx``) report the same way under ``router-<type>/<flag>@...``
names: they are judged by :func:`routers_behind` (has each applied its flag's current
split?), not by :func:`stale_revision`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta

from ...core.rollout import (
    IN_PROCESS_ROUTER,
    ROUTER_GONE_AFTER,
    ROUTER_INSTANCE_PREFIX,
    RolloutPhase,
    RouterReport,
    carries,
    live_routers,
    parse_router_instance,
)
from ...store import RolloutHistoryRecord, RolloutRecord, Tx
from ...store.instances import InstanceRecord
from ..rollouts import SplitRevision, split_revision
from .context import DoctorContext, format_share, format_span
from .findings import Finding, Severity

__all__ = ["routers_behind", "silent_instances", "stale_revision"]

_NAMED = 5  # instances named in a message; details list them all


def stale_revision(ctx: DoctorContext) -> Iterator[Finding]:
    """Live instances that have reported an older config revision than the one served for
    longer than ``stale_grace`` (one finding per revision they are stuck on). Instances
    that report no revision (none yet, or a file of their own) are not judged."""
    env, policy = ctx.env, ctx.policy
    with ctx.reading() as tx:
        current = tx.environments.config_revision(env)
        live = [
            i
            for i in tx.instances.list_instances(env, seen_since=ctx.now - policy.silent_after)
            if not i.instance.startswith(ROUTER_INSTANCE_PREFIX)  # routers_behind's
        ]
        stale = [i for i in live if _stuck(i, current, policy.stale_grace)]
        if not stale:
            return
        rollouts = _rollouts_with_history(tx, env)
    groups: dict[int, list[InstanceRecord]] = {}
    for instance in stale:
        if instance.config_revision is not None:  # always so: _stuck needs a revision
            groups.setdefault(instance.config_revision, []).append(instance)
    for revision, members in sorted(groups.items(), key=lambda item: item[0] or -1):
        since = min(i.behind_since or ctx.now for i in members)
        took = min((i.revision_since for i in members if i.revision_since), default=None)
        message = (
            f"{len(members)} of {len(live)} reporting instances still evaluate revision "
            f"{revision}; the control plane serves revision {current} (behind for "
            f"{format_span(ctx.now - since)}: {_names(members)})."
        )
        shares = list(_share_differences(rollouts, took))
        message += "".join(f" {line}" for line in shares)
        yield Finding(
            code="fleet.stale_revision",
            severity=Severity.ERROR if shares else Severity.WARNING,
            environment=env,
            subject=f"{len(members)} instance(s) on revision {revision}",
            message=message,
            fix=(
                "Check that these instances reach the control plane (GET /api/v1/sdk/config "
                "and its event stream with their sdk token; their logs name the failure) and "
                "restart them if their config source is stuck: until then they serve the "
                "old configuration."
            ),
            details={
                "config_revision": revision,
                "served_revision": current,
                "instances": [i.instance for i in members],
                "reporting_instances": len(live),
            },
        )


def silent_instances(ctx: DoctorContext) -> Iterator[Finding]:
    """Instances that stopped reporting while others still do (or all of them stopped)."""
    env, policy = ctx.env, ctx.policy
    live_since = ctx.now - policy.silent_after
    with ctx.reading() as tx:
        recent = tx.instances.list_instances(env, seen_since=ctx.now - policy.gone_after)
    live = [i for i in recent if i.last_seen >= live_since]
    silent = [i for i in recent if i.last_seen < live_since]
    if not silent:
        return
    newest = max(i.last_seen for i in silent)
    details = {
        "instances": [i.instance for i in silent],
        "last_seen": {i.instance: i.last_seen.isoformat() for i in silent},
        "reporting_instances": len(live),
    }
    if live:
        yield Finding(
            code="fleet.silent_instances",
            severity=Severity.WARNING,
            environment=env,
            subject=f"{len(silent)} silent instance(s)",
            message=(
                f"{len(silent)} instance(s) stopped reporting ({_names(silent)}; the latest "
                f"{format_span(ctx.now - newest)} ago) while {len(live)} others report every "
                f"{format_span(policy.report_interval)}: their requests are missing from the "
                "rollout's judgement."
            ),
            fix=(
                "If they were stopped on purpose (a deploy, a scale-down), nothing to do: they "
                f"drop off after {format_span(policy.gone_after)}. Otherwise check that they "
                "run and reach the control plane (their reporter logs each failed send)."
            ),
            details=details,
        )
    else:
        yield Finding(
            code="fleet.no_reports",
            severity=Severity.WARNING,
            environment=env,
            subject="every instance",
            message=(
                f"none of the {len(silent)} instance(s) seen in the last "
                f"{format_span(policy.gone_after)} reported in the last "
                f"{format_span(policy.silent_after)} (the latest "
                f"{format_span(ctx.now - newest)} ago): the environment sends no telemetry."
            ),
            fix=(
                "Check the control plane accepts telemetry (POST /api/v1/sdk/telemetry answers "
                "202 to their sdk token) and that the services still run."
            ),
            details=details,
        )


def routers_behind(ctx: DoctorContext) -> Iterator[Finding]:
    """Routers that have not applied the current split.

    An error when a router has not applied the split a progressing or paused rollout of its
    flag wrote ``stale_grace`` ago (the proxy serves the previous step's traffic), and when
    a progressing rollout names a router type that no router of its flag reports as
    (nothing applies its split); a warning when a router reports an older revision than the
    environment's for longer than ``stale_grace`` (it will miss the next change).
    """
    env, grace = ctx.env, ctx.policy.stale_grace
    with ctx.reading() as tx:
        current = tx.environments.config_revision(env)
        records = {
            i.instance: i
            for i in tx.instances.list_routers(env, seen_since=ctx.now - ROUTER_GONE_AFTER)
        }
        rollouts = [
            (rollout, split_revision(tx, rollout.id))
            for rollout in tx.rollouts.list_rollouts(
                environment=env, phases=[RolloutPhase.PROGRESSING, RolloutPhase.PAUSED]
            )
        ]
    routers = live_routers(_reports(records.values()), ctx.now)
    flagged: set[str] = set()
    for rollout, written in rollouts:
        carrying = [r for r in routers if carries(rollout.spec, r)]
        if not carrying:
            if _names_missing_router(rollout):
                yield _missing_router(env, rollout)
            continue
        if written is None or ctx.now - written.at < grace:
            continue
        late = [r for r in carrying if r.revision is None or r.revision < written.revision]
        for router in late:
            flagged.add(router.instance)
            yield _router_late(env, rollout, written, router, ctx.now)
    for router in routers:
        if router.instance in flagged or router.router_type == IN_PROCESS_ROUTER:
            continue
        record = records[router.instance]
        if _stuck(record, current, grace):
            yield _router_stale(env, router, record, current, ctx.now)


def _reports(instances: Iterable[InstanceRecord]) -> Iterator[RouterReport]:
    for i in instances:
        report = parse_router_instance(
            i.instance,
            revision=i.config_revision,
            revision_since=i.revision_since,
            last_seen=i.last_seen,
        )
        if report is not None:
            yield report


def _names_missing_router(rollout: RolloutRecord) -> bool:
    router = rollout.spec.router
    return (
        rollout.phase is RolloutPhase.PROGRESSING
        and router is not None
        and router != IN_PROCESS_ROUTER
    )


def _missing_router(env: str, rollout: RolloutRecord) -> Finding:
    router = rollout.spec.router
    return Finding(
        code="fleet.routers_behind",
        severity=Severity.ERROR,
        environment=env,
        subject=f"rollout {rollout.id} ({rollout.flag})",
        message=(
            f"rollout {rollout.id} of {rollout.flag} goes through the {router} router, but no "
            f"{router} router has reported for {rollout.flag} in the last "
            f"{format_span(ROUTER_GONE_AFTER)}: nothing applies its split, and the controller "
            "pauses its steps when their router_apply_timeout passes."
        ),
        fix=(
            f"Start the agent beside the proxy (`rollwise router {router} -f router.yaml` "
            f"with flag: {rollout.flag}) and check that it reaches the control plane with "
            "its sdk token; then `rollwise rollout resume` the rollout if it paused."
        ),
        details={"rollout_id": rollout.id, "flag": rollout.flag, "router": router},
    )


def _router_late(
    env: str, rollout: RolloutRecord, written: SplitRevision, router: RouterReport, now: datetime
) -> Finding:
    on = "no revision yet" if router.revision is None else f"revision {router.revision}"
    return Finding(
        code="fleet.routers_behind",
        severity=Severity.ERROR,
        environment=env,
        subject=router.instance,
        message=(
            f"router {router.instance} has not applied the current split of {rollout.flag}: "
            f"rollout {rollout.id} is at {format_share(rollout.share)} since revision "
            f"{written.revision} ({format_span(now - written.at)} ago), the router is on {on}"
            " and its proxy still serves the earlier split."
        ),
        fix=(
            "Read the agent's log: a split the proxy refuses (`nginx -t`) is logged and kept "
            "out, a control plane it cannot reach is retried. Fix the cause or restart the "
            "agent; a rollout the controller paused for it resumes with "
            f"`rollwise rollout resume {rollout.id}`."
        ),
        details={
            "instance": router.instance,
            "router": router.router_type,
            "flag": rollout.flag,
            "rollout_id": rollout.id,
            "split_revision": written.revision,
            "config_revision": router.revision,
        },
    )


def _router_stale(
    env: str, router: RouterReport, record: InstanceRecord, current: int, now: datetime
) -> Finding:
    since = record.behind_since or now
    return Finding(
        code="fleet.routers_behind",
        severity=Severity.WARNING,
        environment=env,
        subject=router.instance,
        message=(
            f"router {router.instance} reports revision {router.revision}; the control plane "
            f"serves revision {current} (behind for {format_span(now - since)}): it will not "
            "follow the next split until it catches up."
        ),
        fix=(
            "Check that the agent reaches the control plane (GET /api/v1/sdk/config and its "
            "event stream with its sdk token) and that its proxy accepts the rendered "
            "configuration (the agent's log names the failure)."
        ),
        details={
            "instance": router.instance,
            "router": router.router_type,
            "config_revision": router.revision,
            "served_revision": current,
        },
    )


def _stuck(instance: InstanceRecord, current: int, grace: timedelta) -> bool:
    behind = instance.config_revision is not None and instance.config_revision < current
    since = instance.behind_since
    return behind and since is not None and instance.last_seen - since >= grace


def _names(instances: Sequence[InstanceRecord]) -> str:
    shown = ", ".join(i.instance for i in instances[:_NAMED])
    more = len(instances) - _NAMED
    return f"{shown} and {more} more" if more > 0 else shown


Rollouts = list[tuple[RolloutRecord, list[RolloutHistoryRecord]]]


def _rollouts_with_history(tx: Tx, environment: str) -> Rollouts:
    active = tx.rollouts.list_rollouts(environment=environment, active=True)
    return [
        (r, tx.rollouts.list_history(r.id)) for r in active if r.phase is not RolloutPhase.PENDING
    ]


def _share_differences(rollouts: Rollouts, took: datetime | None) -> Iterator[str]:
    """For each active rollout whose share changed since ``took`` (when the instances first
    reported their revision): the share they serve, from the rollout's history."""
    if took is None:
        return
    for rollout, history in rollouts:
        then = history[0].from_share if history else rollout.share
        for transition in history:
            if transition.at <= took:
                then = transition.to_share
        if then != rollout.share:
            yield (
                f"Flag {rollout.flag}: rollout {rollout.id} is at {format_share(rollout.share)}, "
                f"they still serve {format_share(then)} (its share when they took this "
                "revision)."
            )
