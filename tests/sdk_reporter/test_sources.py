"""A source that raises costs its own data of that tick, counted, and nothing of the others."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from rollwise import Reporter

from .._support.clock import FakeClock
from ._support import FLAG, START, make_client, options, receiving


class BrokenSource:
    def drain(self) -> list[dict[str, Any]]:
        raise RuntimeError("a bug in an override counter")


def test_a_failing_source_is_logged_and_counted_and_the_rest_is_sent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(START)
    client = make_client(clock)
    with receiving() as (receiver, url):
        reporter = Reporter(options(url), client=client, clock=clock, overrides=[BrokenSource()])
        client.recorder.record(FLAG, "legacy", 0.01, 200, route="/pay")
        with caplog.at_level(logging.ERROR, logger="rollwise"):
            assert reporter.flush()
        assert receiver.requests() == {(FLAG, "legacy", "/pay"): 1}
    assert reporter.health().source_errors == 1
    assert "reporter could not drain overrides" in caplog.text
