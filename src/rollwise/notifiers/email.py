"""E-mail over SMTP (stdlib ``smtplib``): a plain-text part and a simple HTML part.

``security`` is ``starttls`` (default; port 587; the server must offer STARTTLS),
``ssl`` (implicit TLS; port 465) or ``none`` (port 25; for a relay on a trusted network).
Certificates are verified against the system store, or against ``ca_file``. ``username``
and ``password`` log in after TLS is up.

``Message-ID`` is ``<rollwise.{notification id}@{sender's domain}>``: a retried delivery
carries the same id, so mail systems and people can recognise the duplicate. Every mail is
marked ``Auto-Submitted: auto-generated`` (no auto-replies) and carries
``X-Rollwise-Event-Id`` and ``X-Rollwise-Event-Kind``. One connection per notification:
notifications are rare, and a fresh connection cannot be half-broken.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from ..errors import ConfigError
from ._config import ChannelConfigBase, Timeout
from ._html import html_body
from ._render import headline, plain_text
from ._smtp import classify_smtp_error
from .base import Notification, NotificationError

__all__ = ["EmailConfig", "EmailNotifier", "build_message", "message_id"]

DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


def _check_address(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("an address must not contain line breaks")
    found = getaddresses([value])
    if len(found) != 1:
        raise ValueError(f"{value!r}: give one address per entry")
    _, address = found[0]
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in address):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


def _address(value: str) -> str:
    """The bare address of ``Name <a@b.example>``, for the SMTP envelope."""
    return parseaddr(value)[1]


class EmailConfig(ChannelConfigBase):
    """``type: email``: an SMTP server, a sender (``from``) and recipients (``to``)."""

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True)

    type: Literal["email"] = "email"
    host: str = Field(min_length=1, pattern=r"^[^\s/]+$")
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    sender: str = Field(alias="from")
    to: tuple[str, ...] = Field(min_length=1)
    username: str | None = None
    password: SecretStr | None = None
    ca_file: Path | None = None
    subject_prefix: str = Field(default="[rollwise]", max_length=50)
    local_hostname: str | None = None
    timeout: Timeout = 30.0

    @field_validator("sender")
    @classmethod
    def _check_sender(cls, value: str) -> str:
        return _check_address(value)

    @field_validator("to")
    @classmethod
    def _check_recipients(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            _check_address(item)
        return value

    @field_validator("ca_file")
    @classmethod
    def _check_ca_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{str(value)!r} is not a readable file")
        return value

    @field_validator("subject_prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        if "\r" in value or "\n" in value:
            raise ValueError("must not contain line breaks")
        return value

    @model_validator(mode="after")
    def _check_login(self) -> Self:
        if (self.username is None) != (self.password is None):
            raise ValueError("give both 'username' and 'password', or neither")
        if self.username is not None and self.security == "none":
            raise ValueError("logging in needs security 'starttls' or 'ssl'")
        return self

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else DEFAULT_PORTS[self.security]


def message_id(notification: Notification, config: EmailConfig) -> str:
    domain = _address(config.sender).rpartition("@")[2]
    return f"<rollwise.{notification.id}@{domain}>"


def build_message(notification: Notification, config: EmailConfig, now: datetime) -> EmailMessage:
    """The e-mail for ``notification``: headers, a text part and an HTML alternative."""
    message = EmailMessage()
    subject = headline(notification)
    if config.subject_prefix:
        subject = f"{config.subject_prefix} {subject}"
    message["Subject"] = subject
    message["From"] = config.sender
    message["To"] = ", ".join(config.to)
    message["Date"] = format_datetime(now.astimezone(UTC))
    message["Message-ID"] = message_id(notification, config)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Rollwise-Event-Id"] = notification.id
    message["X-Rollwise-Event-Kind"] = notification.kind
    message.set_content(plain_text(notification))
    message.add_alternative(html_body(notification), subtype="html")
    return message


def _ssl_context(config: EmailConfig) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(
            cafile=str(config.ca_file) if config.ca_file is not None else None
        )
    except (OSError, ssl.SSLError) as error:
        raise ConfigError.single(None, "ca_file", f"cannot load certificates: {error}") from None


class EmailNotifier:
    """Sends each notification as one e-mail to every recipient. Thread-safe."""

    def __init__(
        self,
        config: EmailConfig,
        *,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self._clock = clock
        self._ssl_context = ssl_context
        if ssl_context is None and config.security != "none":
            self._ssl_context = _ssl_context(config)

    def send(self, notification: Notification) -> None:
        message = build_message(notification, self.config, self._clock())
        config = self.config
        recipients = [_address(item) for item in config.to]
        try:
            smtp = self._connect()
            try:
                self._prepare(smtp)
                refused = smtp.send_message(
                    message, from_addr=_address(config.sender), to_addrs=recipients
                )
            finally:
                _quit(smtp)
        except (smtplib.SMTPException, OSError) as error:
            retryable, reason, code = classify_smtp_error(error)
            raise self._error(notification, reason, retryable=retryable, status=code) from error
        if refused:
            # Delivered to the others: a retry would send them a duplicate, so give up here.
            listed = "; ".join(
                f"{rcpt}: {code} {text.decode('utf-8', 'replace')}"
                for rcpt, (code, text) in refused.items()
            )
            raise self._error(
                notification,
                f"delivered to {len(recipients) - len(refused)} of {len(recipients)} "
                f"recipients; refused: {listed}",
                retryable=False,
                refused=sorted(refused),
            )

    def close(self) -> None:
        """Nothing to release: each send opens and closes its own connection."""

    def __enter__(self) -> EmailNotifier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        port = config.effective_port
        if config.security == "ssl":
            return smtplib.SMTP_SSL(
                config.host,
                port,
                local_hostname=config.local_hostname,
                timeout=config.timeout,
                context=self._ssl_context,
            )
        return smtplib.SMTP(
            config.host, port, local_hostname=config.local_hostname, timeout=config.timeout
        )

    def _prepare(self, smtp: smtplib.SMTP) -> None:
        config = self.config
        smtp.ehlo()
        if config.security == "starttls":
            smtp.starttls(context=self._ssl_context)
            smtp.ehlo()
        if config.username is not None and config.password is not None:
            smtp.login(config.username, config.password.get_secret_value())

    def _error(
        self,
        notification: Notification,
        reason: str,
        *,
        retryable: bool,
        status: int | None = None,
        **details: Any,
    ) -> NotificationError:
        where = f"{self.config.host}:{self.config.effective_port}"
        return NotificationError(
            f"{self.config.name}: SMTP {where}: {reason}",
            retryable=retryable,
            channel=self.config.name,
            notification_id=notification.id,
            status=status,
            receiver=where,
            **details,
        )


def _quit(smtp: smtplib.SMTP) -> None:
    """End the session; a failure here cannot undo a delivery that already happened."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
