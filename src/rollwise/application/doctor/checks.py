"""The doctor's checks, in the order their findings are listed; add one by appending it.

A check is a function of a :class:`~.context.DoctorContext` yielding
:class:`~.findings.Finding` s. ``ENVIRONMENT_CHECKS`` run once per environment (the
context names it), ``GLOBAL_CHECKS`` once per run (the context's environment is None).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import fleet, platform, rollouts
from .context import Check

__all__ = ["ENVIRONMENT_CHECKS", "GLOBAL_CHECKS", "DoctorCheck"]


@dataclass(frozen=True, slots=True)
class DoctorCheck:
    name: str
    run: Check


ENVIRONMENT_CHECKS: tuple[DoctorCheck, ...] = (
    DoctorCheck("stale_revision", fleet.stale_revision),
    DoctorCheck("silent_instances", fleet.silent_instances),
    DoctorCheck("routers_behind", fleet.routers_behind),
    DoctorCheck("split_matches_share", rollouts.split_matches_share),
    DoctorCheck("step_overdue", rollouts.step_overdue),
    DoctorCheck("telemetry_gap", rollouts.telemetry_gap),
)

GLOBAL_CHECKS: tuple[DoctorCheck, ...] = (
    DoctorCheck("migrations_current", platform.migrations_current),
    DoctorCheck("leader_held", platform.leader_held),
    DoctorCheck("outbox_stuck", platform.outbox_stuck),
    DoctorCheck("outbox_dead", platform.outbox_dead),
)
