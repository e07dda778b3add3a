"""``rollwise doctor``: is what runs what the control plane says?

The state machine keeps the database consistent; what can still disagree is the fleet
and the machinery around it. Each check (:mod:`.checks`) reads the store and yields
findings — what disagrees, with the numbers, and the fix. :func:`run_doctor` runs them
all; the API serves the report at ``GET /api/v1/monitoring/doctor`` and the CLI prints it.
Every finding is described in docs/doctor.md.
"""

from __future__ import annotations

from .checks import ENVIRONMENT_CHECKS, GLOBAL_CHECKS, DoctorCheck
from .context import Check, DoctorContext, DoctorPolicy
from .findings import DoctorReport, Finding, Severity
from .run import run_doctor

__all__ = [
    "ENVIRONMENT_CHECKS",
    "GLOBAL_CHECKS",
    "Check",
    "DoctorCheck",
    "DoctorContext",
    "DoctorPolicy",
    "DoctorReport",
    "Finding",
    "Severity",
    "run_doctor",
]
