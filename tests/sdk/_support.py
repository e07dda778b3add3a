"""Helpers for SDK tests: writing config files atomically, a flag document per revision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def write_config(path: Path, document: dict[str, Any] | str) -> None:
    text = document if isinstance(document, str) else yaml.safe_dump(document)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    temporary.replace(path)


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
