"""The reporter against a real HTTP receiver on loopback: counts, retries, drops, close."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime

import pytest

from rollwise import Reporter
from rollwise.sdk.override_tokens import ForceParameter, OverrideGate, OverridePolicy
from rollwise.sdk.recorder import RequestRecorder

from .._support.clock import FakeClock
from .._support.net import free_port
from .._support.waiting import wait_until
from ._support import (
    FLAG,
    START,
    TOKEN,
    make_client,
    options,
    receiving,
    reporter_threads,
)


def test_a_tick_ships_requests_usage_comparisons_samples_and_overrides() -> None:
    clock = FakeClock(START)
    client = make_client(clock)
    gate = OverrideGate(
        OverridePolicy(
            enabled=True,
            allow_unsigned=True,
            parameters=(ForceParameter.boolean("force_domain", FLAG, on="domain", off="legacy"),),
        ),
        environment="staging",
    )
    client.add_override_counter(gate.counter)
    with receiving() as (receiver, url):
        reporter = Reporter(options(url), client=client, clock=clock).start()
        served: Counter[str] = Counter()
        for n in range(1000):
            served[client.variant(FLAG, {"user_id": f"u{n}"})] += 1
        for status in (200, 200, 200, 500, 404):
            client.recorder.record(FLAG, "domain", 0.02, status, route="/pay")
        for _ in range(3):
            client.compare(
                "pricing",
                flag=FLAG,
                control=lambda: "old",
                candidate=lambda: "new",
                context={"user_id": "u1"},  # legacy: the control answers
                read_only=True,
            )
        assert gate.decide("force_domain", "true").honoured
        assert not gate.decide("force_domain", "maybe").honoured

        clock.advance(10)  # the window [START, START + 10) is over
        assert reporter.collect() == 1
        assert reporter.flush()
        reporter.close()

    [batch] = receiver.batches()
    assert receiver.tokens == {f"Bearer {TOKEN}"}
    assert batch.instance.startswith("test:")
    [window] = batch.windows
    assert window.start == datetime.fromtimestamp(1_000_000, UTC)
    assert window.seconds == 10
    [series] = window.series
    assert (series.flag, series.variant, series.route) == (FLAG, "domain", "/pay")
    assert (series.requests, series.errors, series.client_errors) == (5, 1, 1)
    assert series.latency.count == 5
    usage = {(row.flag, row.variant): row.count for row in window.usage}
    # 1000 direct evaluations, plus one per compare() call deciding its primary
    assert usage == {(FLAG, "legacy"): served["legacy"] + 3, (FLAG, "domain"): served["domain"]}
    [comparison] = window.comparisons
    assert (comparison.name, comparison.flag, comparison.variant) == ("pricing", FLAG, "legacy")
    assert comparison.counts == {"mismatch": 3}
    assert comparison.durations["control"].count == 3
    assert [s.outcome for s in batch.samples] == ["mismatch"] * 3
    assert batch.samples[0].control == {"value": "old"}
    overrides = {(row.outcome, row.variant, row.reason): row.count for row in batch.overrides}
    assert overrides == {("honoured", "domain", None): 1, ("rejected", None, "unknown_value"): 1}
    assert batch.dropped.batches == 0


def test_503s_are_retried_with_the_same_batch_id_and_counted_once() -> None:
    clock = FakeClock(START)
    client = make_client(clock)
    with receiving() as (receiver, url):
        receiver.fail_before.extend([503, 503, 429])
        receiver.fail_after_storing.append(502)  # stored, but the answer is lost
        reporter = Reporter(options(url), client=client, clock=clock).start()
        for _ in range(7):
            client.recorder.record(FLAG, "legacy", 0.01)
        clock.advance(10)
        reporter.collect()
        assert reporter.flush()
        health = reporter.health()
        reporter.close()

    [batch_id] = set(receiver.attempts)
    assert receiver.attempts == [batch_id] * 5
    assert len(receiver.batches()) == 1
    assert receiver.requests() == {(FLAG, "legacy", ""): 7}
    assert (health.batches_sent, health.retries, health.batches_dropped) == (1, 4, 0)
    assert health.last_error is None


def test_a_dead_server_bounds_memory_and_the_drops_are_reported_once_it_is_back() -> None:
    clock = FakeClock(START)
    client = make_client(clock)
    port = free_port()  # nothing listens here yet
    reporter = Reporter(
        options(f"http://127.0.0.1:{port}", queue_size=3), client=client, clock=clock
    )
    for n in range(10):
        client.recorder.record(FLAG, "legacy", 0.01, route=f"/r{n}")
        clock.advance(10)
        assert reporter.collect() == 1
        assert reporter.health().queued <= 3
    assert not reporter.flush(timeout=0.3)  # refused, retried until out of time
    health = reporter.health()
    assert health.queued == 3
    assert (health.batches_dropped, health.windows_dropped) == (7, 7)
    assert health.retries >= 1
    assert health.last_error is not None

    with receiving(port) as (receiver, _):
        assert reporter.flush()
    batches = receiver.batches()
    assert len(batches) == 3
    assert receiver.requests() == {(FLAG, "legacy", f"/r{n}"): 1 for n in (7, 8, 9)}
    first = next(b for b in batches if b.windows[0].series[0].route == "/r7")
    assert (first.dropped.batches, first.dropped.windows) == (7, 7)
    assert receiver.dropped_batches() == 7  # reported once, not with every batch
    assert reporter.health().last_error is None


def test_a_400_drops_the_batch_logs_it_and_is_not_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(START)
    client = make_client(clock)
    with receiving() as (receiver, url):
        receiver.fail_before.append(400)
        reporter = Reporter(options(url), client=client, clock=clock).start()
        client.recorder.record(FLAG, "legacy", 0.01, route="/lost")
        clock.advance(10)
        reporter.collect()
        with caplog.at_level(logging.WARNING, logger="rollwise"):
            assert reporter.flush()
        health = reporter.health()
        assert len(receiver.attempts) == 1
        assert (health.batches_rejected, health.batches_dropped, health.retries) == (1, 1, 0)
        assert "rejected telemetry batch" in caplog.text
        assert "scripted 400" in caplog.text

        client.recorder.record(FLAG, "legacy", 0.01, route="/kept")
        clock.advance(10)
        reporter.collect()
        assert reporter.flush()
        reporter.close()
    assert len(receiver.attempts) == 2
    [batch] = receiver.batches()
    assert receiver.requests() == {(FLAG, "legacy", "/kept"): 1}
    assert (batch.dropped.batches, batch.dropped.windows) == (1, 1)


def test_close_flushes_the_open_window_of_an_attached_reporter() -> None:
    with receiving() as (receiver, url):
        client = make_client(reporting=options(url, ticks=True))
        assert client.reporter is not None
        assert client.health().usage_counting is False
        with client:
            assert client.health().usage_counting is True
            for n in range(4):
                client.variant("search", {"user_id": f"u{n}"})
                client.recorder.record("search", "on", 0.003, 200, route="/find")
        assert client.health().usage_counting is False
        health = client.health().reporter
        assert health is not None
        assert health.started is False
        assert health.batches_sent >= 1
    assert receiver.requests() == {("search", "on", "/find"): 4}
    assert receiver.usage() == {("search", "on"): 4}


def test_no_thread_before_start_and_none_left_after_close() -> None:
    with receiving() as (receiver, url):
        before = reporter_threads()
        client = make_client(reporting=options(url, ticks=True))
        standalone = Reporter(options(url, ticks=True), recorder=RequestRecorder())
        assert reporter_threads() == before
        client.start()
        assert reporter_threads() == sorted(
            [*before, "rollwise-reporter-send", "rollwise-reporter-tick"]
        )
        client.close()
        standalone.close()  # never started: nothing to stop, nothing sent
        assert reporter_threads() == before
        assert receiver.attempts == []


def test_ticks_drain_closed_windows_in_the_background() -> None:
    with receiving() as (receiver, url):
        recorder = RequestRecorder(window_seconds=1)
        reporter = Reporter(options(url, ticks=True), recorder=recorder)
        with reporter:
            recorder.record(FLAG, "domain", 0.01)
            assert wait_until(lambda: receiver.requests()[(FLAG, "domain", "")] == 1, timeout=20)
        [batch] = receiver.batches()
        [window] = batch.windows
        assert window.seconds == 1
        assert window.start.timestamp() == int(window.start.timestamp())


def test_the_request_path_never_waits_for_a_hanging_server() -> None:
    clock = FakeClock(START)
    client = make_client(clock)
    with receiving() as (receiver, url):
        receiver.hang()
        reporter = Reporter(
            options(url, queue_size=2, timeout=60.0), client=client, clock=clock
        ).start()
        client.recorder.record(FLAG, "legacy", 0.01)
        clock.advance(10)
        reporter.collect()
        assert receiver.arrived.wait(20)  # the sender is now stuck in its POST
        for n in range(20):
            assert client.variant(FLAG, {"user_id": f"u{n}"}) in ("legacy", "domain")
            client.recorder.record(FLAG, "legacy", 0.01)
            clock.advance(10)
            assert reporter.collect() == 1
        assert not receiver.released.is_set()  # all of that happened while the server hung
        health = reporter.health()
        assert health.queued == 2
        assert health.batches_dropped == 18
        receiver.release()
        assert reporter.close()
    assert receiver.requests() == {(FLAG, "legacy", ""): 3}  # the first and the newest two
    assert receiver.dropped_batches() == 18


def test_close_against_a_dead_server_gives_up_in_bounded_time_and_counts_the_loss() -> None:
    clock = FakeClock(START)
    client = make_client(clock)
    dead = f"http://127.0.0.1:{free_port()}"
    reporter = Reporter(options(dead, close_timeout=0.3), client=client, clock=clock).start()
    client.recorder.record(FLAG, "legacy", 0.01)
    assert reporter.close() is False
    health = reporter.health()
    assert (health.started, health.queued) == (False, 0)
    assert (health.batches_dropped, health.windows_dropped) == (1, 1)
    assert reporter_threads() == []


def test_a_sender_still_inside_a_request_at_close_retires_and_its_batch_counts_as_dropped() -> None:
    clock = FakeClock(START)
    client = make_client(clock)
    with receiving() as (receiver, url):
        receiver.hang()
        reporter = Reporter(
            options(url, timeout=3.0, close_timeout=0.3), client=client, clock=clock
        ).start()
        client.recorder.record(FLAG, "legacy", 0.01)
        clock.advance(10)
        reporter.collect()
        assert receiver.arrived.wait(20)  # the sender is stuck in its POST
        assert reporter.close() is False  # gave up waiting after close_timeout (+1 s)
        # the POST times out and the sender ends instead of retrying on its own
        assert wait_until(lambda: reporter_threads() == [], timeout=10)
        receiver.release()
        health = reporter.health()
        assert (health.queued, health.batches_dropped) == (0, 1)
    assert receiver.requests() == {}  # nobody posted it again after close
