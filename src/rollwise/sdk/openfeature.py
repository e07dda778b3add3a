"""An OpenFeature provider backed by a rollwise Client (``pip install rollwise[openfeature]``).

Applications written against the vendor-neutral OpenFeature API keep it, and evaluate
locally through rollwise::

    from openfeature import api
    from openfeature.evaluation_context import EvaluationContext
    from rollwise import Client
    from rollwise.sdk.openfeature import RollwiseProvider

    client = Client("flags.yaml", environment="production").start()
    api.set_provider(RollwiseProvider(client))
    flags = api.get_client()
    flags.get_boolean_value("new-search", False, EvaluationContext("user-42", {"plan": "pro"}))
    flags.get_string_value("checkout-domain-service", "legacy", EvaluationContext("user-42"))

The targeting key becomes the unit attribute (``user_id`` unless told otherwise) when the
attributes do not set it. Booleans follow ``Client.is_enabled`` (true for any variant but
the flag's off variant), except that a flag whose two variants are exactly a ``true``/``on``
and a ``false``/``off`` maps them literally. Strings are the variant name. Integers, floats
and objects (JSON) are parsed from the variant name; a variant that does not parse is a
TYPE_MISMATCH resolution with the caller's default, never an exception.

Reasons: ``split`` → SPLIT, ``rule:<id>`` → TARGETING_MATCH, ``disabled`` → DISABLED,
``default`` and ``missing_unit`` → DEFAULT, ``override`` → STATIC, ``unknown_flag`` → ERROR
with FLAG_NOT_FOUND and ``error`` → ERROR with GENERAL (both with the caller's default). The
rollwise reason itself is in the flag metadata as ``rollwise_reason``.

The provider does not own the client: start and close it in the application (the provider's
``shutdown`` leaves it running).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType
from openfeature.flag_evaluation import Reason as OpenFeatureReason
from openfeature.provider import AbstractProvider, Metadata

from ..core.evaluation import Evaluation, Reason
from .client import Client

__all__ = ["RollwiseProvider"]

T = TypeVar("T")
ObjectValue = Sequence[FlagValueType] | Mapping[str, FlagValueType]

_TRUE = frozenset({"true", "on"})
_FALSE = frozenset({"false", "off"})
_REASONS = {
    Reason.SPLIT: OpenFeatureReason.SPLIT,
    Reason.DISABLED: OpenFeatureReason.DISABLED,
    Reason.DEFAULT: OpenFeatureReason.DEFAULT,
    Reason.OVERRIDE: OpenFeatureReason.STATIC,
    Reason.MISSING_UNIT: OpenFeatureReason.DEFAULT,
}
_RULE_PREFIX = Reason.rule("")


class RollwiseProvider(AbstractProvider):
    """Resolves OpenFeature flags with a (started) rollwise client."""

    def __init__(self, client: Client, unit_attribute: str = "user_id") -> None:
        super().__init__()
        self.client = client
        self.unit_attribute = unit_attribute

    def get_metadata(self) -> Metadata:
        return Metadata(name="rollwise")

    def shutdown(self) -> None:
        """The application owns the client's lifecycle; nothing to do here."""

    def resolve_boolean_details(
        self,
        flag_key: str,
        default_value: bool,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[bool]:
        return self._resolve(flag_key, default_value, evaluation_context, self._to_bool)

    def resolve_string_details(
        self,
        flag_key: str,
        default_value: str,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[str]:
        return self._resolve(flag_key, default_value, evaluation_context, _to_str)

    def resolve_integer_details(
        self,
        flag_key: str,
        default_value: int,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[int]:
        return self._resolve(flag_key, default_value, evaluation_context, _to_int)

    def resolve_float_details(
        self,
        flag_key: str,
        default_value: float,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[float]:
        return self._resolve(flag_key, default_value, evaluation_context, _to_float)

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: ObjectValue,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[ObjectValue]:
        return self._resolve(flag_key, default_value, evaluation_context, _to_object)

    def _resolve(
        self,
        flag_key: str,
        default_value: T,
        evaluation_context: EvaluationContext | None,
        convert: Callable[[Evaluation], T],
    ) -> FlagResolutionDetails[T]:
        result = self.client.evaluate(flag_key, self._context(evaluation_context))
        if result.reason == Reason.UNKNOWN_FLAG:
            return FlagResolutionDetails(
                value=default_value,
                reason=OpenFeatureReason.ERROR,
                error_code=ErrorCode.FLAG_NOT_FOUND,
                error_message=f"flag {flag_key!r} is not in the rollwise configuration",
            )
        if result.reason == Reason.ERROR:
            return FlagResolutionDetails(
                value=default_value,
                reason=OpenFeatureReason.ERROR,
                error_code=ErrorCode.GENERAL,
                error_message=f"evaluating {flag_key!r} failed (see the rollwise logger)",
                variant=result.variant,
            )
        try:
            value = convert(result)
        except (TypeError, ValueError, RecursionError):
            return FlagResolutionDetails(
                value=default_value,
                reason=OpenFeatureReason.ERROR,
                error_code=ErrorCode.TYPE_MISMATCH,
                error_message=f"variant {result.variant!r} of {flag_key!r} is not of the "
                f"requested type",
                variant=result.variant,
            )
        return FlagResolutionDetails(
            value=value,
            reason=_reason(result.reason),
            variant=result.variant,
            flag_metadata={"rollwise_reason": result.reason},
        )

    def _context(self, evaluation_context: EvaluationContext | None) -> dict[str, Any]:
        if evaluation_context is None:
            return {}
        context: dict[str, Any] = dict(evaluation_context.attributes)
        if evaluation_context.targeting_key:
            context.setdefault(self.unit_attribute, evaluation_context.targeting_key)
        return context

    def _to_bool(self, result: Evaluation) -> bool:
        flag = self.client.flags.get(result.flag)
        if flag is not None and _is_boolean_pair(flag.variants):
            return result.variant.lower() in _TRUE
        return result.enabled


def _is_boolean_pair(variants: Sequence[str]) -> bool:
    """Whether the variants are exactly one literal true and one literal false name."""
    if len(variants) != 2:
        return False
    first, second = (variant.lower() for variant in variants)
    return (first in _TRUE and second in _FALSE) or (first in _FALSE and second in _TRUE)


def _reason(reason: str) -> str:
    if reason.startswith(_RULE_PREFIX):
        return OpenFeatureReason.TARGETING_MATCH
    return _REASONS.get(reason, OpenFeatureReason.UNKNOWN)


def _to_str(result: Evaluation) -> str:
    return result.variant


def _to_int(result: Evaluation) -> int:
    return int(result.variant)


def _to_float(result: Evaluation) -> float:
    return float(result.variant)


def _to_object(result: Evaluation) -> ObjectValue:
    value = json.loads(result.variant)
    if not isinstance(value, Mapping | list):
        raise TypeError("not an object")
    return value
