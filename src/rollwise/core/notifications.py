"""What a notification carries, how urgent it is, and which channels want it. Pure values.

A :class:`NotificationContent` is an event worth telling people about, as plain JSON-friendly
data; a :class:`Notification` is that content with the ``id`` of its outbox row, the same on
every delivery attempt, so a receiver that sees an id twice is seeing a retry. The store
writes ``Notification.to_dict()`` to the outbox and the dispatcher reads it back with
``Notification.from_dict``.

:class:`ChannelFilter` is the one rule that decides whether a channel wants a notification
(kind patterns, minimum severity): the notifiers' channel configs and the store's outbox
both apply it. :func:`rollout_notification` builds the ``rollout.transition`` content from a
rollout's spec and one history row (the alert notifications are in ``core.alerts``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Annotated, Any, Self
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, JsonValue, field_validator

from .flags import BUCKETS
from .rollout import RolloutPhase, RolloutSpec, TransitionRecord

__all__ = [
    "SUMMARY_LIMIT",
    "TITLE_LIMIT",
    "ChannelFilter",
    "Kind",
    "Notification",
    "NotificationContent",
    "Severity",
    "Subject",
    "cut",
    "instant",
    "rollout_notification",
]

TITLE_LIMIT = 250
SUMMARY_LIMIT = 10_000
_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)


class Severity(StrEnum):
    """How urgent a notification is; channels can drop what is below their ``min_severity``."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class Kind(StrEnum):
    """The kinds rollwise emits. ``Notification.kind`` accepts any dotted lowercase name."""

    ROLLOUT_TRANSITION = "rollout.transition"
    ALERT_FIRING = "alert.firing"
    ALERT_RESOLVED = "alert.resolved"
    EXPERIMENT_STOPPED = "experiment.stopped"
    RELEASE_ROLLBACK = "release.rollback"
    TEST = "rollwise.test"


@dataclass(frozen=True, slots=True)
class ChannelFilter:
    """Which notifications a channel wants: ``kinds`` are shell-style patterns over the
    kind (``alert.*``), ``min_severity`` drops what is less urgent."""

    min_severity: Severity = Severity.INFO
    kinds: tuple[str, ...] = ("*",)

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> Self:
        """The filter of a stored (validated) channel config."""
        kinds: Iterable[Any] = config.get("kinds") or ("*",)
        return cls(Severity(config.get("min_severity", "info")), tuple(str(k) for k in kinds))

    def accepts(self, kind: str, severity: Severity | str) -> bool:
        if Severity(severity).rank < self.min_severity.rank:
            return False
        return any(fnmatchcase(kind, pattern) for pattern in self.kinds)


def _identifier(value: object) -> object:
    """Outbox keys may be integers or UUIDs; a notification always carries them as text."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | UUID):
        return str(value)
    return value


Identifier = Annotated[str, BeforeValidator(_identifier), Field(min_length=1, max_length=200)]


class Subject(BaseModel):
    """What the notification is about: a flag in an environment, a rollout, an alert rule."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    flag: str | None = None
    environment: str | None = None
    rollout: Identifier | None = None
    alert_rule: Identifier | None = None

    def parts(self) -> list[tuple[str, str]]:
        """The set parts, in a fixed order, for rendering."""
        named = (
            ("flag", self.flag),
            ("environment", self.environment),
            ("rollout", self.rollout),
            ("alert rule", self.alert_rule),
        )
        return [(label, value) for label, value in named if value is not None]

    def __str__(self) -> str:
        return " · ".join(f"{label} {value}" for label, value in self.parts())


class NotificationContent(BaseModel):
    """One event worth telling people about, before the outbox gives it an id.

    ``fields`` keeps its insertion order (step, share, phase from/to, gate verdicts, ...),
    and every backend renders it in that order. ``evidence`` is the full JSON the decision
    was made on; webhooks and e-mail carry it, chat messages leave it out.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    severity: Severity
    title: str = Field(max_length=TITLE_LIMIT)
    summary: str = Field(default="", max_length=SUMMARY_LIMIT)
    subject: Subject = Subject()
    occurred_at: datetime
    fields: Mapping[str, JsonValue] = Field(default_factory=dict)
    evidence: JsonValue = None
    links: Mapping[str, str] = Field(default_factory=dict)

    @field_validator("kind")
    @classmethod
    def _check_kind(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+", value):
            raise ValueError("must be a dotted lowercase name such as 'alert.firing'")
        return value

    @field_validator("title")
    @classmethod
    def _check_title(cls, value: str) -> str:
        single_line = " ".join(value.split())
        if not single_line:
            raise ValueError("must not be empty")
        return single_line

    @field_validator("occurred_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        # Naive instants are taken as UTC, as everywhere else in rollwise.
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @field_validator("fields")
    @classmethod
    def _check_fields(cls, value: Mapping[str, JsonValue]) -> Mapping[str, JsonValue]:
        for key in value:
            if not key.strip():
                raise ValueError("field names must not be empty")
        return value

    @field_validator("links")
    @classmethod
    def _check_links(cls, value: Mapping[str, str]) -> Mapping[str, str]:
        for label, url in value.items():
            if not label.strip():
                raise ValueError("link labels must not be empty")
            if not _URL.match(url):
                raise ValueError(f"link {label!r} must be an http(s) URL, got {url!r}")
        return value

    def with_id(self, notification_id: str) -> Notification:
        """This content as the notification of one outbox row."""
        return Notification.model_validate({**self.model_dump(), "id": notification_id})


class Notification(NotificationContent):
    """A notification as delivered: its content and its outbox row's ``id``."""

    id: Annotated[str, BeforeValidator(_identifier)]

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(
                "must be 1 to 128 letters, digits, '-' or '_' (an outbox row id or a UUID)"
            )
        return value

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: what the outbox stores and what a webhook receives."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Read back what ``to_dict`` wrote (pydantic's ValidationError if it is not that)."""
        return cls.model_validate(data)


