"""The reporter samples its own process (CPU, memory) once per window under its release:
with psutil, without it (nothing sampled, nothing broken), when a read fails, after fork."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from typing import Any

import psutil  # type: ignore[import-untyped]
import pytest

import rollwise
from rollwise import ClientOptions, Reporter
from rollwise.core.telemetry import TelemetryBatch
from rollwise.sdk.reporter._process import ProcessSampler

from .._support.fork import Send, forked
from ..sdk_reporter._support import CONFIG, options, receiving

RELEASE_FLAG = "camera-release"


def _client(**extra: Any) -> rollwise.Client:
    return rollwise.Client(CONFIG, options=ClientOptions(environ={}, **extra))


def _release_client() -> rollwise.Client:
    return _client(release="v2.0.0", release_flag=RELEASE_FLAG)


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def _samples(batches: list[TelemetryBatch]) -> list[Any]:
    return [w.process for b in batches for w in b.windows if w.process is not None]


def test_a_sample_reads_this_process_cpu_of_the_machine_and_memory() -> None:
    sampler = ProcessSampler()
    assert sampler.available
    _burn(0.2)
    figures = sampler.sample()
    assert figures is not None
    assert 0.0 <= figures["cpu_percent"] <= 100.0
    assert figures["cpu_percent"] > 0.0  # CPU was spent since the sampler started
    rss = psutil.Process().memory_info().rss
    assert 0.5 * rss <= figures["rss_bytes"] <= 2 * rss
    machine = psutil.virtual_memory().total
    assert figures["memory_percent"] == pytest.approx(
        100.0 * figures["rss_bytes"] / machine, rel=0.5
    )


def test_without_psutil_nothing_is_sampled_and_batches_still_go(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psutil", None)  # `import psutil` raises ImportError
    sampler = ProcessSampler()
    assert not sampler.available
    assert sampler.sample() is None
    with receiving() as (receiver, url):
        client = _release_client()
        client.recorder.record(RELEASE_FLAG, "v2.0.0", 0.01, 200)
        reporter = Reporter(options(url), client=client)
        assert reporter.flush(timeout=30)
        batches = receiver.batches()
    assert batches
    assert sum(len(b.windows) for b in batches) >= 1
    assert _samples(batches) == []


def test_a_release_process_reports_its_sample_under_its_release() -> None:
    with receiving() as (receiver, url):
        reporter = Reporter(options(url), client=_release_client())
        assert reporter.flush(timeout=30)  # no request served: the sample alone travels
        samples = _samples(receiver.batches())
    assert len(samples) == 1
    assert (samples[0].flag, samples[0].variant) == (RELEASE_FLAG, "v2.0.0")
    assert samples[0].rss_bytes > 0


def test_a_process_without_a_release_flag_reports_no_sample() -> None:
    with receiving() as (receiver, url):
        client = _client(release="v2.0.0")
        client.recorder.record("checkout", "legacy", 0.01, 200)
        reporter = Reporter(options(url), client=client)
        assert reporter.flush(timeout=30)
        batches = receiver.batches()
    assert batches
    assert _samples(batches) == []


def test_a_failing_read_is_no_sample_logged_once_never_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    sampler = ProcessSampler(logging.getLogger("rollwise.test"))
    sampler._process = psutil.Process(child.pid)  # a process that is about to be gone
    child.wait(timeout=60)
    with caplog.at_level(logging.WARNING, logger="rollwise.test"):
        assert sampler.sample() is None
        assert sampler.sample() is None
    warnings = [r for r in caplog.records if "CPU and memory" in r.getMessage()]
    assert len(warnings) == 1


def test_a_forked_child_samples_itself_and_reports_its_own_pid() -> None:
    with receiving() as (receiver, url):
        reporter = Reporter(options(url), client=_release_client()).start()
        try:

            def child(send: Send) -> None:
                _burn(0.1)
                send({"pid": os.getpid(), "flushed": reporter.flush(timeout=30)})

            with forked(child) as reports:
                report = reports.next(timeout=60)
        finally:
            reporter.close()
        from_child = [
            b for b in receiver.batches() if b.sdk is not None and b.sdk.pid == report["pid"]
        ]
    assert report["flushed"]
    assert _samples(from_child), "the child's batch carries the child's own sample"
