"""An idle process still says it is there: a batch with only the ``sdk`` part, on a fake clock.

``rollwise doctor`` calls an instance silent after a minute without a batch; a process with
nothing to report sends a heartbeat when nothing was queued for ``heartbeat_interval``.
"""

from __future__ import annotations

import pytest

from rollwise import ConfigError, Reporter

from .._support.clock import FakeClock
from ._support import FLAG, START, make_client, options, receiving


def test_an_idle_reporter_sends_a_heartbeat_every_interval() -> None:
    clock = FakeClock(START)
    client = make_client(clock, release="v1.4.2")
    with receiving() as (receiver, url):
        reporter = Reporter(options(url), client=client, clock=clock)
        assert reporter.collect() == 0  # just started: nothing to say yet
        clock.advance(20)
        assert reporter.collect() == 0
        clock.advance(10)  # 30 s without a batch
        assert reporter.collect() == 1
        assert reporter.collect() == 0  # the heartbeat counts as sent
        assert reporter.flush()
        [beat] = receiver.batches()
        assert beat.windows == []
        assert beat.sdk is not None
        assert beat.sdk.release == "v1.4.2"
        assert beat.instance == reporter.instance

        client.recorder.record(FLAG, "legacy", 0.01, 200, route="/pay")
        clock.advance(10)
        assert reporter.collect() == 1  # a window: data, not a heartbeat
        clock.advance(30)
        assert reporter.collect() == 0  # that batch still waits to be sent: nothing beside it
        assert reporter.flush()
        clock.advance(10)
        assert reporter.collect() == 1  # 40 s since that batch was queued: a heartbeat
        assert reporter.flush()
        kinds = [bool(batch.windows) for batch in receiver.batches()]
    assert sorted(kinds) == [False, False, True]


def test_no_heartbeat_when_turned_off() -> None:
    clock = FakeClock(START)
    client = make_client(clock)
    with receiving() as (receiver, url):
        reporter = Reporter(options(url, heartbeat_interval=None), client=client, clock=clock)
        for _ in range(10):
            clock.advance(60)
            assert reporter.collect() == 0
        assert reporter.flush()
        assert receiver.batches() == []


def test_the_interval_is_configurable() -> None:
    clock = FakeClock(START)
    client = make_client(clock)
    with receiving() as (_, url):
        reporter = Reporter(options(url, heartbeat_interval=5), client=client, clock=clock)
        clock.advance(4)
        assert reporter.collect() == 0
        clock.advance(1)
        assert reporter.collect() == 1


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf")])
def test_a_bad_interval_is_refused(value: float) -> None:
    with pytest.raises(ConfigError) as raised:
        options("http://127.0.0.1:1", heartbeat_interval=value)
    assert raised.value.path == "reporting.heartbeat_interval"
