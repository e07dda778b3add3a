"""Signing and verifying override tokens with HMAC-SHA256, with key rotation."""

from __future__ import annotations

import hmac
import math
import time
from collections.abc import Callable, Sequence

from ...errors import ConfigError
from ._format import (
    CLOCK_SKEW,
    DEFAULT_MAX_TTL,
    MAC_CHARS,
    MAX_TOKEN_CHARS,
    MIN_KEY_BYTES,
    SEGMENT,
    TokenCheck,
    TokenStatus,
    encode_payload,
    mac,
    parse_payload,
    with_status,
)

__all__ = ["OverrideSigner"]


def _seconds(field_name: str, value: object, limit: float | None = None) -> float:
    """A finite, positive number of seconds (at most ``limit``), or a ConfigError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError.single(None, field_name, f"must be a number of seconds, not {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ConfigError.single(
            None, field_name, f"must be a finite, positive number of seconds, not {value!r}"
        )
    if limit is not None and value > limit:
        raise ConfigError.single(
            None,
            field_name,
            f"{value!r} seconds is longer than the maximum token lifetime ({limit:g} s; "
            "raise the signer's max_ttl to allow it)",
        )
    return float(value)


class OverrideSigner:
    """Signs and verifies override tokens with HMAC-SHA256.

    ``keys``: one or more secrets (text or bytes, at least 32 bytes each); the first signs,
    all verify. ``clock`` returns Unix seconds (``time.time`` unless injected). ``max_ttl``
    is the longest lifetime a token may be signed with, and the most lifetime a token being
    verified may have left (plus :data:`CLOCK_SKEW`): 7 days unless set.
    """

    def __init__(
        self,
        keys: Sequence[str | bytes],
        clock: Callable[[], float] = time.time,
        *,
        max_ttl: float = DEFAULT_MAX_TTL,
    ) -> None:
        self.max_ttl = _seconds("max_ttl", max_ttl)
        if isinstance(keys, str | bytes) or not keys:
            raise ConfigError.single(None, "keys", "give a non-empty list of signing keys")
        normalized: list[bytes] = []
        for index, key in enumerate(keys):
            raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
            if len(raw) < MIN_KEY_BYTES:
                raise ConfigError.single(
                    None,
                    f"keys[{index}]",
                    f"a signing key needs at least {MIN_KEY_BYTES} bytes "
                    f"(got {len(raw)}); make one with generate_key()",
                )
            normalized.append(raw)
        self._keys = tuple(normalized)
        self._clock = clock

    def sign(
        self,
        flag: str,
        variant: str,
        ttl: float,
        subject: str | None = None,
        *,
        environment: str,
    ) -> str:
        """A token forcing ``variant`` of ``flag`` in ``environment`` for ``ttl`` seconds.

        ``subject`` binds the token to one requester (the integration passes the request's
        unit, e.g. the user id); without it anyone holding the token may use it. A gate of
        any other environment refuses the token. ``ttl`` must be finite, positive and at
        most ``max_ttl``: anything else is a :class:`ConfigError` naming ``ttl``.
        """
        lifetime = _seconds("ttl", ttl, self.max_ttl)
        if not isinstance(environment, str) or not environment:
            raise ConfigError.single(None, "environment", "name the environment the token is for")
        expires_at = int(self._clock() + lifetime)
        encoded = encode_payload(flag, variant, expires_at, subject, environment)
        return f"{encoded}.{mac(self._keys[0], encoded)}"

    def verify(
        self,
        token: str,
        flag: str,
        variant: str | None = None,
        subject: str | None = None,
        *,
        environment: str,
    ) -> TokenCheck:
        """Check ``token`` for ``flag`` in ``environment`` (and ``variant``, and ``subject``).

        ``variant=None`` accepts whichever variant the token forces. A token bound to a
        subject only passes for that same ``subject``. Never raises.
        """
        check = self.inspect(token)
        if not check.ok:
            return check
        if check.environment != environment:
            return with_status(check, TokenStatus.WRONG_ENVIRONMENT)
        if check.flag != flag:
            return with_status(check, TokenStatus.WRONG_FLAG)
        if variant is not None and check.variant != variant:
            return with_status(check, TokenStatus.WRONG_VARIANT)
        if check.subject is not None and check.subject != subject:
            return with_status(check, TokenStatus.WRONG_SUBJECT)
        return check

    def inspect(self, token: str) -> TokenCheck:
        """Check the token's shape, MAC, expiry and lifetime only (whatever it is for)."""
        if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
            return TokenCheck(TokenStatus.MALFORMED)
        encoded, dot, signature = token.partition(".")
        if (
            not dot
            or len(signature) != MAC_CHARS
            or not SEGMENT.fullmatch(encoded)
            or not SEGMENT.fullmatch(signature)
        ):
            return TokenCheck(TokenStatus.MALFORMED)
        matched = False
        for key in self._keys:  # every key, no early exit: timing says nothing of which
            matched |= hmac.compare_digest(mac(key, encoded), signature)
        if not matched:
            return TokenCheck(TokenStatus.FORGED)
        check = parse_payload(encoded)
        if check.ok and check.expires_at is not None:
            now = self._clock()
            if now >= check.expires_at:
                return with_status(check, TokenStatus.EXPIRED)
            if check.expires_at - now > self.max_ttl + CLOCK_SKEW:
                return with_status(check, TokenStatus.TOO_LONG)
        return check
