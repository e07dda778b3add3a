"""Rule conditions compiled into predicates over an evaluation context.

Each condition is checked once, when the configuration is loaded, and turned into a small
closure; evaluation then does no parsing, no validation and no dispatch on the operator.
A predicate never raises: a context value of the wrong type simply does not match.
When the context value is a list or tuple, the condition matches if any element does; the
negative operators (``neq``, ``not_in``) and ``negate`` invert that: no element does.

Booleans are not numbers: ``eq true`` does not match ``1`` and ``eq 1`` does not match
``true`` (nor ``in``, ``neq``, ``not_in``, or the numeric comparisons), although Python's
``True == 1``. JSON, YAML and most languages keep the two apart, and so does every client.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from .flags import Condition, Operator
from .semver import SemverKey, parse_semver
from .timestamps import to_epoch_seconds

__all__ = ["ConditionValueError", "Predicate", "compile_condition", "compile_conditions"]

Context = Mapping[str, Any]
Predicate = Callable[[Context], bool]
_Test = Callable[[Any], bool]

_MISSING: Any = object()
_SEQUENCES = (list, tuple)


class ConditionValueError(ValueError):
    """The condition's ``value`` does not suit its operator; the message says why."""


def compile_conditions(conditions: list[Condition]) -> Predicate:
    """AND of the conditions; an empty list matches every context."""
    predicates = tuple(compile_condition(condition) for condition in conditions)
    if not predicates:
        return _always
    if len(predicates) == 1:
        return predicates[0]

    def all_match(context: Context) -> bool:
        for predicate in predicates:
            if not predicate(context):
                return False
        return True

    return all_match


def compile_condition(condition: Condition) -> Predicate:
    """Return the predicate for one condition, or raise ConditionValueError."""
    op = condition.op
    attribute = condition.attribute
    negate = condition.negate
    if op is Operator.EXISTS:
        if condition.value is not None:
            raise ConditionValueError("'exists' takes no value (use negate for 'not exists')")
        return _exists(attribute, negate)
    if op in (Operator.EQ, Operator.NEQ):
        value = _scalar(condition.value)
        return _equals(attribute, value, negate=negate != (op is Operator.NEQ))
    if op is Operator.NOT_IN:  # "not in" is "in", negated: on a list, no element is a member
        return _on_attribute(attribute, _membership(condition.value), not negate)
    return _on_attribute(attribute, _make_test(op, condition.value), negate)


def _always(context: Context) -> bool:
    return True


def _exists(attribute: str, negate: bool) -> Predicate:
    def exists(context: Context) -> bool:
        return (context.get(attribute) is not None) != negate

    return exists


def _equals(attribute: str, value: Any, negate: bool) -> Predicate:
    # The most common condition gets its own closure: no test call for scalar values.
    # A string equals only a string, whatever Python's ``True == 1`` says of the rest.
    if value.__class__ is not str:
        return _on_attribute(attribute, _same(value), negate)

    def equals(context: Context) -> bool:
        actual = context.get(attribute)
        if actual is None:
            return False
        if actual.__class__ in _SEQUENCES:
            return (value in actual) != negate
        return (actual == value) != negate  # type: ignore[no-any-return]

    return equals


def _on_attribute(attribute: str, test: _Test, negate: bool) -> Predicate:
    def matches(context: Context) -> bool:
        actual = context.get(attribute)
        if actual is None:
            return False
        if actual.__class__ in _SEQUENCES:
            return any(test(item) for item in actual) != negate
        return test(actual) != negate

    return matches


def _make_test(op: Operator, value: Any) -> _Test:
    if op is Operator.IN:
        return _membership(value)
    if op in (Operator.STARTS_WITH, Operator.ENDS_WITH, Operator.CONTAINS):
        return _text(op, _strings(value))
    if op is Operator.REGEX:
        return _regex(value)
    if op in (Operator.LT, Operator.LTE, Operator.GT, Operator.GTE):
        return _numeric(op, _number(value))
    if op.value.startswith("semver_"):
        return _semver(op, value)
    if op in (Operator.BEFORE, Operator.AFTER):
        return _instant(op, value)
    raise ConditionValueError(f"unknown operator {op!r}")  # pragma: no cover - enum is closed


