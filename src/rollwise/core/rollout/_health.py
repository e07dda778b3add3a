"""The health-check gate: the candidate answers healthy before it receives any traffic.

A spec with ``health_check`` does not shift traffic when it starts: the rollout stays
``pending`` with its clock started (``is_verifying`` in ``_state.py``), and the controller
probes the candidate's URL once per ``interval``. ``successes`` consecutive healthy answers start
step 1 (the first split, or blue-green's switch); an unhealthy answer resets the count;
the ``deadline`` passing without enough of them aborts the rollout — nothing was shifted,
so there is nothing to roll back — with every probe in the evidence.

Pure: the controller probes (``rollwise.controller._health``) and hands the answers here.
The count lives in the rollout's latest judgement (:meth:`HealthProgress.from_evidence`),
so a restarted or new leader carries on where the last one stopped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ...errors import issues_error
from ..durations import Duration, format_duration
from ._phases import RolloutAction

__all__ = [
    "HEALTH_EVIDENCE",
    "HealthCheck",
    "HealthDecision",
    "HealthProbe",
    "HealthProgress",
    "health_decision",
    "probe_due",
]

HEALTH_EVIDENCE = "health_check"
"""The key of a judgement's (and a transition's) evidence that holds the probes."""

_KEPT_PROBES = 20
"""Probes kept in the evidence: enough to read a flapping candidate, bounded per row."""

_STATUS = re.compile(r"^[1-5](?:[0-9]{2}|xx)$")


class HealthCheck(BaseModel):
    """Probe ``url`` until it answers ``expect_status`` ``successes`` times in a row.

    One probe per ``interval``, each given ``timeout``; the check fails once ``deadline``
    has passed since the rollout started without enough consecutive healthy answers.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: Annotated[str, Field(min_length=1, max_length=2000)]
    successes: Annotated[int, Field(ge=1, le=100)] = 3
    interval: Annotated[Duration, Field(gt=0, le=3600)] = 5.0
    timeout: Annotated[Duration, Field(gt=0, le=30)] = 2.0
    deadline: Annotated[Duration, Field(gt=0, le=86_400)] = 300.0
    expect_status: list[str] = Field(default_factory=lambda: ["2xx"])
    """Healthy answers: codes (``200``) or classes (``2xx``); one value or a list."""

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL with a host")
        return value

    @field_validator("expect_status", mode="before")
    @classmethod
    def _statuses(cls, value: Any) -> Any:
        items = value if isinstance(value, list) else [value]
        out: list[Any] = []
        for item in items:
            if isinstance(item, bool):
                raise ValueError("a status is a code (200) or a class (2xx)")
            text = str(item).strip().lower() if isinstance(item, (int, str)) else item
            if not isinstance(text, str) or not _STATUS.match(text):
                raise ValueError(f"{item!r} is not a status code (200) or class (2xx)")
            out.append(text)
        if not out:
            raise ValueError("name at least one healthy status (e.g. 2xx)")
        return out

    @model_validator(mode="after")
    def _fits_the_deadline(self) -> Self:
        issues: list[tuple[str, str]] = []
        if self.timeout > self.interval:
            issues.append(
                (
                    "timeout",
                    f"{format_duration(self.timeout)} is longer than the interval "
                    f"({format_duration(self.interval)}): a probe must end before the next",
                )
            )
        needed = (self.successes - 1) * self.interval
        if needed >= self.deadline:
            issues.append(
                (
                    "deadline",
                    f"{format_duration(self.deadline)} is too short for {self.successes} "
                    f"healthy answers {format_duration(self.interval)} apart (they take "
                    f"{format_duration(needed)}): the check could never pass",
                )
            )
        if issues:
            raise issues_error(issues)
        return self

    def healthy(self, status: int) -> bool:
        """Whether an HTTP status is one of ``expect_status``."""
        code = str(status)
        return any(
            code == want or (want.endswith("xx") and code[:1] == want[:1] and len(code) == 3)
            for want in self.expect_status
        )


