"""PromQL text: label values escaped into string literals, durations, instants, templates.

Flag, variant and environment names are restricted to letters, digits, ``_ . -`` by
rollwise's own validation, but a query is built from them, so they are escaped anyway: a
value can never end its string literal early and change the query.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

__all__ = [
    "LABEL_NAME",
    "METRIC_NAME",
    "PLACEHOLDERS",
    "TemplateError",
    "any_of",
    "duration",
    "escape",
    "instant",
    "milliseconds",
    "render",
    "selector",
]

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
PLACEHOLDERS = ("flag", "variant", "environment", "window")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_REGEX_SPECIAL = frozenset("\\.+*?()|[]{}^$")


class TemplateError(ValueError):
    """A value that cannot be placed where its template puts it."""


def escape(value: str, quote: str = '"') -> str:
    """``value`` as the inside of a PromQL string literal opened with ``quote``."""
    if quote == "`":  # a raw string has no escapes: refuse what would end it
        if "`" in value:
            raise TemplateError(f"{value!r} cannot go into a `raw` string")
        return value
    escaped = "".join(_ESCAPES.get(char, char) for char in value)
    return escaped.replace(quote, "\\" + quote)


def selector(matchers: Mapping[str, str], regexes: Mapping[str, str] | None = None) -> str:
    """``{name="value", ..., name=~"regex", ...}`` with every value escaped, in order."""
    parts = [f'{name}="{escape(value)}"' for name, value in matchers.items()]
    parts += [f'{name}=~"{escape(value)}"' for name, value in (regexes or {}).items()]
    return "{" + ", ".join(parts) + "}"


def any_of(values: Sequence[str]) -> str:
    """An RE2 regex matching exactly one of ``values`` (PromQL anchors ``=~`` matchers).

    Every regex metacharacter is escaped, so ``v1.5`` matches ``v1.5`` and not ``v105``.
    """
    if not values:
        raise ValueError("any_of needs at least one value")
    return "|".join(
        "".join("\\" + char if char in _REGEX_SPECIAL else char for char in value)
        for value in values
    )


def milliseconds(instant: datetime) -> int:
    """Milliseconds since the epoch (Prometheus' resolution), rounded to the nearest."""
    return round((instant - _EPOCH) / timedelta(milliseconds=1))


def instant(ms: int) -> str:
    """An RFC 3339 instant with milliseconds, exact (no float in between)."""
    whole = datetime.fromtimestamp(ms // 1000, UTC)
    return f"{whole:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def duration(ms: int) -> str:
    """A range duration: whole seconds as ``300s``, otherwise ``1500ms``."""
    if ms < 1:
        raise ValueError(f"a range must last at least 1 ms, got {ms}")
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def render(template: str, values: Mapping[str, str]) -> str:
    """Replace each ``{flag}``, ``{variant}``, ``{environment}`` and ``{window}``.

    Other braces are PromQL's own (``metric{label="..."}``) and stay as they are. A value
    is escaped for the string literal it stands in, judged by the character before the
    placeholder (``'`` or a backquote; otherwise a double-quoted literal); ``{window}`` is a
    duration and goes in as it is.
    """

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        value = values[name]
        if name == "window":
            return value
        before = template[match.start() - 1] if match.start() else ""
        return escape(value, before if before in ("'", "`") else '"')

    return _PLACEHOLDER.sub(substitute, template)
