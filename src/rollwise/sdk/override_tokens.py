"""Per-request overrides: a tester forces a flag's variant for one request.

The framework integrations read a parameter such as ``?force_domain=true`` (or its header,
``X-Force-Domain: true``) and ask an :class:`OverrideGate` whether to honour it. The gate
applies an :class:`OverridePolicy`:

- **Off by default.** A disabled policy rejects every override (``disabled``).
- **Values map to variants.** A :class:`ForceParameter` binds a parameter to one flag and
  maps its values (case-insensitive) to variants: ``true`` → ``domain``, ``false`` →
  ``legacy``. Other values are rejected (``unknown_value``).
- **Signed tokens.** Unless ``allow_unsigned`` is set, an override needs a token (parameter
  ``rollwise_token`` or header ``X-Rollwise-Override-Token``) signed for that flag and
  variant and for the gate's environment (a token minted for ``staging`` is refused in
  ``production``), not expired, no longer-lived than the signer's ``max_ttl`` (7 days by
  default), and, if the token names a subject, presented by that subject.
- **Never unsigned in production.** ``allow_unsigned`` is refused in an environment the
  configuration marks ``production: true`` (a :class:`ConfigError` when the gate is built;
  if the mark only arrives later, unsigned overrides are rejected as ``missing_token`` from
  then on). As a safety net for configurations that carry no mark, the names in
  ``OverridePolicy.production_environments`` (``production``, ``prod`` and their suffixed
  forms) are refused too; any other name (``prd``, ``live``) is production only when marked.
- **Counted.** Every decision, honoured or rejected (with its reason), is counted by flag in
  an :class:`OverrideCounter` that the reporter drains.

A token is ``<payload>.<mac>``, both URL-safe base64 without padding: the payload is the JSON
list ``[2, flag, variant, expires_at, subject, environment]`` (``expires_at`` in whole Unix
seconds, ``subject`` a string or null, ``environment`` the one it was minted for), the MAC
is HMAC-SHA256 with the signing key over ``rollwise-override-v1.`` + the encoded payload.
Verification checks the MAC against every key (key rotation: sign with the first key, keep
the old ones listed until their tokens expire) in constant time before it parses anything,
then the expiry and the lifetime left (at most ``max_ttl``, plus a minute of clock skew),
then the environment, flag, variant and subject. A version-1 token (bound to no
environment, minted before environments were bound) is refused as ``wrong_environment``.
Results are a :class:`TokenCheck` with a :class:`TokenStatus`; nothing raises.

Usage::

    from rollwise.sdk.override_tokens import (
        ForceParameter, OverrideGate, OverridePolicy, OverrideSigner, generate_key,
    )

    signer = OverrideSigner([os.environ["ROLLWISE_OVERRIDE_KEY"]])   # new key first
    token = signer.sign("camera-domain-service", "domain", ttl=3600, subject="tester-7",
                        environment="production")

    policy = OverridePolicy(
        enabled=True,
        parameters=(
            ForceParameter.boolean("force_domain", "camera-domain-service",
                                   on="domain", off="legacy"),
        ),
    )
    gate = OverrideGate(policy, environment="production", signer=signer)
    decision = gate.decide("force_domain", "true", token=token, subject="tester-7")
    if decision.honoured:
        ...  # serve decision.variant of decision.flag for this request
    gate.counter.drain()  # [{"flag", "outcome", "variant", "reason", "count"}, ...]
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from ..errors import ConfigError
from .. import _fork

__all__ = [
    "ForceParameter",
    "OverrideCounter",
    "OverrideDecision",
    "OverrideGate",
    "OverridePolicy",
    "OverrideSigner",
    "Rejection",
    "TokenCheck",
    "TokenStatus",
    "generate_key",
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
_MAC_CHARS = 43  # 32 bytes of SHA-256 in unpadded base64
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


# -- tokens ----------------------------------------------------------------------------


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
        payload = json.dumps(
            [_VERSION, flag, variant, expires_at, subject, environment], separators=(",", ":")
        )
        encoded = _b64encode(payload.encode("utf-8"))
        return f"{encoded}.{self._mac(self._keys[0], encoded)}"

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
            return _with_status(check, TokenStatus.WRONG_ENVIRONMENT)
        if check.flag != flag:
            return _with_status(check, TokenStatus.WRONG_FLAG)
        if variant is not None and check.variant != variant:
            return _with_status(check, TokenStatus.WRONG_VARIANT)
        if check.subject is not None and check.subject != subject:
            return _with_status(check, TokenStatus.WRONG_SUBJECT)
        return check

    def inspect(self, token: str) -> TokenCheck:
        """Check the token's shape, MAC, expiry and lifetime only (whatever it is for)."""
        if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
            return TokenCheck(TokenStatus.MALFORMED)
        encoded, dot, mac = token.partition(".")
        if (
            not dot
            or len(mac) != _MAC_CHARS
            or not _SEGMENT.fullmatch(encoded)
            or not _SEGMENT.fullmatch(mac)
        ):
            return TokenCheck(TokenStatus.MALFORMED)
        matched = False
        for key in self._keys:  # every key, no early exit: timing says nothing of which
            matched |= hmac.compare_digest(self._mac(key, encoded), mac)
        if not matched:
            return TokenCheck(TokenStatus.FORGED)
        check = _parse_payload(encoded)
        if check.ok and check.expires_at is not None:
            now = self._clock()
            if now >= check.expires_at:
                return _with_status(check, TokenStatus.EXPIRED)
            if check.expires_at - now > self.max_ttl + CLOCK_SKEW:
                return _with_status(check, TokenStatus.TOO_LONG)
        return check

    @staticmethod
    def _mac(key: bytes, encoded_payload: str) -> str:
        digest = hmac.new(key, _DOMAIN + encoded_payload.encode("ascii"), hashlib.sha256)
        return _b64encode(digest.digest())


