"""``serving``: run a test against every framework, through its test client and a real server."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import pytest

from ._support import WAYS, Serve, Served, serve


@pytest.fixture(params=WAYS, ids=[f"{f}-{t}" for f, t in WAYS])
def serving(request: pytest.FixtureRequest) -> Serve:
    framework, transport = request.param

    def start(client: Any, **options: Any) -> AbstractContextManager[Served]:
        return serve(framework, transport, client, **options)

    return start
