"""The Prometheus exporter: names and labels (a contract with PromQL users), values read at
scrape time, buckets from the sketch, monotone counters, and no global registry.

Every test scrapes a real CollectorRegistry and parses the text with prometheus-client's own
parser; one serves it over HTTP on loopback.
"""

from __future__ import annotations

import random
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import prometheus_client
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from rollwise.errors import ConfigError
from rollwise.sdk.prometheus import DEFAULT_BUCKETS, register_recorder
from rollwise.sdk.recorder import RequestRecorder
from rollwise.stats import LatencySketch

from .._support.clock import FakeClock
from .._support.fork import Send, forked

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(registry: CollectorRegistry) -> Samples:
    return parse(generate_latest(registry).decode())


def parse(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def requests(samples: Samples, flag: str, variant: str, outcome: str, **extra: str) -> float:
    labels = {"flag": flag, "variant": variant, "outcome": outcome, **extra}
    return value(samples, "rollwise_requests_total", **labels)


def bucket(samples: Samples, flag: str, variant: str, le: str, **extra: str) -> float:
    labels = {"flag": flag, "variant": variant, "le": le, **extra}
    return value(samples, "rollwise_request_duration_seconds_bucket", **labels)


@pytest.fixture
def recorder() -> RequestRecorder:
    return RequestRecorder(clock=FakeClock())


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def test_requests_counter_by_outcome(
    recorder: RequestRecorder, registry: CollectorRegistry
) -> None:
    register_recorder(recorder, registry)
    for status in (200, 201, 302, 404, 500, 503, None):
        recorder.record("checkout", "domain", 0.05, status)
    recorder.record("checkout", "legacy", 0.05)
    samples = scrape(registry)
    assert requests(samples, "checkout", "domain", "success") == 3
    assert requests(samples, "checkout", "domain", "client_error") == 1
    assert requests(samples, "checkout", "domain", "error") == 3
    assert requests(samples, "checkout", "legacy", "success") == 1
    assert requests(samples, "checkout", "legacy", "error") == 0  # zeros are exported too
    assert requests(samples, "checkout", "legacy", "client_error") == 0


def test_histogram_families_and_default_buckets(
    recorder: RequestRecorder, registry: CollectorRegistry
) -> None:
    register_recorder(recorder, registry)
    latencies = [0.003, 0.04, 0.2, 0.2, 0.9, 30.0]
    for seconds in latencies:
        recorder.record("f", "on", seconds)
    text = generate_latest(registry).decode()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert families["rollwise_requests"].type == "counter"
    assert families["rollwise_request_duration_seconds"].type == "histogram"
    samples = parse(text)
    les = sorted(
        float(dict(labels)["le"])
        for name, labels in samples
        if name == "rollwise_request_duration_seconds_bucket"
    )
    assert les == [*DEFAULT_BUCKETS, float("inf")]
    for bound in DEFAULT_BUCKETS:  # no latency here is within 1% of a bound: exact counts
        expected = sum(1 for seconds in latencies if seconds <= bound)
        assert bucket(samples, "f", "on", repr(bound)) == expected
    assert bucket(samples, "f", "on", "+Inf") == 6
    assert value(samples, "rollwise_request_duration_seconds_count", flag="f", variant="on") == 6
    total = value(samples, "rollwise_request_duration_seconds_sum", flag="f", variant="on")
    assert total == pytest.approx(sum(latencies))


def test_bucket_counts_err_only_within_one_percent_of_a_bound(registry: CollectorRegistry) -> None:
    recorder = RequestRecorder(clock=FakeClock())
    register_recorder(recorder, registry)
    rng = random.Random(5)
    latencies = [rng.lognormvariate(-2.5, 1.2) for _ in range(5000)]
    for seconds in latencies:
        recorder.record("f", "on", seconds)
    samples = scrape(registry)
    for bound in DEFAULT_BUCKETS:
        counted = bucket(samples, "f", "on", repr(bound))
        assert sum(1 for s in latencies if s <= bound / 1.0101) <= counted
        assert counted <= sum(1 for s in latencies if s <= bound / 0.9899)


def test_values_are_read_at_scrape_time_and_drain_does_not_reset_them(
    registry: CollectorRegistry,
) -> None:
    clock = FakeClock()
    recorder = RequestRecorder(clock=clock)
    register_recorder(recorder, registry)
    assert scrape(registry) == {}  # nothing recorded: no series
    recorder.record("f", "on", 0.01)
    assert requests(scrape(registry), "f", "on", "success") == 1
    clock.advance(10)
    recorder.record("f", "on", 0.01, 500)
    recorder.drain(include_open=True)
    samples = scrape(registry)
    assert requests(samples, "f", "on", "success") == 1
    assert requests(samples, "f", "on", "error") == 1
    assert bucket(samples, "f", "on", "+Inf") == 2


def test_routes_are_added_up_unless_asked_for(recorder: RequestRecorder) -> None:
    recorder.record("f", "on", 0.01, route="/a")
    recorder.record("f", "on", 0.02, 500, route="/b/{id}")
    plain, routed = CollectorRegistry(), CollectorRegistry()
    register_recorder(recorder, plain)
    register_recorder(recorder, routed, include_route=True)
    samples = scrape(plain)
    assert requests(samples, "f", "on", "success") == 1
    assert requests(samples, "f", "on", "error") == 1
    assert bucket(samples, "f", "on", "+Inf") == 2
    assert all("route" not in dict(labels) for _, labels in samples)
    samples = scrape(routed)
    assert requests(samples, "f", "on", "success", route="/a") == 1
    assert requests(samples, "f", "on", "error", route="/b/{id}") == 1
    assert bucket(samples, "f", "on", "0.025", route="/b/{id}") == 1


def test_custom_buckets(recorder: RequestRecorder, registry: CollectorRegistry) -> None:
    register_recorder(recorder, registry, buckets=(0.1, 1, float("inf")))
    recorder.record("f", "on", 0.5)
    samples = scrape(registry)
    les = {dict(labels)["le"] for name, labels in samples if name.endswith("_bucket")}
    assert les == {"0.1", "1.0", "+Inf"}
    assert bucket(samples, "f", "on", "1.0") == 1
    assert bucket(samples, "f", "on", "0.1") == 0


@pytest.mark.parametrize(
    "buckets", [(), (0.5, 0.1), (0.1, 0.1), (-1.0, 1.0), (0.1, float("nan")), ("fast",), [None]]
)
def test_bad_buckets_are_a_config_error(recorder: RequestRecorder, buckets: Any) -> None:
    registry = CollectorRegistry()
    with pytest.raises(ConfigError) as caught:
        register_recorder(recorder, registry, buckets=buckets)
    assert caught.value.path == "buckets"
    assert scrape(registry) == {}


def test_nothing_lands_on_the_global_registry(
    recorder: RequestRecorder, registry: CollectorRegistry
) -> None:
    register_recorder(recorder, registry)
    recorder.record("f", "on", 0.01)
    assert b"rollwise_requests_total" in generate_latest(registry)
    assert b"rollwise_request" not in generate_latest(prometheus_client.REGISTRY)


def test_registering_twice_on_one_registry_is_refused_and_unregister_works(
    recorder: RequestRecorder, registry: CollectorRegistry
) -> None:
    collector = register_recorder(recorder, registry)
    with pytest.raises(ValueError, match="Duplicated"):
        register_recorder(recorder, registry)
    registry.unregister(collector)
    recorder.record("f", "on", 0.01)
    assert scrape(registry) == {}


def test_buckets_never_go_down_when_the_estimate_moves(registry: CollectorRegistry) -> None:
    # A latency just under a bound, in a sketch bucket whose midpoint is above it: while it
    # is the maximum, its estimate is clamped to it (counted at that le); a slower request
    # later moves the estimate to the midpoint, which alone would make the bucket go down.
    seconds = 0.1
    while (midpoint := estimate_when_not_the_max(seconds)) <= seconds:
        seconds *= 1.003
    bound = (seconds + midpoint) / 2
    recorder = RequestRecorder(clock=FakeClock())
    register_recorder(recorder, registry, buckets=(bound,))
    recorder.record("f", "on", seconds)
    assert bucket(scrape(registry), "f", "on", repr(bound)) == 1
    recorder.record("f", "on", 5.0)
    samples = scrape(registry)
    assert bucket(samples, "f", "on", repr(bound)) == 1
    assert bucket(samples, "f", "on", "+Inf") == 2


def estimate_when_not_the_max(seconds: float) -> float:
    sketch = LatencySketch()
    for value in (seconds, seconds, 1000.0):
        sketch.add(value)
    estimate = sketch.quantile(0.5)
    assert estimate is not None
    return estimate


def test_scrapes_are_monotone_while_threads_record(registry: CollectorRegistry) -> None:
    recorder = RequestRecorder()
    register_recorder(recorder, registry)
    stop = threading.Event()

    def work() -> None:
        rng = random.Random(1)
        while not stop.is_set():
            for _ in range(200):
                recorder.record("f", "on", rng.lognormvariate(-3, 1.5), rng.choice([200, 500]))

    worker = threading.Thread(target=work)
    worker.start()
    try:
        previous: Samples = {}
        for _ in range(30):
            samples = scrape(registry)
            for key, before in previous.items():
                if not key[0].endswith("_sum"):
                    assert samples[key] >= before, key
            previous = samples
    finally:
        stop.set()
        worker.join()
    assert previous


def test_a_forked_child_exports_its_own_counts_as_a_reset(registry: CollectorRegistry) -> None:
    recorder = RequestRecorder()
    register_recorder(recorder, registry)
    for _ in range(5):
        recorder.record("f", "on", 0.01)
    assert bucket(scrape(registry), "f", "on", "0.01") == 5

    def child(send: Send) -> None:
        recorder.record("f", "on", 0.01)
        samples = scrape(registry)
        send(
            {
                "success": requests(samples, "f", "on", "success"),
                "le": bucket(samples, "f", "on", "0.01"),
            }
        )

    with forked(child) as next_report:
        assert next_report() == {"success": 1, "le": 1}
    assert bucket(scrape(registry), "f", "on", "0.01") == 5


@pytest.fixture
def served(registry: CollectorRegistry) -> Iterator[str]:
    server, thread = prometheus_client.start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield f"http://127.0.0.1:{server.server_port}/metrics"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_served_over_http(
    recorder: RequestRecorder, registry: CollectorRegistry, served: str
) -> None:
    register_recorder(recorder, registry, include_route=True)
    recorder.record("checkout", "domain", 0.2, 503, route="/orders/{id}")
    with urllib.request.urlopen(served, timeout=10) as response:
        samples = parse(response.read().decode())
    labels = {"route": "/orders/{id}"}
    assert requests(samples, "checkout", "domain", "error", **labels) == 1
    assert bucket(samples, "checkout", "domain", "0.25", **labels) == 1
    assert bucket(samples, "checkout", "domain", "0.15", **labels) == 0
