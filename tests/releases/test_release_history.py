"""Recording releases, following their rollouts, and rolling back at once (SQLite and
PostgreSQL: the ``store`` fixture)."""

from __future__ import annotations

import pytest

from rollwise.application import act_on_rollout
from rollwise.application.releases import (
    ReleaseStart,
    follow_rollout,
    record_release,
    rollback_release,
    sync_release,
)
from rollwise.core.release import ReleaseOutcome
from rollwise.core.rollout import RolloutPhase
from rollwise.errors import ConfigError, ConflictError, NotFoundError
from rollwise.store import Store

from ._support import FLAG, seed

CANARY = {"strategy": {"type": "canary", "steps": ["10%/1h", "50%/1h", "100%"]}}


def _split(store: Store, environment: str = "production") -> dict[str, int] | None:
    with store.reading() as tx:
        state = tx.flags.get_state(FLAG, environment).state
    if state.split is None:
        return None if state.default is None else {state.default: 10_000}
    return {variant: weight for variant, weight in state.split.items() if weight}


def _deploy(
    store: Store, version: str, environment: str = "production", commit: str | None = None
) -> ReleaseStart:
    with store.transaction("ci") as tx:
        return record_release(tx, environment, FLAG, version, commit=commit, rollout=CANARY)


def _promote(store: Store, rollout_id: int) -> None:
    with store.transaction("alice") as tx:
        rollout = tx.rollouts.get(rollout_id)
        after = act_on_rollout(tx, rollout_id, "promote", expected_version=rollout.version)
        follow_rollout(tx, after)


def test_a_first_release_is_live_at_once_and_makes_the_flag(store: Store) -> None:
    seed(store)
    started = _deploy(store, "v1.4.0", commit="abc123")
    assert started.rollout is None
    assert started.release.outcome is ReleaseOutcome.PROMOTED
    assert (started.release.commit, started.release.deployed_by) == ("abc123", "ci")
    assert _split(store) == {"v1.4.0": 10_000}
    with store.reading() as tx:
        assert tx.flags.get(FLAG).variants == ["v1.4.0"]


def test_a_new_release_rolls_out_against_the_live_one_and_supersedes_it(store: Store) -> None:
    seed(store)
    _deploy(store, "v1.4.0")
    started = _deploy(store, "v1.5.0", commit="def456")
    assert started.rollout is not None
    assert (started.rollout.variant, started.rollout.baseline) == ("v1.5.0", "v1.4.0")
    assert started.rollout.phase is RolloutPhase.PROGRESSING
    assert started.release.outcome is ReleaseOutcome.DEPLOYING
    assert started.release.rollout_id == started.rollout.id
    assert _split(store) == {"v1.4.0": 9_000, "v1.5.0": 1_000}
    with store.reading() as tx:
        assert tx.flags.get(FLAG).variants == ["v1.4.0", "v1.5.0"]
    _promote(store, started.rollout.id)
    assert _split(store) == {"v1.5.0": 10_000}
    with store.reading() as tx:
        history = tx.releases.list_releases(environment="production")
        assert tx.releases.live("production", FLAG) is not None
    assert [(r.version, r.outcome) for r in history] == [
        ("v1.5.0", ReleaseOutcome.PROMOTED),
        ("v1.4.0", ReleaseOutcome.SUPERSEDED),
    ]


def test_history_is_per_environment_newest_first(store: Store) -> None:
    seed(store)
    _deploy(store, "v1.4.0", environment="staging")
    _deploy(store, "v1.4.0")
    started = _deploy(store, "v1.5.0", environment="staging")
    assert started.rollout is not None
    with store.reading() as tx:
        staging = tx.releases.list_releases(environment="staging")
        production = tx.releases.list_releases(environment="production")
    assert [r.version for r in staging] == ["v1.5.0", "v1.4.0"]
    assert [r.version for r in production] == ["v1.4.0"]
    assert staging[0].deployed_at >= staging[1].deployed_at


def test_a_rolled_back_rollout_marks_its_release(store: Store) -> None:
    seed(store)
    _deploy(store, "v1.4.0")
    started = _deploy(store, "v1.5.0")
    assert started.rollout is not None
    with store.transaction("controller") as tx:
        act_on_rollout(tx, started.rollout.id, "rollback", expected_version=started.rollout.version)
    with store.transaction("controller") as tx:
        followed = sync_release(tx, started.release.id)
    assert followed.outcome is ReleaseOutcome.ROLLED_BACK
    assert _split(store) == {"v1.4.0": 10_000}
    with store.reading() as tx:
        live = tx.releases.live("production", FLAG)
    assert live is not None
    assert live.version == "v1.4.0"


