"""Release use cases: record a deployment and roll it out, follow its outcome, roll back.

A release is a variant of a **release flag** (``v1.4.0``, ``v1.5.0``) and its rollout an
ordinary rollout on that flag: canary the new release, baseline the live one, the strategy
the environment's release defaults (``defaults.<env>.release`` of ``rollwise apply``, else
its rollout defaults, else the rollout spec's own). Each use case runs in the caller's
transaction (see :mod:`rollwise.application`).

- :func:`record_release` appends the version to the flag's variants when it is new (creating
  the flag for a first release), writes the history row and starts the rollout; a first
  release (nothing to compare with) is live at once.
- a ``health_check`` in the defaults or the request keeps the rollout pending, no traffic
  moved, until the controller has seen the candidate healthy (``controller/_health.py``).
- :func:`follow_rollout` carries a finished rollout onto its release: ``succeeded`` →
  promoted (and the release it replaced superseded), ``rolled_back`` → rolled back,
  ``aborted`` → failed.
- :func:`rollback_release` sends all traffic back to the previous good release at once:
  a running release rollout is aborted first, the split is set 100% to that release,
  the history, the audit log and the outbox (``release.rollback``) say so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..core.flags import BUCKETS, FlagEnvironment
from ..core.gates import Gate
from ..core.notifications import Kind, NotificationContent, Severity, Subject
from ..core.release import ReleaseOutcome
from ..core.rollout import RolloutAction, current_weights, parse_rollout_spec
from ..core.state_document import RolloutDefaults
from ..errors import ConfigError, ConflictError, NotFoundError
from ..store import RolloutRecord, Tx
from ..store.releases import ReleaseRecord
from .release_outcome import follow_rollout, supersede_others
from .rollouts import act_on_rollout, create_rollout
from .state_apply import read_settings

__all__ = [
    "RELEASE_ROLLBACK_KIND",
    "ReleaseStart",
    "RollbackResult",
    "follow_rollout",
    "record_release",
    "release_defaults",
    "rollback_release",
    "sync_release",
]

RELEASE_ROLLBACK_KIND = Kind.RELEASE_ROLLBACK


@dataclass(frozen=True)
class ReleaseStart:
    """What recording a release did: the history row and the rollout it started (None: the
    release went live at once, being the first or the live one already)."""

    release: ReleaseRecord
    rollout: RolloutRecord | None


@dataclass(frozen=True)
class RollbackResult:
    """The release taken out of service, the one serving everyone again, and the rollout
    that was aborted on the way (None: there was none running)."""

    from_release: ReleaseRecord
    to_release: ReleaseRecord
    aborted_rollout: RolloutRecord | None


def release_defaults(tx: Tx, environment: str) -> RolloutDefaults | None:
    """The environment's release defaults, else its rollout defaults (``rollwise apply``)."""
    settings = read_settings(tx).defaults.get(environment)
    if settings is None:
        return None
    return settings.release or settings.rollout


def _spec_fields(defaults: RolloutDefaults | None) -> dict[str, Any]:
    if defaults is None:
        return {}
    return defaults.spec_fields()


