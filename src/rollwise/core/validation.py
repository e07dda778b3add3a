"""Turning untrusted data into a checked :class:`ConfigDocument`, or a precise ConfigError.

Pydantic checks the shapes; :func:`flag_issues` checks what relates one field to another.
Every problem is reported with the flag key and the dotted path of the field at fault.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import ValidationError

from ..errors import ConfigError, ConfigIssue
from .conditions import ConditionValueError, compile_condition
from .flags import BUCKETS, ConfigDocument, Flag

__all__ = ["flag_issues", "parse_document", "parse_flag"]


def parse_document(data: Any, *, strict: bool = True) -> ConfigDocument:
    """Validate a whole configuration (as loaded from JSON/YAML or received over HTTP).

    ``strict=False`` ignores top-level keys this version does not know: a document from a
    newer control plane must not be refused by an older SDK. Files people write stay
    strict (a misspelt key is an error there, not silence).
    """
    if isinstance(data, ConfigDocument):
        document = data
    else:
        if not isinstance(data, Mapping):
            raise ConfigError.single(None, "", f"expected a mapping, got {_kind(data)}")
        if not strict:
            known = ConfigDocument.model_fields
            data = {key: value for key, value in data.items() if key in known}
        issues: list[ConfigIssue] = []
        raw_flags = data.get("flags", [])
        flags_are_list = isinstance(raw_flags, list)
        try:
            document = ConfigDocument.model_validate(data)
        except ValidationError as error:
            for item in error.errors():
                loc = list(item["loc"])
                flag_key = None
                if flags_are_list and len(loc) >= 2 and loc[0] == "flags":
                    index = loc[1]
                    if isinstance(index, int) and index < len(raw_flags):
                        flag_key = _key_of(raw_flags[index])
                    path = _dotted(loc[2:])
                    if flag_key is None:
                        path = _dotted(loc)
                else:
                    path = _dotted(loc)
                issues.append(ConfigIssue(flag_key, path, item["msg"]))
            raise ConfigError(issues) from None
    issues = list(_document_issues(document))
    if issues:
        raise ConfigError(issues)
    return document


def parse_flag(data: Any) -> Flag:
    """Validate one flag definition."""
    if isinstance(data, Flag):
        flag = data
    else:
        try:
            flag = Flag.model_validate(data)
        except ValidationError as error:
            key = _key_of(data)
            raise ConfigError(
                [ConfigIssue(key, _dotted(item["loc"]), item["msg"]) for item in error.errors()]
            ) from None
    issues = list(flag_issues(flag))
    if issues:
        raise ConfigError(issues)
    return flag


def _document_issues(document: ConfigDocument) -> Iterator[ConfigIssue]:
    seen: set[str] = set()
    for index, flag in enumerate(document.flags):
        if flag.key in seen:
            yield ConfigIssue(flag.key, f"flags.{index}.key", "duplicate flag key")
        seen.add(flag.key)
        yield from flag_issues(flag)


def flag_issues(flag: Flag) -> Iterator[ConfigIssue]:
    """Every cross-field problem of one flag, each with its field path."""
    key = flag.key
    variants = flag.variants
    known = set(variants)
    if len(known) != len(variants):
        duplicates = sorted({v for v in variants if variants.count(v) > 1})
        yield ConfigIssue(key, "variants", f"duplicate variant(s): {', '.join(duplicates)}")
    for index, variant in enumerate(variants):
        if not variant:
            yield ConfigIssue(key, f"variants.{index}", "variant names must not be empty")
    if flag.off_variant is not None and flag.off_variant not in known:
        yield ConfigIssue(key, "off_variant", _unknown(flag.off_variant, variants))
    for env_name, state in flag.environments.items():
        base = f"environments.{env_name}"
        if state.split is not None and state.default is not None:
            yield ConfigIssue(key, base, "give either 'split' or 'default', not both")
        if state.split is not None:
            yield from _split_issues(key, f"{base}.split", state.split, variants)
        if state.default is not None and state.default not in known:
            yield ConfigIssue(key, f"{base}.default", _unknown(state.default, variants))
        rule_ids: set[str] = set()
        for r_index, rule in enumerate(state.rules):
            r_path = f"{base}.rules.{r_index}"
            if rule.id in rule_ids:
                yield ConfigIssue(key, f"{r_path}.id", f"duplicate rule id {rule.id!r}")
            rule_ids.add(rule.id)
            if (rule.variant is None) == (rule.split is None):
                yield ConfigIssue(key, r_path, "a rule needs exactly one of 'variant' or 'split'")
            if rule.variant is not None and rule.variant not in known:
                yield ConfigIssue(key, f"{r_path}.variant", _unknown(rule.variant, variants))
            if rule.split is not None:
                yield from _split_issues(key, f"{r_path}.split", rule.split, variants)
            for c_index, condition in enumerate(rule.conditions):
                try:
                    compile_condition(condition)
                except ConditionValueError as error:
                    path = f"{r_path}.conditions.{c_index}.value"
                    yield ConfigIssue(key, path, f"operator '{condition.op.value}' {error}")


def _split_issues(
    key: str, path: str, split: Mapping[str, int], variants: list[str]
) -> Iterator[ConfigIssue]:
    for variant, weight in split.items():
        if variant not in variants:
            yield ConfigIssue(key, f"{path}.{variant}", _unknown(variant, variants))
        if weight < 0 or weight > BUCKETS:
            yield ConfigIssue(
                key, f"{path}.{variant}", f"weight {weight} is outside 0..{BUCKETS} basis points"
            )
    total = sum(split.values())
    if total != BUCKETS:
        yield ConfigIssue(
            key, path, f"weights sum to {total} basis points; they must sum to {BUCKETS}"
        )


def _unknown(variant: str, variants: list[str]) -> str:
    return f"unknown variant {variant!r} (variants are: {', '.join(variants)})"


def _key_of(raw: Any) -> str | None:
    if isinstance(raw, Mapping):
        key = raw.get("key")
        if isinstance(key, str):
            return key
    return None


def _dotted(loc: Any) -> str:
    return ".".join(str(part) for part in loc)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
