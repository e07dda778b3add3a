"""One doctor run: every check over every environment asked for, into one report."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ...store import Store
from .checks import ENVIRONMENT_CHECKS, GLOBAL_CHECKS, DoctorCheck
from .context import DoctorContext, DoctorPolicy
from .findings import DoctorReport, Finding, Severity

__all__ = ["run_doctor"]

_logger = logging.getLogger("rollwise.doctor")


def run_doctor(
    store: Store,
    environment: str | None = None,
    *,
    policy: DoctorPolicy | None = None,
    local_leader: bool | None = None,
    environment_checks: Sequence[DoctorCheck] = ENVIRONMENT_CHECKS,
    global_checks: Sequence[DoctorCheck] = GLOBAL_CHECKS,
) -> DoctorReport:
    """Run the checks on ``environment`` (every environment when None).

    An unknown environment raises ``NotFoundError``. A check that fails (the database
    behind on migrations, say) is a ``doctor.check_failed`` finding, never an exception:
    the other checks still run.
    """
    chosen = policy or DoctorPolicy()
    now = store.now()
    with store.reading() as tx:
        if environment is not None:
            keys = [tx.environments.get(environment).key]
        else:
            keys = [record.key for record in tx.environments.list_environments()]
    findings: list[Finding] = []

    def run(check: DoctorCheck, key: str | None) -> None:
        context = DoctorContext(store, key, now, chosen, local_leader)
        try:
            findings.extend(check.run(context))
        except Exception as error:  # one broken check must not hide the others' findings
            _logger.warning("rollwise: doctor check %s failed", check.name, exc_info=True)
            findings.append(_failed(check, key, error))

    for check in global_checks:
        run(check, None)
    for key in keys:
        for check in environment_checks:
            run(check, key)
    return DoctorReport(
        status="problems" if findings else "healthy",
        checked_at=now,
        environments=keys,
        checks=[c.name for c in (*global_checks, *environment_checks)],
        findings=findings,
    )


def _failed(check: DoctorCheck, environment: str | None, error: Exception) -> Finding:
    text = str(error).splitlines()[0][:300] if str(error) else ""
    return Finding(
        code="doctor.check_failed",
        severity=Severity.WARNING,
        environment=environment,
        subject=f"check {check.name}",
        message=f"the check {check.name} could not run: {type(error).__name__}: {text}",
        fix=(
            "Look at the control plane's log (logger rollwise.doctor); when the database is "
            "behind on migrations, upgrade it first (see database.migrations_behind)."
        ),
        details={"check": check.name},
    )
