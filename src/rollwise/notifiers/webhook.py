"""Generic webhook: the notification as a JSON POST, optionally signed.

The body is ``{"schema_version": 1, **notification.to_dict()}``, UTF-8 JSON. Every request
carries ``X-Rollwise-Event-Id`` (the notification id: the same on every retry, so the
receiver can drop duplicates) and ``X-Rollwise-Event-Kind``. With a ``secret``,
``X-Rollwise-Signature: sha256=<hex>`` is the HMAC-SHA256 of the exact body bytes under
that secret; receivers check it with :func:`verify_signature` (or the same three lines in
any language) before trusting the body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Literal

from pydantic import SecretStr, field_validator

from ._config import ChannelConfigBase, Timeout, check_header_value, check_http_url
from ._http import HttpNotifier
from .base import Notification

__all__ = [
    "EVENT_ID_HEADER",
    "EVENT_KIND_HEADER",
    "SCHEMA_VERSION",
    "SIGNATURE_HEADER",
    "WebhookConfig",
    "WebhookNotifier",
    "encode_body",
    "sign_body",
    "verify_signature",
]

SCHEMA_VERSION = 1
EVENT_ID_HEADER = "X-Rollwise-Event-Id"
EVENT_KIND_HEADER = "X-Rollwise-Event-Kind"
SIGNATURE_HEADER = "X-Rollwise-Signature"

_RESERVED = {"content-type", "content-length", "host", "transfer-encoding"}


class WebhookConfig(ChannelConfigBase):
    """``type: webhook``: POST JSON to ``url`` with extra ``headers``, signed if ``secret``."""

    type: Literal["webhook"] = "webhook"
    url: str
    headers: dict[str, str] = {}
    secret: SecretStr | None = None
    timeout: Timeout = 10.0

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return check_http_url(value)

    @field_validator("headers")
    @classmethod
    def _check_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, header_value in value.items():
            check_header_value(name, header_value)
            lowered = name.lower()
            if lowered in _RESERVED or lowered.startswith("x-rollwise-"):
                raise ValueError(f"header {name!r} is set by rollwise and cannot be configured")
        return value

    @field_validator("secret")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value


def sign_body(secret: str | bytes, body: bytes) -> str:
    """The signature header value for ``body``: ``sha256=<hex HMAC-SHA256>``."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify_signature(secret: str | bytes, body: bytes, header_value: str | None) -> bool:
    """Whether ``header_value`` is the signature of ``body`` (constant-time comparison)."""
    if not header_value:
        return False
    return hmac.compare_digest(sign_body(secret, body), header_value.strip())


def encode_body(notification: Notification) -> bytes:
    """The exact bytes POSTed (and signed): compact JSON, fields in the notification's order."""
    payload = {"schema_version": SCHEMA_VERSION, **notification.to_dict()}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


class WebhookNotifier(HttpNotifier[WebhookConfig]):
    """Sends each notification as one signed JSON POST. Thread-safe; ``close()`` when done."""

    def send(self, notification: Notification) -> None:
        body = encode_body(notification)
        self._poster.post(self.config.url, body, self._headers(notification, body), notification.id)

    def _headers(self, notification: Notification, body: bytes) -> Mapping[str, str]:
        headers = dict(self.config.headers)
        headers["Content-Type"] = "application/json"
        headers[EVENT_ID_HEADER] = notification.id
        headers[EVENT_KIND_HEADER] = notification.kind
        if self.config.secret is not None:
            headers[SIGNATURE_HEADER] = sign_body(self.config.secret.get_secret_value(), body)
        return headers
