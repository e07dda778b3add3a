"""Raw request input → validated commands for the domain services (422 when invalid)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError

from ..errors import InvalidInput
from ._validation import invalid_input
from .models import AlertRule

__all__ = [
    "DEFAULT_LOG_LINES",
    "MAX_BATCH",
    "MAX_LOG_LINES",
    "parse_auto_start",
    "parse_batch",
    "parse_lines",
    "parse_new_rule",
    "parse_rule_changes",
]

MAX_BATCH = 100
DEFAULT_LOG_LINES = 50
MAX_LOG_LINES = 1000

_FORBID = ConfigDict(extra="forbid")


class _AutoStart(BaseModel):
    model_config = _FORBID
    auto_start: StrictBool


class _Batch(BaseModel):
    model_config = _FORBID
    camera_ids: Annotated[list[StrictStr], Field(min_length=1, max_length=MAX_BATCH)]


def parse_auto_start(body: Any) -> bool:
    """``{"auto_start": true|false}``, nothing else."""
    try:
        return _AutoStart.model_validate(body).auto_start
    except ValidationError as error:
        raise invalid_input(error, 'expected {"auto_start": true|false}') from None


def parse_batch(body: Any) -> list[str]:
    """``{"camera_ids": [...]}``: 1 to 100 distinct ids."""
    try:
        ids = _Batch.model_validate(body).camera_ids
    except ValidationError as error:
        raise invalid_input(error, 'expected {"camera_ids": [1 to 100 ids]}') from None
    duplicates = sorted({camera_id for camera_id in ids if ids.count(camera_id) > 1})
    if duplicates:
        raise InvalidInput(
            f"camera ids listed more than once: {', '.join(duplicates)}",
            code="duplicate_camera_ids",
            camera_ids=duplicates,
        )
    return ids


def parse_lines(raw: str | None) -> int:
    """``?lines=``: a whole number from 1 to 1000 (default 50)."""
    if raw is None:
        return DEFAULT_LOG_LINES
    try:
        lines = int(raw)
    except ValueError:
        lines = 0
    if not 1 <= lines <= MAX_LOG_LINES:
        raise InvalidInput(
            f"lines must be a whole number from 1 to {MAX_LOG_LINES}, got {raw!r}",
            problems=[{"field": "lines", "reason": f"expected 1 to {MAX_LOG_LINES}"}],
        )
    return lines


def parse_new_rule(body: Any) -> AlertRule:
    try:
        return AlertRule.model_validate(body)
    except ValidationError as error:
        raise invalid_input(error, "invalid alert rule") from None


def parse_rule_changes(rule_id: str, body: Any) -> dict[str, Any]:
    """Some of a rule's fields; ``id``, if given, must be the rule's own (no renames)."""
    if not isinstance(body, dict):
        raise InvalidInput(
            "expected a JSON object with the fields to change",
            problems=[{"field": "(body)", "reason": "not an object"}],
        )
    changes = dict(body)
    if changes.pop("id", rule_id) != rule_id:
        raise InvalidInput(
            f"an update cannot rename rule {rule_id!r}",
            code="rule_id_mismatch",
            problems=[{"field": "id", "reason": f"must be {rule_id!r} or absent"}],
        )
    return changes