def _scalar(value: Any) -> Any:
    if value is None:
        raise ConditionValueError("needs a value (to test for absence use 'exists' with negate)")
    if not isinstance(value, str | int | float | bool):
        raise ConditionValueError(f"needs a string, number or boolean, not {_kind(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConditionValueError(f"needs a finite number, not {value!r}")
    return value


def _same(value: Any) -> _Test:
    """Equality that keeps booleans and numbers apart (``True == 1`` in Python)."""
    if value.__class__ is bool:
        return lambda actual: actual is value
    return lambda actual: actual.__class__ is not bool and actual == value


def _membership(value: Any) -> _Test:
    if not isinstance(value, list) or not value:
        raise ConditionValueError("needs a non-empty list of values")
    scalars = [_scalar(item) for item in value]
    # Kept apart: in one set True and 1 are the same member.
    booleans = tuple(item for item in scalars if item.__class__ is bool)
    members = frozenset(item for item in scalars if item.__class__ is not bool)

    def is_member(actual: Any) -> bool:
        if actual.__class__ is bool:
            return actual in booleans
        try:
            return actual in members
        except TypeError:  # unhashable context value: not one of the values
            return False

    return is_member


def _strings(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) for item in items):
        raise ConditionValueError("needs a string or a non-empty list of strings")
    return tuple(items)


def _text(op: Operator, needles: tuple[str, ...]) -> _Test:
    if op is Operator.STARTS_WITH:
        return lambda actual: isinstance(actual, str) and actual.startswith(needles)
    if op is Operator.ENDS_WITH:
        return lambda actual: isinstance(actual, str) and actual.endswith(needles)
    return lambda actual: isinstance(actual, str) and any(n in actual for n in needles)


def _regex(value: Any) -> _Test:
    if not isinstance(value, str):
        raise ConditionValueError("needs a regular expression string")
    try:
        pattern = re.compile(value)
    except re.error as error:
        raise ConditionValueError(f"invalid regular expression {value!r}: {error}") from None
    except (RecursionError, OverflowError):  # nesting or repeat counts beyond re's limits
        raise ConditionValueError("regular expression too deeply nested or too large") from None
    return lambda actual: isinstance(actual, str) and pattern.search(actual) is not None


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConditionValueError(f"needs a number, not {_kind(value)}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ConditionValueError(f"needs a finite number, not {value!r}")
    return number


def _as_number(actual: Any) -> float | None:
    try:
        if actual.__class__ is int or actual.__class__ is float:
            return float(actual)
        if isinstance(actual, str):
            return float(actual)
    except (ValueError, OverflowError):  # not a number, or an int beyond any float
        return None
    return None


def _numeric(op: Operator, bound: float) -> _Test:
    def compare(actual: Any) -> bool:
        number = _as_number(actual)
        if number is None:
            return False
        if op is Operator.LT:
            return number < bound
        if op is Operator.LTE:
            return number <= bound
        if op is Operator.GT:
            return number > bound
        return number >= bound

    return compare


@lru_cache(maxsize=1024)
def _cached_semver(text: str) -> SemverKey | None:
    return parse_semver(text)


def _semver(op: Operator, value: Any) -> _Test:
    bound = parse_semver(value) if isinstance(value, str) else None
    if bound is None:
        raise ConditionValueError(f"needs a semantic version such as '2.1.0', not {value!r}")

    def compare(actual: Any) -> bool:
        if not isinstance(actual, str):
            return False
        version = _cached_semver(actual)
        if version is None:
            return False
        if op is Operator.SEMVER_EQ:
            return version == bound
        if op is Operator.SEMVER_LT:
            return version < bound
        if op is Operator.SEMVER_LTE:
            return version <= bound
        if op is Operator.SEMVER_GT:
            return version > bound
        return version >= bound

    return compare


def _instant(op: Operator, value: Any) -> _Test:
    bound = to_epoch_seconds(value)
    if bound is None or isinstance(value, bool):
        raise ConditionValueError(f"needs an ISO 8601 date-time or epoch seconds, not {value!r}")

    def compare(actual: Any) -> bool:
        text = isinstance(actual, str)
        instant = _cached_instant(actual) if text else to_epoch_seconds(actual)
        if instant is None:
            return False
        return instant < bound if op is Operator.BEFORE else instant > bound

    return compare


@lru_cache(maxsize=1024)
def _cached_instant(text: str) -> float | None:
    return to_epoch_seconds(text)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
