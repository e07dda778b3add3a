"""Paths into the document (``flags.checkout.rules[2]``): of pydantic errors, of ``${NAME}``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from ...errors import ConfigIssue
from ._model import REFERENCE


def state_path(*parts: object) -> str:
    """``flags``, ``checkout``, ``rules``, 2 → ``flags.checkout.rules[2]``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part != "":
            text += f".{part}" if text else str(part)
    return text


def relocate(prefix: Sequence[object], dotted: str) -> str:
    """A dotted path of core.validation (``environments.prod.rules.2.id``) under ``prefix``."""
    parts: list[object] = [int(p) if p.isdigit() else p for p in dotted.split(".") if p]
    return state_path(*prefix, *parts)


def _message(item: Mapping[str, Any]) -> str:
    loc = item.get("loc") or ()
    field = str(loc[-1]) if loc else ""
    if item.get("type") == "enum":
        expected = (item.get("ctx") or {}).get("expected", "")
        noun = "operator" if field == "op" else "value"
        return f"unknown {noun} {item.get('input')!r} (expected {expected})"
    if item.get("type") == "extra_forbidden":
        return "unknown field"
    return str(item.get("msg", "invalid"))


def pydantic_issues(prefix: Sequence[object], error: ValidationError) -> list[ConfigIssue]:
    issues = []
    for item in error.errors():
        loc = [part for part in item["loc"] if not (isinstance(part, str) and "[" in part)]
        nested = (item.get("ctx") or {}).get("issues")
        if nested:  # several problems carried by one error (rollwise's issues_error)
            for sub, reason in nested:
                issues.append(ConfigIssue(None, relocate([*prefix, *loc], sub), reason))
            continue
        issues.append(ConfigIssue(None, state_path(*prefix, *loc), _message(item)))
    return issues


def variable_references(data: Any, *path: object) -> Iterator[tuple[str, str]]:
    """Every ``${NAME}`` in ``data`` (a loaded document), as (path, NAME)."""
    if isinstance(data, str):
        for match in REFERENCE.finditer(data):
            yield state_path(*path), match.group(1)
    elif isinstance(data, Mapping):
        for key, value in data.items():
            yield from variable_references(value, *path, str(key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from variable_references(value, *path, index)
