"""Checking a loaded file: every problem with its path, section by section, then across sections."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from ...errors import ConfigError, ConfigIssue
from ..alerts import parse_alert_rule
from ..flags import FLAG_KEY_PATTERN, NAME_PATTERN, Flag, FlagEnvironment, Rule
from ..validation import flag_issues
from ._model import ORDER, SECTIONS, AlertSpec, DeployRule, FlagSpec, StateDocument
from ._paths import pydantic_issues, relocate, state_path


def parse_state_document(data: Any) -> StateDocument:
    """A checked document, or a ConfigError listing every problem, each with its path.

    Each section entry is checked on its own so that one bad flag does not hide another;
    then the cross-references: flags' environments, alerts' flags and variants, defaults
    and deploy rules name environments that the document declares (or that already exist:
    :func:`reference_issues` with the server's environments).
    """
    if not isinstance(data, Mapping):
        raise ConfigError.single(None, "", f"expected a mapping, got {type(data).__name__}")
    issues: list[ConfigIssue] = []
    clean: dict[str, Any] = {}
    for key, value in data.items():
        if key == "version":
            if value != 1:
                issues.append(ConfigIssue(None, "version", "unsupported version (expected 1)"))
        elif key == "deploy":
            clean["deploy"] = _parse_deploy(value, issues)
        elif key in SECTIONS:
            clean[key] = _parse_section(key, value, issues)
        else:
            known = ", ".join(ORDER)
            issues.append(ConfigIssue(None, str(key), f"unknown section (known: {known})"))
    if issues:
        raise ConfigError(issues)
    document = StateDocument.model_validate(clean)
    issues += _cross_issues(document)
    if issues:
        raise ConfigError(issues)
    return document


def _parse_section(section: str, value: Any, issues: list[ConfigIssue]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        issues.append(ConfigIssue(None, section, "expected a mapping of name → definition"))
        return {}
    model = SECTIONS[section]
    pattern = FLAG_KEY_PATTERN if section == "flags" else NAME_PATTERN
    parsed: dict[str, Any] = {}
    for name, body in value.items():
        name = str(name)
        if not re.match(pattern, name):
            issues.append(ConfigIssue(None, state_path(section, name), "invalid name"))
            continue
        if body is None:
            body = {}
        if not isinstance(body, Mapping):
            issues.append(ConfigIssue(None, state_path(section, name), "expected a mapping"))
            continue
        if section == "alerts":
            body = {**body, "name": name}
        if section == "flags":
            flag = _parse_flag(name, body, issues)
            if flag is not None:
                parsed[name] = flag
            continue
        try:
            item = model.model_validate(body)
        except ValidationError as error:
            issues += pydantic_issues([section, name], error)
            continue
        issues += _item_issues(section, name, item)
        parsed[name] = item
    return parsed


def _parse_flag(name: str, body: Mapping[str, Any], issues: list[ConfigIssue]) -> FlagSpec | None:
    """A flag checked environment by environment and rule by rule, so that a rule with a
    bad operator does not hide that the same environment's split is wrong."""
    head = {key: value for key, value in body.items() if key != "environments"}
    raw_states = body.get("environments") or {}
    try:
        spec = FlagSpec.model_validate(head)
    except ValidationError as error:
        issues += pydantic_issues(["flags", name], error)
        return None
    if not isinstance(raw_states, Mapping):
        issues.append(
            ConfigIssue(None, state_path("flags", name, "environments"), "expected a mapping")
        )
        return None
    states: dict[str, FlagEnvironment] = {}
    kept_rules: dict[str, list[int]] = {}
    failed = False
    for env, raw in raw_states.items():
        env = str(env)
        where = ["flags", name, "environments", env]
        raw = {} if raw is None else raw
        try:
            states[env] = FlagEnvironment.model_validate(raw)
            continue
        except ValidationError as error:
            issues += pydantic_issues(where, error)
            failed = True
        rules = raw.get("rules") if isinstance(raw, Mapping) else None
        if not isinstance(rules, list):
            continue
        kept = [i for i, rule in enumerate(rules) if _valid_rule(rule)]
        try:  # the rest of the state, without the rules that failed
            states[env] = FlagEnvironment.model_validate({**raw, "rules": [rules[i] for i in kept]})
        except ValidationError:
            continue
        kept_rules[env] = kept
    flag = Flag(
        key=name,
        description=spec.description,
        variants=spec.variants,
        off_variant=spec.off_variant,
        environments=states,
    )
    for issue in flag_issues(flag):
        issues.append(ConfigIssue(None, _flag_path(name, issue.path, kept_rules), issue.reason))
    if failed:
        return None
    return spec.model_copy(update={"environments": states})


def _valid_rule(data: Any) -> bool:
    try:
        Rule.model_validate(data)
    except ValidationError:
        return False
    return True


def _flag_path(name: str, dotted: str, kept_rules: Mapping[str, list[int]]) -> str:
    """A core.validation path of a flag, rule indices mapped back to the file's."""
    parts: list[object] = [int(p) if p.isdigit() else p for p in dotted.split(".") if p]
    if len(parts) >= 4 and parts[0] == "environments" and parts[2] == "rules":
        kept = kept_rules.get(str(parts[1]))
        if kept is not None and isinstance(parts[3], int) and parts[3] < len(kept):
            parts[3] = kept[parts[3]]
    return state_path("flags", name, *parts)


def _item_issues(section: str, name: str, item: BaseModel) -> list[ConfigIssue]:
    if isinstance(item, AlertSpec):
        try:
            parse_alert_rule(item.model_dump(by_alias=True))
        except ConfigError as error:
            return [
                ConfigIssue(None, relocate(["alerts", name], issue.path), issue.reason)
                for issue in error.issues
            ]
    return []


def _parse_deploy(value: Any, issues: list[ConfigIssue]) -> list[DeployRule]:
    if value is None:
        return []
    if not isinstance(value, list):
        issues.append(ConfigIssue(None, "deploy", "expected a list of {ref, environment}"))
        return []
    rules: list[DeployRule] = []
    seen: set[str] = set()
    for index, body in enumerate(value):
        try:
            rule = DeployRule.model_validate(body)
        except ValidationError as error:
            issues += pydantic_issues(["deploy", index], error)
            continue
        if rule.ref in seen:
            issues.append(ConfigIssue(None, state_path("deploy", index, "ref"), "duplicate ref"))
        seen.add(rule.ref)
        rules.append(rule)
    return rules


def _cross_issues(document: StateDocument, known: set[str] | None = None) -> list[ConfigIssue]:
    """Environments, flags and variants named across sections."""
    envs = set(document.environments) | (known or set())
    issues: list[ConfigIssue] = []

    def need_env(env: str, *path: object) -> None:
        if known is not None and env not in envs:
            issues.append(ConfigIssue(None, state_path(*path), f"unknown environment {env!r}"))

    for key, flag in document.flags.items():
        for env in flag.environments:
            need_env(env, "flags", key, "environments", env)
    for name, rule in document.alerts.items():
        need_env(rule.environment, "alerts", name, "environment")
        flag_spec = document.flags.get(rule.flag) if rule.flag else None
        if flag_spec is not None:
            for field in ("variant", "baseline"):
                variant = getattr(rule, field)
                if variant is not None and variant not in flag_spec.variants:
                    issues.append(
                        ConfigIssue(
                            None,
                            state_path("alerts", name, field),
                            f"unknown variant {variant!r} of flag {rule.flag!r}",
                        )
                    )
    for env in document.defaults:
        need_env(env, "defaults", env)
    for index, deploy in enumerate(document.deploy or []):
        need_env(deploy.environment, "deploy", index, "environment")
    return issues


def reference_issues(document: StateDocument, existing: set[str]) -> list[ConfigIssue]:
    """Names of environments that neither the document nor the control plane has."""
    return _cross_issues(document, existing)
