"""The notifier contract: what a notification carries, how it is sent, how sending fails.

A :class:`Notification` is written to the outbox as JSON (``to_dict``) and read back
(``from_dict``) before each delivery attempt, so it holds plain data only. Its ``id`` is the
outbox row's key and travels with every delivery (``X-Rollwise-Event-Id`` header, e-mail
``Message-ID``): a receiver that sees the same id twice is seeing a retry, not a new event.

A :class:`Notifier` either delivers or raises :class:`NotificationError`, whose
``retryable`` flag tells the dispatcher whether to try again later (timeouts, refused
connections, 5xx, 429, SMTP 4xx) or give up (other 4xx, rejected addresses, bad
credentials).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Protocol, Self
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, JsonValue, field_validator

from ..errors import RollwiseError

__all__ = [
    "Kind",
    "Notification",
    "NotificationError",
    "Notifier",
    "Severity",
    "Subject",
]

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


class Notification(BaseModel):
    """One event worth telling people about, as plain JSON-friendly data.

    ``fields`` keeps its insertion order (step, share, phase from/to, gate verdicts, ...),
    and every backend renders it in that order. ``evidence`` is the full JSON the decision
    was made on; webhooks and e-mail carry it, chat messages leave it out.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, BeforeValidator(_identifier)]
    kind: str
    severity: Severity
    title: str = Field(max_length=250)
    summary: str = Field(default="", max_length=10_000)
    subject: Subject = Subject()
    occurred_at: datetime
    fields: Mapping[str, JsonValue] = Field(default_factory=dict)
    evidence: JsonValue = None
    links: Mapping[str, str] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(
                "must be 1 to 128 letters, digits, '-' or '_' (an outbox row id or a UUID)"
            )
        return value

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

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: what the outbox stores and what a webhook receives."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Read back what ``to_dict`` wrote (pydantic's ValidationError if it is not that)."""
        return cls.model_validate(data)


class Notifier(Protocol):
    """Delivers notifications to one channel. Implementations must be thread-safe."""

    def send(self, notification: Notification) -> None:
        """Deliver once, or raise :class:`NotificationError`. Never retries by itself."""
        ...

    def close(self) -> None:
        """Release connections; the notifier must not be used afterwards."""
        ...


class NotificationError(RollwiseError):
    """A delivery failed. ``retryable`` says whether trying again later can succeed.

    ``retry_after`` (seconds) is the receiver's own hint (HTTP ``Retry-After``), when it
    gave one; ``status`` is the HTTP status or SMTP reply code, when there was one.
    """

    code = "notification_failed"

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        channel: str | None = None,
        notification_id: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        **details: Any,
    ) -> None:
        super().__init__(
            message,
            retryable=retryable,
            channel=channel,
            notification_id=notification_id,
            status=status,
            retry_after=retry_after,
            **details,
        )
        self.retryable = retryable
        self.channel = channel
        self.notification_id = notification_id
        self.status = status
        self.retry_after = retry_after
