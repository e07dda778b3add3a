"""A flag's history from the audit log: each change as the paths it changed.

The audit log keeps whole before/after records; people (and ``rollwise flags history``)
want "split.domain: 1000 → 2500". Bookkeeping fields (versions, timestamps) are left out:
they change every time and say nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from ...store import AuditRecord

__all__ = ["FlagChange", "FlagHistory", "FlagHistoryItem", "changes_of", "history_item"]

_NOISE = frozenset({"version", "created_at", "updated_at", "flag", "environment", "key"})
_MISSING: Any = object()


class FlagChange(BaseModel):
    path: str = Field(description='Dotted, list items by index: "rules[0].conditions[1].value"')
    before: Any = Field(description="null when the path did not exist")
    after: Any = Field(description="null when the path no longer exists")


class FlagHistoryItem(BaseModel):
    at: datetime
    actor: str
    action: str = Field(description="The audit action: flag.create, flag_state.update, ...")
    environment: str | None = Field(description="null for a change of the flag itself")
    changes: list[FlagChange]


class FlagHistory(BaseModel):
    items: list[FlagHistoryItem] = Field(description="Newest first")


def _content(record: dict[str, Any] | None) -> dict[str, Any]:
    """What a flag or flag-state record says, without its bookkeeping."""
    if not record:
        return {}
    if isinstance(record.get("state"), dict):  # a flag state: its state is what changed
        # version 0: never set in this environment (the record is how it serves: off)
        return {} if record.get("version") == 0 else dict(record["state"])
    return {name: value for name, value in record.items() if name not in _NOISE}


def _walk(path: str, before: Any, after: Any, out: list[FlagChange]) -> None:
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for name in [*before, *(n for n in after if n not in before)]:
            child = f"{path}.{name}" if path else str(name)
            _walk(child, before.get(name, _MISSING), after.get(name, _MISSING), out)
        return
    if (
        isinstance(before, list)
        and isinstance(after, list)
        and len(before) == len(after)
        and all(isinstance(item, dict) for item in [*before, *after])
    ):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            _walk(f"{path}[{index}]", old, new, out)
        return
    out.append(
        FlagChange(
            path=path or "(all)",
            before=None if before is _MISSING else before,
            after=None if after is _MISSING else after,
        )
    )


def changes_of(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[FlagChange]:
    """The paths that differ between two audit snapshots, in the record's field order."""
    out: list[FlagChange] = []
    _walk("", _content(before), _content(after), out)
    return out


def history_item(record: AuditRecord) -> FlagHistoryItem:
    return FlagHistoryItem(
        at=record.at,
        actor=record.actor,
        action=record.action,
        environment=record.environment,
        changes=changes_of(record.before, record.after),
    )