def _parse_payload(encoded: str) -> TokenCheck:
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


def _with_status(check: TokenCheck, status: TokenStatus) -> TokenCheck:
    return TokenCheck(
        status, check.flag, check.variant, check.expires_at, check.subject, check.environment
    )


# -- policy ----------------------------------------------------------------------------

_TRUE_VALUES = ("true", "1", "yes", "on")
_FALSE_VALUES = ("false", "0", "no", "off")


@dataclass(frozen=True, slots=True)
class ForceParameter:
    """A request parameter that forces one flag: its values map to the flag's variants.

    ``name`` is the query parameter; ``header`` the equivalent header (default ``X-`` + the
    name with dashes: ``force_domain`` → ``X-Force-Domain``). Values are matched
    case-insensitively after trimming spaces.
    """

    name: str
    flag: str
    values: Mapping[str, str]
    header: str = ""

    def __post_init__(self) -> None:
        lowered = {key.strip().lower(): variant for key, variant in self.values.items()}
        object.__setattr__(self, "values", MappingProxyType(lowered))
        if not self.header:
            default = "X-" + "-".join(part.capitalize() for part in self.name.split("_"))
            object.__setattr__(self, "header", default)

    @classmethod
    def boolean(
        cls, name: str, flag: str, *, on: str, off: str, header: str = ""
    ) -> ForceParameter:
        """``true/1/yes/on`` → ``on`` and ``false/0/no/off`` → ``off``."""
        values = dict.fromkeys(_TRUE_VALUES, on) | dict.fromkeys(_FALSE_VALUES, off)
        return cls(name, flag, values, header)

    def variant_for(self, value: str) -> str | None:
        return self.values.get(value.strip().lower())


