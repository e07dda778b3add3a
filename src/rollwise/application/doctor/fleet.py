"""Fleet checks: do the SDK instances evaluate what the control plane serves, and report?

The instances are what each one last reported (:mod:`rollwise.store.instances`). Routers
(the release issue's traffic routers) will report the same way; the check that a router
has applied the current split belongs beside these (see ``checks.CHECKS``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from ...core.rollout import RolloutPhase
from ...store import RolloutHistoryRecord, RolloutRecord, Tx
from ...store.instances import InstanceRecord
from .context import DoctorContext, format_share, format_span
from .findings import Finding, Severity

__all__ = ["silent_instances", "stale_revision"]

_NAMED = 5  # instances named in a message; details list them all


def stale_revision(ctx: DoctorContext) -> Iterator[Finding]:
    """Live instances that have reported an older config revision than the one served for
    longer than ``stale_grace`` (one finding per revision they are stuck on). Instances
    that report no revision (none yet, or a file of their own) are not judged."""
    env, policy = ctx.env, ctx.policy
    with ctx.reading() as tx:
        current = tx.config_revision(env)
        live = tx.list_instances(env, seen_since=ctx.now - policy.silent_after)
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
        recent = tx.list_instances(env, seen_since=ctx.now - policy.gone_after)
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
    active = tx.list_rollouts(environment=environment, active=True)
    return [
        (r, tx.list_rollout_history(r.id)) for r in active if r.phase is not RolloutPhase.PENDING
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
