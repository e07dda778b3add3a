"""Compiling a flag's state in one environment into a fast evaluator.

An evaluator is a closure ``context -> Evaluation``. Every possible result is built once at
compile time (per variant and reason), so evaluating allocates nothing but the hash key.
The key goes straight to mmh3 only when it is ASCII (an O(1) check); any other key goes
through :func:`.bucketing.hash_key`, which encodes it first, so that a lone surrogate in a
unit cannot crash the interpreter (mmh3 5.x segfaults on one).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import mmh3

from .bucketing import hash_key
from .conditions import compile_conditions
from .flags import BUCKETS, Flag, FlagEnvironment

__all__ = ["Evaluation", "Evaluator", "Reason", "compile_flag", "constant", "result_for"]

Context = Mapping[str, Any]


class Reason:
    """Why an evaluation returned its variant (``rule:<id>`` names the matching rule)."""

    DISABLED = "disabled"
    OVERRIDE = "override"
    SPLIT = "split"
    DEFAULT = "default"
    MISSING_UNIT = "missing_unit"
    UNKNOWN_FLAG = "unknown_flag"
    ERROR = "error"

    @staticmethod
    def rule(rule_id: str) -> str:
        return f"rule:{rule_id}"


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The variant a context gets for a flag, and why.

    ``enabled`` is whether the variant is not the flag's off variant: what
    ``Client.is_enabled`` answers, computed once here instead of on every call.
    """

    flag: str
    variant: str
    reason: str
    enabled: bool = False


Evaluator = Callable[[Context], Evaluation]


def result_for(flag: Flag, variant: str, reason: str) -> Evaluation:
    """The (shared, immutable) result of serving ``variant`` of ``flag`` for ``reason``."""
    return Evaluation(flag.key, variant, reason, variant != flag.resolved_off_variant)


def constant(result: Evaluation) -> Evaluator:
    """An evaluator that ignores the context (kill switch, override, 100% split)."""

    def evaluate(context: Context) -> Evaluation:
        return result

    return evaluate


def compile_flag(flag: Flag, environment: str) -> Evaluator:
    """Compile ``flag`` as configured for ``environment``; the flag must be valid.

    A flag with no state for the environment is off there, like a new flag in Unleash or
    LaunchDarkly: everyone gets the off variant.
    """
    off = flag.resolved_off_variant
    state = flag.environments.get(environment)
    if state is None or not state.enabled:
        return constant(result_for(flag, off, Reason.DISABLED))
    missing = result_for(flag, off, Reason.MISSING_UNIT)
    if state.split is not None:
        fallthrough = _split(flag, state, state.split, Reason.SPLIT, missing)
    else:
        chosen = state.default if state.default is not None else off
        fallthrough = constant(result_for(flag, chosen, Reason.DEFAULT))
    if not state.rules:
        return fallthrough
    return _rules(flag, state, fallthrough, missing)


def _rules(
    flag: Flag, state: FlagEnvironment, fallthrough: Evaluator, missing: Evaluation
) -> Evaluator:
    compiled: list[tuple[Callable[[Context], bool], Evaluation | None, Evaluator | None]] = []
    for rule in state.rules:
        predicate = compile_conditions(rule.conditions)
        reason = Reason.rule(rule.id)
        if rule.variant is not None:
            compiled.append((predicate, result_for(flag, rule.variant, reason), None))
        else:
            assert rule.split is not None
            compiled.append((predicate, None, _split(flag, state, rule.split, reason, missing)))
    rules = tuple(compiled)

    def evaluate(context: Context) -> Evaluation:
        for predicate, result, split in rules:
            if predicate(context):
                if result is not None:
                    return result
                return split(context)  # type: ignore[misc]
        return fallthrough(context)

    return evaluate


def _split(
    flag: Flag,
    state: FlagEnvironment,
    weights: Mapping[str, int],
    reason: str,
    missing: Evaluation,
) -> Evaluator:
    results: list[Evaluation] = []
    uppers: list[int] = []
    total = 0
    for variant in flag.variants:
        weight = weights.get(variant, 0)
        if weight > 0:
            total += weight
            results.append(result_for(flag, variant, reason))
            uppers.append(total)
    if len(results) == 1:
        return constant(results[0])
    prefix = f"{state.salt if state.salt is not None else flag.key}:"
    unit_attribute = state.unit
    find_unit = _unit_finder(state.unit_fallbacks)
    hash32 = mmh3.hash
    safe_hash = hash_key
    buckets = BUCKETS

    if len(results) == 2:
        cut = uppers[0]
        low, high = results

        def evaluate_two(context: Context) -> Evaluation:
            unit = context.get(unit_attribute)
            if not unit:
                unit = find_unit(context, unit)
                if unit is None:
                    return missing
            key = f"{prefix}{unit}"
            number = hash32(key, 0, False) if key.isascii() else safe_hash(key)
            return low if number % buckets < cut else high

        return evaluate_two

    bounds = tuple(uppers[:-1])
    choices = tuple(results)

    def evaluate_many(context: Context) -> Evaluation:
        unit = context.get(unit_attribute)
        if not unit:
            unit = find_unit(context, unit)
            if unit is None:
                return missing
        key = f"{prefix}{unit}"
        number = hash32(key, 0, False) if key.isascii() else safe_hash(key)
        return choices[bisect_right(bounds, number % buckets)]

    return evaluate_many


def _unit_finder(fallbacks: list[str]) -> Callable[[Context, Any], Any]:
    """Called only when the primary unit attribute is falsy: 0 is a unit, None and '' not."""
    names = tuple(fallbacks)

    def find(context: Context, primary: Any) -> Any:
        if _is_unit(primary):
            return primary
        for name in names:
            value = context.get(name)
            if _is_unit(value):
                return value
        return None

    return find


def _is_unit(value: Any) -> bool:
    if value is None or value is False or value == "":
        return False
    return isinstance(value, str | int | float)
