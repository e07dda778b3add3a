"""A minimal Server-Sent Events parser (the parts of the WHATWG spec SDKs need)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["ServerSentEvent", "parse_events"]


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    event: str
    data: str
    id: str | None
    retry: int | None


def parse_events(lines: Iterable[str]) -> Iterator[ServerSentEvent]:
    """Turn a stream of lines (without their line breaks) into events; comments are skipped."""
    event = ""
    data: list[str] = []
    last_id: str | None = None
    retry: int | None = None
    for line in lines:
        if line == "":
            if data or event:
                yield ServerSentEvent(event or "message", "\n".join(data), last_id, retry)
            event, data, retry = "", [], None
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            last_id = value
        elif name == "retry" and value.isdigit():
            retry = int(value)
