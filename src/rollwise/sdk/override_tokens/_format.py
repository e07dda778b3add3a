"""The override token format: ``<payload>.<mac>``, what checking one can find, and the MAC.

Both parts are URL-safe base64 without padding. The payload is the JSON list
``[2, flag, variant, expires_at, subject, environment]``; the MAC is HMAC-SHA256 with the
signing key over ``rollwise-override-v1.`` + the encoded payload. A version-1 payload (bound
to no environment) still parses, as ``wrong_environment``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "CLOCK_SKEW",
    "DEFAULT_MAX_TTL",
    "MAC_CHARS",
    "MAX_TOKEN_CHARS",
    "MIN_KEY_BYTES",
    "SEGMENT",
    "TokenCheck",
    "TokenStatus",
    "encode_payload",
    "generate_key",
    "mac",
    "parse_payload",
    "with_status",
]

MIN_KEY_BYTES = 32
MAX_TOKEN_CHARS = 2048
DEFAULT_MAX_TTL = 7 * 24 * 3600.0
"""The longest a token may live (seconds) unless the signer is told otherwise."""
CLOCK_SKEW = 60.0
"""Lifetime a verifier tolerates beyond ``max_ttl``: the minting machine's clock may be ahead."""
_VERSION = 2
_UNBOUND_VERSION = 1  # before tokens named their environment: refused
_DOMAIN = b"rollwise-override-v1."
MAC_CHARS = 43  # 32 bytes of SHA-256 in unpadded base64
SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


class TokenStatus(StrEnum):
    """What verifying a token found; only ``valid`` lets an override through."""

    VALID = "valid"
    MALFORMED = "malformed"  # not a token at all: shape, alphabet, length, payload
    FORGED = "forged"  # well-formed, but no key produced its MAC (tampered or wrong key)
    EXPIRED = "expired"
    TOO_LONG = "too_long"  # more lifetime left than max_ttl allows
    WRONG_ENVIRONMENT = "wrong_environment"  # minted for another environment, or for none
    WRONG_FLAG = "wrong_flag"
    WRONG_VARIANT = "wrong_variant"
    WRONG_SUBJECT = "wrong_subject"


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """The result of :meth:`OverrideSigner.verify`; fields are set once the MAC checked out."""

    status: TokenStatus
    flag: str | None = None
    variant: str | None = None
    expires_at: int | None = None
    subject: str | None = None
    environment: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is TokenStatus.VALID


def generate_key() -> str:
    """A fresh random signing key (256 bits, URL-safe text) for configuration files."""
    return secrets.token_urlsafe(MIN_KEY_BYTES)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_payload(
    flag: str, variant: str, expires_at: int, subject: str | None, environment: str
) -> str:
    """The encoded payload of a current-version token."""
    payload = json.dumps(
        [_VERSION, flag, variant, expires_at, subject, environment], separators=(",", ":")
    )
    return _b64encode(payload.encode("utf-8"))


def mac(key: bytes, encoded_payload: str) -> str:
    """The MAC of ``encoded_payload`` under ``key`` (as the token carries it)."""
    digest = hmac.new(key, _DOMAIN + encoded_payload.encode("ascii"), hashlib.sha256)
    return _b64encode(digest.digest())


def parse_payload(encoded: str) -> TokenCheck:
    """Decode an authenticated payload; a signed-but-odd payload is still ``malformed``."""
    try:
        data = json.loads(_b64decode(encoded))
    except (binascii.Error, ValueError):
        return TokenCheck(TokenStatus.MALFORMED)
    if not isinstance(data, list) or not data:
        return TokenCheck(TokenStatus.MALFORMED)
    unbound = data[0] == _UNBOUND_VERSION and len(data) == 5
    if unbound:  # signed, but before tokens named an environment
        data = [*data, None]
    elif data[0] != _VERSION or len(data) != 6:
        return TokenCheck(TokenStatus.MALFORMED)
    _, flag, variant, expires_at, subject, environment = data
    if unbound and environment is None:
        environment = ""  # matches no environment: refused below, once the shape checks
    if (
        not isinstance(flag, str)
        or not isinstance(variant, str)
        or not isinstance(expires_at, int)
        or isinstance(expires_at, bool)
        or not (subject is None or isinstance(subject, str))
        or not isinstance(environment, str)
    ):
        return TokenCheck(TokenStatus.MALFORMED)
    if unbound:
        return TokenCheck(TokenStatus.WRONG_ENVIRONMENT, flag, variant, expires_at, subject)
    return TokenCheck(TokenStatus.VALID, flag, variant, expires_at, subject, environment)


def with_status(check: TokenCheck, status: TokenStatus) -> TokenCheck:
    return TokenCheck(
        status, check.flag, check.variant, check.expires_at, check.subject, check.environment
    )