def record_release(
    tx: Tx,
    environment: str,
    flag: str,
    version: str,
    *,
    commit: str | None = None,
    deployed_by: str | None = None,
    rollout: Mapping[str, Any] | None = None,
    validate_gates: Callable[[Sequence[Gate]], None] | None = None,
    now: datetime | None = None,
) -> ReleaseStart:
    """Record ``version`` as deployed to ``environment`` and start its rollout.

    ``rollout`` overrides the environment's defaults with fields of a rollout spec
    (strategy, gates, min_samples, ...; never flag, environment, variant or baseline).
    ``validate_gates`` (the controller's metric provider's check) refuses gates it cannot
    serve. ConflictError when the flag already has an active rollout in the environment;
    ConfigError when the spec does not fit.
    """
    tx.environments.get(environment)
    overrides = dict(rollout or {})
    fixed = sorted({"flag", "environment", "variant", "baseline"} & set(overrides))
    if fixed:
        raise ConfigError.single(
            flag, f"rollout.{fixed[0]}", "is set by the release: leave it out of the spec"
        )
    _refuse_while_rolling_out(tx, environment, flag, version)
    _ensure_variant(tx, flag, version)
    baseline = _baseline(tx, environment, flag, version)
    if baseline is None or baseline == version:
        _go_live(tx, environment, flag, version)
        record = tx.releases.record(
            environment,
            flag,
            version,
            commit=commit,
            deployed_by=deployed_by,
            outcome=ReleaseOutcome.PROMOTED,
        )
        supersede_others(tx, record)
        return ReleaseStart(release=record, rollout=None)
    spec = parse_rollout_spec(
        {
            **_spec_fields(release_defaults(tx, environment)),
            **overrides,
            "flag": flag,
            "environment": environment,
            "variant": version,
            "baseline": baseline,
        }
    )
    if validate_gates is not None:
        validate_gates(spec.gates)
    started = create_rollout(tx, spec, start=True, now=now, reason=f"release {version}")
    record = tx.releases.record(
        environment,
        flag,
        version,
        commit=commit,
        deployed_by=deployed_by,
        rollout_id=started.id,
    )
    return ReleaseStart(release=record, rollout=started)


def _refuse_while_rolling_out(tx: Tx, environment: str, flag: str, version: str) -> None:
    """One release rollout at a time per environment: said before anything is written."""
    active = tx.rollouts.get_active(flag, environment)
    if active is not None:
        raise ConflictError(
            f"{flag!r} in {environment!r} is rolling out {active.variant} (rollout "
            f"{active.id}, {active.phase.value}): let it finish, or roll it back, before "
            f"deploying {version}",
            resource="release",
            environment=environment,
            flag=flag,
            rollout_id=active.id,
        )


def _ensure_variant(tx: Tx, flag: str, version: str) -> None:
    """The release is a variant of the flag: appended when new (after the older releases,
    so a canary's range only ever sits next to its baseline's), the flag made if absent."""
    try:
        record = tx.flags.get(flag)
    except NotFoundError:
        tx.flags.create(flag, variants=[version], description="release flag (rollwise deploy)")
        return
    if version not in record.variants:
        tx.flags.update(flag, record.version, variants=[*record.variants, version])


def _baseline(tx: Tx, environment: str, flag: str, version: str) -> str | None:
    """The release the new one replaces: the live release, else the variant that has most of
    the flag's traffic in the environment (None: the flag serves nothing there yet)."""
    live = tx.releases.live(environment, flag)
    if live is not None:
        return live.version
    state = tx.flags.get_state(flag, environment)
    if state.version == 0 or not state.state.enabled:
        return None
    weights = current_weights(tx.flags.model(flag), environment)
    served = [(weight, variant) for variant, weight in weights.items() if weight > 0]
    if not served:
        return None
    return max(served)[1]


def _go_live(tx: Tx, environment: str, flag: str, version: str) -> None:
    """Everyone on ``version`` at once (a first release: nothing to compare it with)."""
    current = tx.flags.get_state(flag, environment, lock=True)
    if current.version > 0 and current.state.enabled and _serves_only(current.state, version):
        return
    base = current.state if current.version > 0 else FlagEnvironment()
    state = base.model_copy(update={"enabled": True, "split": None, "default": version})
    tx.flags.put_state(flag, environment, state, None)


def _serves_only(state: FlagEnvironment, version: str) -> bool:
    if state.split is not None:
        return state.split.get(version, 0) == BUCKETS
    return state.default == version


def sync_release(tx: Tx, release_id: int) -> ReleaseRecord:
    """The release with its outcome brought up to date with its rollout's phase."""
    release = tx.releases.get(release_id)
    if release.outcome is ReleaseOutcome.DEPLOYING and release.rollout_id is not None:
        followed = follow_rollout(tx, tx.rollouts.get(release.rollout_id))
        if followed is not None:
            return followed
    return release


