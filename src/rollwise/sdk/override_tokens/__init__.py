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

from ._counter import OverrideCounter
from ._decision import OverrideDecision, Rejection
from ._format import (
    CLOCK_SKEW,
    DEFAULT_MAX_TTL,
    MAX_TOKEN_CHARS,
    MIN_KEY_BYTES,
    TokenCheck,
    TokenStatus,
    generate_key,
)
from ._gate import OverrideGate
from ._policy import ForceParameter, OverridePolicy
from ._signer import OverrideSigner

__all__ = [
    "CLOCK_SKEW",
    "DEFAULT_MAX_TTL",
    "MAX_TOKEN_CHARS",
    "MIN_KEY_BYTES",
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
