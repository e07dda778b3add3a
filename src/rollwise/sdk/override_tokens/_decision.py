"""One request's override decision, and the reasons one is rejected."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["OverrideDecision", "Rejection"]


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