def rollback_release(
    tx: Tx,
    environment: str,
    flag: str | None = None,
    *,
    reason: str | None = None,
    now: datetime | None = None,
) -> RollbackResult:
    """All traffic back to the previous good release at once; see the module docs.

    ``flag`` defaults to the flag of the environment's newest release. NotFoundError when
    the environment has no release; ConflictError when there is no earlier good release.
    """
    tx.environments.get(environment)
    moment = now if now is not None else tx.now()
    chosen = flag if flag is not None else _newest_flag(tx, environment)
    current = _current(tx, environment, chosen)
    target = tx.releases.previous_good(environment, chosen, before_id=current.id)
    if target is None:
        raise ConflictError(
            f"no earlier good release of {chosen!r} in {environment!r} to roll back to "
            f"(the current one is {current.version})",
            resource="release",
            environment=environment,
            flag=chosen,
            current=current.version,
        )
    why = reason or f"roll back {current.version} → {target.version}"
    aborted = _abort_active(tx, environment, chosen, moment, why)
    _all_traffic_to(tx, environment, chosen, target.version)
    left = tx.releases.set_outcome(current.id, ReleaseOutcome.ROLLED_BACK)
    restored = tx.releases.set_outcome(target.id, ReleaseOutcome.PROMOTED)
    supersede_others(tx, restored)
    tx.releases.audit_rollback(left, restored, reason=why, aborted_rollout=_id(aborted))
    tx.outbox.enqueue(_rollback_notification(left, restored, why, moment, tx.actor, aborted))
    return RollbackResult(from_release=left, to_release=restored, aborted_rollout=aborted)


def _id(rollout: RolloutRecord | None) -> int | None:
    return None if rollout is None else rollout.id


def _newest_flag(tx: Tx, environment: str) -> str:
    newest = tx.releases.list_releases(environment=environment, limit=1)
    if not newest:
        raise NotFoundError(
            f"environment {environment!r} has no release to roll back",
            resource="release",
            environment=environment,
        )
    return newest[0].flag


def _current(tx: Tx, environment: str, flag: str) -> ReleaseRecord:
    """The release being rolled back: the newest one deploying or live."""
    found = tx.releases.list_releases(
        environment=environment,
        flag=flag,
        outcomes=[ReleaseOutcome.DEPLOYING, ReleaseOutcome.PROMOTED],
        limit=1,
    )
    if not found:
        raise NotFoundError(
            f"flag {flag!r} has no deploying or live release in {environment!r}",
            resource="release",
            environment=environment,
            flag=flag,
        )
    return found[0]


def _abort_active(
    tx: Tx, environment: str, flag: str, moment: datetime, reason: str
) -> RolloutRecord | None:
    active = tx.rollouts.get_active(flag, environment)
    if active is None:
        return None
    aborted = act_on_rollout(
        tx,
        active.id,
        RolloutAction.ABORT,
        expected_version=active.version,
        now=moment,
        reason=reason,
    )
    follow_rollout(tx, aborted)
    return aborted


def _all_traffic_to(tx: Tx, environment: str, flag: str, version: str) -> None:
    """The split 100% to ``version``; the other releases it named stay at 0, so the next
    rollout's canary range starts where it was."""
    current = tx.flags.get_state(flag, environment, lock=True)
    base = current.state if current.version > 0 else FlagEnvironment()
    if current.version > 0 and base.enabled and _serves_only(base, version):
        return
    variants = tx.flags.get(flag).variants
    named = set(base.split or {}) | {version}
    split = {v: (BUCKETS if v == version else 0) for v in variants if v in named}
    state = base.model_copy(update={"enabled": True, "split": split, "default": None})
    tx.flags.put_state(flag, environment, state, None)


def _rollback_notification(
    left: ReleaseRecord,
    restored: ReleaseRecord,
    reason: str,
    moment: datetime,
    actor: str,
    aborted: RolloutRecord | None,
) -> NotificationContent:
    fields: dict[str, Any] = {
        "from": left.version,
        "to": restored.version,
        "by": actor,
        "reason": reason,
    }
    if aborted is not None:
        fields["aborted rollout"] = aborted.id
    return NotificationContent(
        kind=RELEASE_ROLLBACK_KIND,
        severity=Severity.WARNING,
        title=f"{left.flag} in {left.environment}: rolled back {left.version} → {restored.version}",
        summary=f"All traffic is back on {restored.version}. {reason}",
        subject=Subject(flag=left.flag, environment=left.environment),
        occurred_at=moment,
        fields=fields,
    )