def cut(text: str, limit: int) -> str:
    """``text`` on one line, at most ``limit`` characters (an ellipsis marks a cut)."""
    single = " ".join(text.split())
    return single if len(single) <= limit else single[: limit - 1] + "…"


def instant(moment: datetime) -> str:
    """An instant as notifications show it: ISO 8601 in UTC with a ``Z``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _percent(share: int) -> str:
    return f"{share * 100 / BUCKETS:g}%"


def _severity(record: TransitionRecord) -> Severity:
    if record.to_phase is RolloutPhase.ROLLED_BACK:
        return Severity.CRITICAL
    if record.to_phase in (RolloutPhase.PAUSED, RolloutPhase.ABORTED):
        return Severity.WARNING
    return Severity.INFO


def _headline(spec: RolloutSpec, record: TransitionRecord) -> str:
    flag, canary, where = spec.flag, spec.variant, f"in {spec.environment}"
    share = _percent(record.to_share)
    phase = record.to_phase
    if phase is RolloutPhase.SUCCEEDED:
        return f"{flag}: {canary} rolled out to 100% {where}"
    if phase is RolloutPhase.ROLLED_BACK:
        return f"{flag}: {canary} rolled back {where}"
    if phase is RolloutPhase.ABORTED:
        return f"{flag}: rollout of {canary} aborted {where}"
    if phase is RolloutPhase.PAUSED:
        return f"{flag}: rollout of {canary} paused at {share} {where}"
    verb = {"start": "started", "retry": "retried", "resume": "resumed"}.get(record.action.value)
    if verb is not None:
        return f"{flag}: rollout of {canary} {verb} at {share} {where}"
    return f"{flag}: {canary} at {share} {where}"


def _gate_fields(evidence: Mapping[str, Any] | None) -> dict[str, str]:
    """``gate <key>: <verdict> — <reason>`` for each gate the evidence reports."""
    if not evidence:
        return {}
    gates = evidence.get("gates")
    items: list[Mapping[str, Any]] = []
    if isinstance(gates, list):
        items = [g for g in gates if isinstance(g, Mapping)]
    elif isinstance(gates, Mapping):
        items = [
            {"gate": key, **value}
            if isinstance(value, Mapping)
            else {"gate": key, "verdict": value}
            for key, value in gates.items()
        ]
    fields: dict[str, str] = {}
    for gate in items:
        key = gate.get("gate") or gate.get("name") or gate.get("metric")
        verdict = gate.get("verdict")
        if key is None or verdict is None:
            continue
        reason = gate.get("reason")
        text = f"{verdict} — {reason}" if reason else str(verdict)
        fields[f"gate {key}"] = cut(text, 500)
    return fields


def rollout_notification(
    rollout_id: int, spec: RolloutSpec, record: TransitionRecord, actor: str
) -> NotificationContent:
    """The ``rollout.transition`` notification of one history row of rollout ``rollout_id``
    (``spec`` checked: its baseline resolved)."""
    fields: dict[str, Any] = {
        "phase": f"{record.from_phase.value} → {record.to_phase.value}",
        "step": f"{record.to_step + 1} of {len(spec.steps)}",
        "share": f"{_percent(record.from_share)} → {_percent(record.to_share)}",
        "action": record.action.value,
        "actor": actor,
        "attempt": record.attempt,
        "variant": f"{spec.variant} (baseline {spec.baseline or ''})",
    }
    fields.update(_gate_fields(record.evidence))
    return NotificationContent(
        kind=Kind.ROLLOUT_TRANSITION.value,
        severity=_severity(record),
        title=cut(_headline(spec, record), TITLE_LIMIT),
        summary=cut(record.reason, SUMMARY_LIMIT),
        subject=Subject(flag=spec.flag, environment=spec.environment, rollout=str(rollout_id)),
        occurred_at=record.at,
        fields=fields,
        evidence=record.evidence,
    )