@dataclass(frozen=True, slots=True)
class OverridePolicy:
    """Whether and how requests may force variants (off unless ``enabled``).

    ``allow_unsigned`` lets a bare parameter through without a token: for development and
    staging only, refused in any environment the configuration marks ``production``, and
    in ``production_environments`` (a safety net by name for unmarked configurations).
    """

    enabled: bool = False
    allow_unsigned: bool = False
    parameters: tuple[ForceParameter, ...] = ()
    token_parameter: str = "rollwise_token"
    token_header: str = "X-Rollwise-Override-Token"
    production_environments: frozenset[str] = frozenset({"production", "prod"})
    """Names always treated as production, marked or not; also matched ignoring case and with
    a suffix after ``-``, ``_`` or ``.`` (``Production``, ``prod-eu``, ``production.us``).
    Any other environment is production only when its configuration marks it so."""

    def is_production(self, environment: str) -> bool:
        name = environment.lower()
        for production in self.production_environments:
            base = production.lower()
            if name == base or (name.startswith(base) and name[len(base)] in "-_."):
                return True
        return False


class Rejection(StrEnum):
    """Why an override was not honoured (the token statuses, and the policy's own)."""

    DISABLED = "disabled"
    UNKNOWN_PARAMETER = "unknown_parameter"
    UNKNOWN_VALUE = "unknown_value"
    NOT_OVERRIDABLE = "not_overridable"  # a token for a flag no parameter is bound to
    MISSING_TOKEN = "missing_token"
    MALFORMED = "malformed"
    FORGED = "forged"
    EXPIRED = "expired"
    TOO_LONG = "too_long"
    WRONG_ENVIRONMENT = "wrong_environment"
    WRONG_FLAG = "wrong_flag"
    WRONG_VARIANT = "wrong_variant"
    WRONG_SUBJECT = "wrong_subject"


@dataclass(frozen=True, slots=True)
class OverrideDecision:
    """Honoured (``variant`` set, ``rejection`` None) or rejected, for one request."""

    flag: str | None
    variant: str | None = None
    signed: bool = False
    rejection: Rejection | None = None

    @property
    def honoured(self) -> bool:
        return self.rejection is None


