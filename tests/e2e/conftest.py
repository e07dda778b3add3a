"""Everything in this folder drives whole processes end to end: marked ``e2e``.

``make check`` (the fast tier) leaves these out; ``make test`` and CI run them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)
