"""Semantic versions (semver.org 2.0) parsed into keys that compare by precedence."""

from __future__ import annotations

import re

__all__ = ["SemverKey", "parse_semver"]

_SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)

# A release sorts after any of its pre-releases; numeric identifiers sort before alphanumeric.
SemverKey = tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]


def parse_semver(text: str) -> SemverKey | None:
    """Return a sortable precedence key, or None when ``text`` is not a version.

    ``1.2`` and ``v1.2.3`` are accepted (missing parts are 0), as apps often report them so.
    Build metadata is ignored, as semver requires.
    """
    match = _SEMVER.match(text.strip())
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    try:
        if pre is None:
            return (int(major), int(minor or 0), int(patch or 0), 1, ())
        identifiers = tuple(
            (0, int(part), "") if part.isdigit() else (1, 0, part) for part in pre.split(".")
        )
        return (int(major), int(minor or 0), int(patch or 0), 0, identifiers)
    except ValueError:  # a number with more digits than Python converts (sys.int_info)
        return None