class OverrideCounter:
    """Honoured and rejected overrides by flag, variant and reason; thread-safe.

    ``drain`` hands the counts since the previous drain to the reporter.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, str, str]] = Counter()
        _fork.track(self)

    def add(self, decision: OverrideDecision) -> None:
        if decision.honoured:
            key = (decision.flag or "", "honoured", decision.variant or "", "")
        else:
            reason = decision.rejection.value if decision.rejection is not None else ""
            key = (decision.flag or "", "rejected", "", reason)
        with self._lock:
            self._counts[key] += 1

    def count(self, flag: str, outcome: str = "honoured") -> int:
        """How many ``honoured`` (or ``rejected``) decisions ``flag`` has had."""
        with self._lock:
            return sum(n for key, n in self._counts.items() if key[0] == flag and key[1] == outcome)

    def snapshot(self) -> list[dict[str, Any]]:
        """What :meth:`drain` would return, without resetting."""
        with self._lock:
            return _rows(self._counts.items())

    def drain(self) -> list[dict[str, Any]]:
        """``[{"flag", "outcome", "variant", "reason", "count"}]`` since the last drain.

        ``variant`` is set for honoured rows, ``reason`` (a :class:`Rejection`) for rejected
        ones; ``flag`` is empty for a rejection that could not name one (garbage token).
        """
        with self._lock:
            counts, self._counts = self._counts, Counter()
        return _rows(counts.items())

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        self._counts = Counter()


def _rows(items: Iterable[tuple[tuple[str, str, str, str], int]]) -> list[dict[str, Any]]:
    return [
        {
            "flag": flag,
            "outcome": outcome,
            "variant": variant or None,
            "reason": reason or None,
            "count": count,
        }
        for (flag, outcome, variant, reason), count in items
    ]


@dataclass(slots=True)
class OverrideGate:
    """Decides, per request, whether a forced variant is honoured; counts every decision.

    Built once per application (by the integration) with the client's environment and
    whether its configuration marks it ``production`` (a bool, or a function asked again
    whenever an unsigned override would be honoured: the integrations pass the client's
    current answer). Raises :class:`ConfigError` at construction when the policy cannot be
    safe there: unsigned overrides in a production environment, or signed overrides without
    a signer. Tokens are verified for ``environment``.
    """

    policy: OverridePolicy
    environment: str
    signer: OverrideSigner | None = None
    counter: OverrideCounter = field(default_factory=OverrideCounter)
    production: bool | Callable[[], bool] = False
    _by_name: dict[str, ForceParameter] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        policy = self.policy
        if policy.allow_unsigned and self.in_production():
            raise ConfigError.single(
                None,
                "overrides.allow_unsigned",
                f"unsigned per-request overrides are not allowed in {self.environment!r} "
                "(a production environment)",
            )
        if policy.enabled and not policy.allow_unsigned and self.signer is None:
            raise ConfigError.single(
                None, "overrides.keys", "signed per-request overrides need signing keys"
            )
        self._by_name = {parameter.name: parameter for parameter in policy.parameters}

    @property
    def parameters(self) -> tuple[ForceParameter, ...]:
        """The parameters that can force a variant (none while the policy is disabled)."""
        return self.policy.parameters if self.policy.enabled else ()

    def in_production(self) -> bool:
        """Marked production by the configuration, or named so (the safety net)."""
        marked = self.production() if callable(self.production) else self.production
        return bool(marked) or self.policy.is_production(self.environment)

    def decide(
        self,
        parameter: str,
        value: str,
        token: str | None = None,
        subject: str | None = None,
    ) -> OverrideDecision:
        """Whether ``parameter=value`` (with ``token``, from ``subject``) forces a variant."""
        bound = self._by_name.get(parameter)
        flag = bound.flag if bound is not None else None
        if not self.policy.enabled:
            return self._count(OverrideDecision(flag, rejection=Rejection.DISABLED))
        if bound is None:
            return self._count(OverrideDecision(None, rejection=Rejection.UNKNOWN_PARAMETER))
        variant = bound.variant_for(value)
        if variant is None:
            return self._count(OverrideDecision(flag, rejection=Rejection.UNKNOWN_VALUE))
        if self.policy.allow_unsigned and not self.in_production():
            return self._count(OverrideDecision(flag, variant))
        if not token or self.signer is None:  # no signer: unsigned only, or disabled
            return self._count(OverrideDecision(flag, rejection=Rejection.MISSING_TOKEN))
        check = self.signer.verify(
            token, bound.flag, variant, subject, environment=self.environment
        )
        return self._count(self._from_check(bound.flag, check))

    def decide_token(self, token: str, subject: str | None = None) -> OverrideDecision:
        """A token on its own (no parameter): it forces the flag and variant it names.

        Only for flags some parameter is bound to, and only variants that parameter can
        force; the token is required even when unsigned overrides are allowed.
        """
        if not self.policy.enabled:
            return self._count(OverrideDecision(None, rejection=Rejection.DISABLED))
        if self.signer is None:
            return self._count(OverrideDecision(None, rejection=Rejection.MISSING_TOKEN))
        check = self.signer.inspect(token)
        if not check.ok or check.flag is None:
            return self._count(self._from_check(check.flag, check))
        allowed = {
            variant
            for parameter in self.policy.parameters
            if parameter.flag == check.flag
            for variant in parameter.values.values()
        }
        if check.variant not in allowed:
            return self._count(OverrideDecision(check.flag, rejection=Rejection.NOT_OVERRIDABLE))
        check = self.signer.verify(
            token, check.flag, check.variant, subject, environment=self.environment
        )
        return self._count(self._from_check(check.flag, check))

    def _from_check(self, flag: str | None, check: TokenCheck) -> OverrideDecision:
        if check.ok:
            return OverrideDecision(flag, check.variant, signed=True)
        return OverrideDecision(flag, rejection=Rejection(check.status.value))

    def _count(self, decision: OverrideDecision) -> OverrideDecision:
        self.counter.add(decision)
        return decision
