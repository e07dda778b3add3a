"""What every channel config has in common, and the checks the backends share."""

from __future__ import annotations

import re
from typing import Annotated

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..core.notifications import ChannelFilter, Notification, Severity

__all__ = [
    "ChannelConfigBase",
    "Timeout",
    "check_header_value",
    "check_http_url",
]

Timeout = Annotated[float, Field(gt=0, le=300, description="seconds for one delivery attempt")]

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class ChannelConfigBase(BaseModel):
    """A named channel: where to send, and which notifications it wants.

    ``kinds`` are shell-style patterns over ``Notification.kind`` (``alert.*``);
    ``min_severity`` drops what is less urgent. Subclasses fix ``type`` to a literal.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    type: str
    name: str = Field(pattern=_NAME)
    min_severity: Severity = Severity.INFO
    kinds: tuple[str, ...] = ("*",)

    @field_validator("kinds")
    @classmethod
    def _check_kinds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("must list at least one pattern (use '*' for every kind)")
        for pattern in value:
            if not pattern.strip():
                raise ValueError("patterns must not be empty")
        return value

    def accepts(self, notification: Notification) -> bool:
        """Whether this channel wants ``notification`` (kind pattern and severity): the
        rule of :class:`~rollwise.core.notifications.ChannelFilter`, which the outbox
        applies to stored configs too."""
        return self.filter.accepts(notification.kind, notification.severity)

    @property
    def filter(self) -> ChannelFilter:
        return ChannelFilter(self.min_severity, self.kinds)


def check_http_url(value: str) -> str:
    """An absolute http(s) URL with a host, or a ValueError saying what is wrong."""
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as error:
        raise ValueError(f"not a valid URL ({error})") from None
    if url.scheme not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    if not url.host:
        raise ValueError("must name a host")
    return value


def check_header_value(name: str, value: str) -> None:
    if not _HEADER_NAME.match(name):
        raise ValueError(f"{name!r} is not a valid HTTP header name")
    if "\r" in value or "\n" in value:
        raise ValueError(f"the value of header {name!r} must not contain line breaks")
    if not (value.isascii() and value.isprintable()):
        raise ValueError(f"the value of header {name!r} must be printable ASCII")
