"""Helpers for SDK tests: writing config files atomically and waiting with a bound."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml


def write_config(path: Path, document: dict[str, Any] | str) -> None:
    text = document if isinstance(document, str) else yaml.safe_dump(document)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    temporary.replace(path)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def flag_document(revision: str, on_share: int) -> dict[str, Any]:
    return {
        "revision": revision,
        "flags": [
            {
                "key": "checkout",
                "variants": ["legacy", "domain"],
                "environments": {
                    "production": {"split": {"legacy": 10000 - on_share, "domain": on_share}}
                },
            }
        ],
    }