@dataclass(frozen=True, slots=True)
class HealthProbe:
    """One probe's answer: the status (None: no answer) or the error, and how long it took."""

    at: datetime
    healthy: bool
    status: int | None = None
    error: str | None = None
    seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "healthy": self.healthy,
            "status": self.status,
            "error": self.error,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HealthProbe | None:
        try:
            at = datetime.fromisoformat(str(data["at"]))
        except (KeyError, ValueError):
            return None
        status = data.get("status")
        seconds = data.get("seconds")
        return cls(
            at=at,
            healthy=bool(data.get("healthy")),
            status=status if isinstance(status, int) and not isinstance(status, bool) else None,
            error=str(data["error"]) if data.get("error") is not None else None,
            seconds=float(seconds) if isinstance(seconds, (int, float)) else None,
        )

    def describe(self) -> str:
        if self.error is not None:
            return self.error
        return f"HTTP {self.status}"


@dataclass(frozen=True, slots=True)
class HealthProgress:
    """The count so far: consecutive healthy answers, totals, and the latest probes."""

    consecutive: int = 0
    probes: tuple[HealthProbe, ...] = field(default_factory=tuple)
    total: int = 0
    failures: int = 0

    @property
    def last_probe_at(self) -> datetime | None:
        return self.probes[-1].at if self.probes else None

    def after(self, probe: HealthProbe) -> HealthProgress:
        """The count with ``probe`` added: one more, or back to 0 on an unhealthy answer."""
        return HealthProgress(
            consecutive=self.consecutive + 1 if probe.healthy else 0,
            probes=(*self.probes, probe)[-_KEPT_PROBES:],
            total=self.total + 1,
            failures=self.failures + (0 if probe.healthy else 1),
        )

    def evidence(self, check: HealthCheck, started_at: datetime) -> dict[str, Any]:
        """The count as stored evidence (``health_check``), read back by :meth:`from_evidence`."""
        return {
            "url": check.url,
            "required": check.successes,
            "consecutive": self.consecutive,
            "probes_total": self.total,
            "failures_total": self.failures,
            "started_at": started_at.isoformat(),
            "deadline": (started_at + timedelta(seconds=check.deadline)).isoformat(),
            "probes": [probe.to_dict() for probe in self.probes],
        }

    @classmethod
    def from_evidence(cls, evidence: Mapping[str, Any] | None) -> HealthProgress:
        """The count an earlier look kept (an empty count when there is none)."""
        data = (evidence or {}).get(HEALTH_EVIDENCE)
        if not isinstance(data, Mapping):
            return cls()
        raw = data.get("probes")
        probes = tuple(
            probe
            for item in (raw if isinstance(raw, list) else [])
            if isinstance(item, Mapping) and (probe := HealthProbe.from_dict(item)) is not None
        )

        def count(key: str) -> int:
            value = data.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else 0

        return cls(count("consecutive"), probes, count("probes_total"), count("failures_total"))


@dataclass(frozen=True, slots=True)
class HealthDecision:
    """What the controller does after a look: ``start`` step 1, ``hold``, or ``abort``."""

    action: RolloutAction
    reason: str
    progress: HealthProgress
    verdict: str
    """``pass`` (healthy enough), ``fail`` (the deadline passed) or ``hold``."""


def probe_due(check: HealthCheck, progress: HealthProgress, now: datetime) -> bool:
    """Whether ``interval`` has passed since the last probe (or none was made)."""
    last = progress.last_probe_at
    return last is None or now >= last + timedelta(seconds=check.interval)


def health_decision(
    check: HealthCheck,
    progress: HealthProgress,
    probe: HealthProbe | None,
    *,
    started_at: datetime,
    now: datetime,
) -> HealthDecision:
    """Count ``probe`` (None: none was due) and decide: enough consecutive healthy answers
    start step 1; otherwise hold until the deadline, then abort."""
    counted = progress.after(probe) if probe is not None else progress
    where = check.url
    tally = f"{counted.consecutive}/{check.successes} healthy answers in a row"
    if counted.consecutive >= check.successes:
        return HealthDecision(
            RolloutAction.START,
            f"candidate healthy: {tally} from {where}; starting step 1",
            counted,
            "pass",
        )
    deadline = started_at + timedelta(seconds=check.deadline)
    last = f"; last: {counted.probes[-1].describe()}" if counted.probes else ""
    if now >= deadline:
        return HealthDecision(
            RolloutAction.ABORT,
            f"candidate not healthy within {format_duration(check.deadline)}: {tally} from "
            f"{where} ({counted.failures} of {counted.total} probes failed{last}); no traffic "
            "was shifted",
            counted,
            "fail",
        )
    return HealthDecision(
        RolloutAction.HOLD,
        f"verifying candidate health: {tally} from {where}{last}",
        counted,
        "hold",
    )