def test_rollback_sends_everyone_back_at_once_audited_and_notified(store: Store) -> None:
    seed(store)
    _deploy(store, "v1.4.0")
    started = _deploy(store, "v1.5.0")
    assert started.rollout is not None
    _promote(store, started.rollout.id)
    with store.transaction("alice") as tx:
        result = rollback_release(tx, "production", reason="checkout errors")
    assert (result.from_release.version, result.to_release.version) == ("v1.5.0", "v1.4.0")
    assert result.aborted_rollout is None
    assert _split(store) == {"v1.4.0": 10_000}
    with store.reading() as tx:
        history = tx.releases.list_releases(environment="production")
        audit = tx.audit.list_audit(action="release.rollback")
        outbox = tx.outbox.list_outbox()
    assert [(r.version, r.outcome) for r in history] == [
        ("v1.5.0", ReleaseOutcome.ROLLED_BACK),
        ("v1.4.0", ReleaseOutcome.PROMOTED),
    ]
    assert len(audit) == 1
    assert audit[0].actor == "alice"
    assert audit[0].after is not None
    assert audit[0].after["reason"] == "checkout errors"
    rollback_rows = [row for row in outbox if row.kind == "release.rollback"]
    assert [row.channel for row in rollback_rows] == ["all"]
    assert "v1.5.0" in rollback_rows[0].notification["title"]


def test_rollback_during_a_rollout_aborts_it_first(store: Store) -> None:
    seed(store)
    _deploy(store, "v1.4.0")
    second = _deploy(store, "v1.5.0").rollout
    assert second is not None
    _promote(store, second.id)
    started = _deploy(store, "v1.6.0")
    assert started.rollout is not None
    assert _split(store) == {"v1.5.0": 9_000, "v1.6.0": 1_000}
    with store.transaction("alice") as tx:
        result = rollback_release(tx, "production", FLAG)
    assert result.aborted_rollout is not None
    assert result.aborted_rollout.phase is RolloutPhase.ABORTED
    assert (result.from_release.version, result.to_release.version) == ("v1.6.0", "v1.5.0")
    assert _split(store) == {"v1.5.0": 10_000}
    # and once more: back to the release before that
    with store.transaction("alice") as tx:
        again = rollback_release(tx, "production")
    assert (again.from_release.version, again.to_release.version) == ("v1.5.0", "v1.4.0")
    assert _split(store) == {"v1.4.0": 10_000}


def test_rollback_needs_an_earlier_good_release(store: Store) -> None:
    seed(store)
    with store.transaction("alice") as tx, pytest.raises(NotFoundError):
        rollback_release(tx, "production")
    _deploy(store, "v1.4.0")
    with store.transaction("alice") as tx, pytest.raises(ConflictError, match="no earlier"):
        rollback_release(tx, "production")


def test_a_release_spec_cannot_rename_what_the_release_sets(store: Store) -> None:
    seed(store)
    _deploy(store, "v1.4.0")
    with store.transaction("ci") as tx, pytest.raises(ConfigError, match=r"rollout\.variant"):
        record_release(tx, "production", FLAG, "v1.5.0", rollout={"variant": "x"})


def test_a_second_release_while_one_rolls_out_is_a_conflict(store: Store) -> None:
    seed(store)
    _deploy(store, "v1.4.0")
    _deploy(store, "v1.5.0")
    with pytest.raises(ConflictError):
        _deploy(store, "v1.6.0")
    with store.reading() as tx:  # nothing of the refused release was kept
        assert [r.version for r in tx.releases.list_releases(environment="production")] == [
            "v1.5.0",
            "v1.4.0",
        ]
        assert "v1.6.0" not in tx.flags.get(FLAG).variants


def test_a_blue_green_release_switches_at_once_and_a_rollback_switches_back(
    store: Store,
) -> None:
    seed(store)
    _deploy(store, "v1.4.0")
    blue_green = {
        "strategy": {"type": "blue_green", "verify": "30m"},
        "gates": [{"metric": "error_rate", "max": 0.02}],
    }
    with store.transaction("ci") as tx:
        started = record_release(tx, "production", FLAG, "v1.5.0", rollout=blue_green)
    assert started.rollout is not None
    assert started.rollout.spec.strategy.type == "blue_green"
    assert _split(store) == {"v1.5.0": 10_000}
    with store.transaction("alice") as tx:
        result = rollback_release(tx, "production")
    assert result.aborted_rollout is not None
    assert _split(store) == {"v1.4.0": 10_000}
