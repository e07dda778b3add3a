"""Every case in tests/cases/*.json evaluates to its expected variant and reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import rollwise

CASES_DIR = Path(__file__).parent.parent / "cases"


def _load() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.json")):
        document = json.loads(path.read_text())
        for case in document["cases"]:
            params.append(
                pytest.param(
                    document["config"],
                    document["environment"],
                    case,
                    id=f"{path.stem}: {case['name']}",
                )
            )
    return params


@pytest.mark.parametrize(("config", "environment", "case"), _load())
def test_case(config: dict[str, Any], environment: str, case: dict[str, Any]) -> None:
    client = rollwise.Client(config, environment=environment)
    result = client.evaluate(case["flag"], case["context"])
    assert (result.variant, result.reason) == (
        case["expected"]["variant"],
        case["expected"]["reason"],
    )
    assert client.variant(case["flag"], case["context"]) == case["expected"]["variant"]


def test_case_files_exist_and_are_valid_configs() -> None:
    files = sorted(CASES_DIR.glob("*.json"))
    assert len(files) >= 3
    for path in files:
        rollwise.parse_document(json.loads(path.read_text())["config"])
