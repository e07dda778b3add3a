"""Rollout checks: does the flag serve the rollout's share, is the controller on time, does
telemetry arrive for the judge?"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from ...core.flags import BUCKETS
from ...core.rollout import (
    RolloutAction,
    RolloutPhase,
    current_weights,
    rollout_split,
    step_clock,
)
from ...errors import ConfigError
from ...store import RolloutRecord, Tx
from .context import DoctorContext, format_share, format_span
from .findings import Finding, Severity

__all__ = ["split_matches_share", "step_overdue", "telemetry_gap"]

_SERVING = (RolloutPhase.PROGRESSING, RolloutPhase.PAUSED)


def split_matches_share(ctx: DoctorContext) -> Iterator[Finding]:
    """Each progressing or paused rollout's flag serves the share the rollout is at."""
    env = ctx.env
    with ctx.reading() as tx:
        for rollout in tx.rollouts.list_rollouts(environment=env, phases=_SERVING):
            yield from _split_findings(tx, rollout)


def step_overdue(ctx: DoctorContext) -> Iterator[Finding]:
    """A progressing rollout whose step ran past its maximum duration: the controller
    should have paused it (its limit expired without a verdict) and did not."""
    env, grace = ctx.env, ctx.policy.overdue_grace
    with ctx.reading() as tx:
        progressing = tx.rollouts.list_rollouts(environment=env, phases=[RolloutPhase.PROGRESSING])
    for rollout in progressing:
        clock = step_clock(rollout.spec, rollout.state)
        if clock is None or ctx.now < clock.expires_at + grace:
            continue
        limit = clock.expires_at - clock.started_at
        yield Finding(
            code="rollout.step_overdue",
            severity=Severity.WARNING,
            environment=env,
            subject=f"rollout {rollout.id} ({rollout.flag})",
            message=(
                f"rollout {rollout.id} of {rollout.flag} has been at step {rollout.step + 1} "
                f"({format_share(rollout.share)}) for {format_span(ctx.now - clock.started_at)}"
                f", past its maximum step duration of {format_span(limit)}: the controller "
                "pauses a step without a verdict by then, and has not."
            ),
            fix=(
                "Check that a controller runs and leads (GET /api/v1/monitoring/controller; "
                "see controller.no_leader), then decide by hand if needed: "
                f"`rollwise rollout pause|promote|abort {rollout.id}`."
            ),
            details={
                "rollout_id": rollout.id,
                "step": rollout.step + 1,
                "step_started_at": clock.started_at.isoformat(),
                "expired_at": clock.expires_at.isoformat(),
            },
        )


def telemetry_gap(ctx: DoctorContext) -> Iterator[Finding]:
    """A progressing rollout whose flag had no telemetry for the last N report intervals
    (once it has been progressing that long): the judge has nothing to judge."""
    env, policy = ctx.env, ctx.policy
    gap = policy.telemetry_gap
    start = ctx.now - gap
    with ctx.reading() as tx:
        for rollout in tx.rollouts.list_rollouts(
            environment=env, phases=[RolloutPhase.PROGRESSING]
        ):
            if _progressing_since(tx, rollout) > start:
                continue
            windows = tx.telemetry.variant_window(
                env, rollout.flag, start, ctx.now + timedelta(seconds=1)
            )
            if any(w.requests or w.usage for w in windows.values()):
                continue
            yield Finding(
                code="telemetry.gap",
                severity=Severity.WARNING,
                environment=env,
                subject=f"flag {rollout.flag}",
                message=(
                    f"no telemetry for flag {rollout.flag} in the last {format_span(gap)} "
                    f"({policy.telemetry_gap_windows} report intervals) while rollout "
                    f"{rollout.id} progresses at {format_share(rollout.share)}: the judge has "
                    "no data, so the step cannot pass."
                ),
                fix=(
                    f"Check that the services evaluating {rollout.flag} report to this control "
                    f"plane with an sdk token of {env} (see the fleet findings and GET "
                    "/api/v1/monitoring/health); with metrics from Prometheus, this reads the "
                    "built-in telemetry only."
                ),
                details={"rollout_id": rollout.id, "window_seconds": int(gap.total_seconds())},
            )


def _progressing_since(tx: Tx, rollout: RolloutRecord) -> datetime:
    """When the rollout last started or resumed (its current run of progress)."""
    moving = (RolloutAction.START, RolloutAction.RESUME, RolloutAction.RETRY)
    since = rollout.created_at
    for transition in tx.rollouts.list_history(rollout.id):
        if transition.action in moving:
            since = transition.at
    return since


def _split_findings(tx: Tx, rollout: RolloutRecord) -> Iterator[Finding]:
    flag = tx.flags.model(rollout.flag)
    env, subject = rollout.environment, f"flag {rollout.flag}"
    state = flag.environments.get(env)
    if state is not None and not state.enabled:
        yield Finding(
            code="rollout.flag_disabled",
            severity=Severity.WARNING,
            environment=env,
            subject=subject,
            message=(
                f"flag {rollout.flag} is switched off in {env} (kill switch) while rollout "
                f"{rollout.id} is {rollout.phase.value} at {format_share(rollout.share)}: "
                f"everyone gets {flag.resolved_off_variant}, the canary has no traffic."
            ),
            fix=(
                f"If the switch is the answer to an incident, abort the rollout "
                f"(`rollwise rollout abort {rollout.id}`); otherwise switch the flag on again."
            ),
            details={"rollout_id": rollout.id},
        )
        return
    actual = _nonzero(current_weights(flag, env))
    reason: str | None = None
    try:
        wanted = _nonzero(rollout_split(flag, rollout.spec, rollout.share))
    except ConfigError as error:
        wanted, reason = {}, error.message
    if reason is None and wanted == actual:
        return
    canary, baseline = rollout.variant, rollout.baseline
    pool = actual.get(canary, 0) + actual.get(baseline, 0)
    served = actual.get(canary, 0) * BUCKETS // pool if pool else 0
    message = (
        f"rollout {rollout.id} of {rollout.flag} is at {format_share(rollout.share)} "
        f"({rollout.phase.value}, step {rollout.step + 1}), but the flag's split in {env} "
        f"gives {canary} {format_share(served)} of the {baseline}+{canary} pool "
        f"(split {_weights(actual)}"
    )
    message += f"; expected {_weights(wanted)})." if reason is None else f"): {reason}."
    yield Finding(
        code="rollout.split_mismatch",
        severity=Severity.ERROR,
        environment=env,
        subject=subject,
        message=message,
        fix=(
            "The split was changed outside the rollout (a restored backup, a database edit, "
            "an older rollwise; the flag's audit history may say). To give the rollout its "
            f"share back: `rollwise rollout pause {rollout.id}` then `resume` (a transition "
            "writes the split again); to keep the new split, abort the rollout "
            f"(`rollwise rollout abort {rollout.id}`)."
        ),
        details={
            "rollout_id": rollout.id,
            "rollout_share": rollout.share,
            "served_share": served,
            "split": actual,
            "expected_split": wanted,
        },
    )


def _nonzero(weights: dict[str, int]) -> dict[str, int]:
    return {variant: weight for variant, weight in weights.items() if weight}


def _weights(weights: dict[str, int]) -> str:
    return ", ".join(f"{v} {format_share(w)}" for v, w in weights.items()) or "none"
