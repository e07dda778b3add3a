"""Three variants through the builtin provider over a real store (SQLite and PostgreSQL):
an experiment's arms, each with its counts, latencies and per-window counts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta

import pytest

from rollwise.analysis import MetricQuery
from rollwise.analysis.providers import BuiltinProvider, WindowReader
from rollwise.errors import NoDataError
from rollwise.store import Store
from rollwise.store.telemetry.types import VariantWindow

from ..._support.clock import FakeClock
from ...store._telemetry import NOW, T0, batch, series, window

ARMS = ("control", "a", "b")


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = Store(database_url, clock=FakeClock(NOW))
    with opened.transaction("setup") as tx:
        tx.environments.create("production")
        tx.flags.create("checkout", variants=[*ARMS, "retired"])
    try:
        yield opened
    finally:
        opened.close()


def reader(store: Store) -> WindowReader:
    def read(
        environment: str, flag: str, start: datetime, end: datetime
    ) -> Mapping[str, VariantWindow]:
        with store.transaction("judge") as tx:
            return tx.telemetry.variant_window(environment, flag, start, end)

    return read


def ingest(store: Store, *windows: dict[str, object]) -> None:
    with store.transaction("sdk") as tx:
        tx.telemetry.ingest("production", batch(*windows))


def query(*variants: str, end: datetime = T0 + timedelta(seconds=90)) -> MetricQuery:
    return MetricQuery("checkout", "production", variants=variants, start=T0, end=end)


def test_three_arms_each_get_their_counts_latencies_and_windows(store: Store) -> None:
    ingest(
        store,
        window(
            T0,
            series=[
                series("checkout", "control", [0.010] * 6, errors=1),
                series("checkout", "a", [0.020] * 3),
                series("checkout", "retired", [0.5] * 9),
            ],
        ),
        window(
            T0 + timedelta(seconds=70),
            series=[
                series("checkout", "a", [0.030] * 2, errors=2, client_errors=0),
                series("checkout", "b", [0.040] * 4, client_errors=1),
            ],
        ),
    )
    provider = BuiltinProvider(reader(store), window_seconds=60)
    answer = provider.fetch(query(*ARMS))
    assert list(answer.variants) == list(ARMS)  # the query's order; "retired" not asked
    figures = {name: (m.requests, m.errors, m.client_errors) for name, m in answer.variants.items()}
    assert figures == {"control": (6, 1, 0), "a": (5, 2, 0), "b": (4, 0, 1)}
    latency_b = answer.variants["b"].latency
    assert latency_b is not None
    assert latency_b.quantile(0.5) == pytest.approx(0.04, rel=0.01)
    per_window = {
        name: [(w.requests, w.errors) for w in m.windows or ()]
        for name, m in answer.variants.items()
    }
    assert per_window == {
        "control": [(6, 1), (0, 0)],
        "a": [(3, 0), (2, 2)],
        "b": [(0, 0), (4, 0)],
    }
    bounds = {tuple((w.start, w.end) for w in m.windows or ()) for m in answer.variants.values()}
    assert len(bounds) == 1  # every arm's windows have the same bounds
    assert answer.summary()["variants"]["a"]["requests"] == 5
    assert answer.roles is None


def test_an_arm_without_traffic_is_zero_and_no_traffic_at_all_is_no_data(store: Store) -> None:
    ingest(store, window(T0, series=[series("checkout", "control", [0.01] * 4)]))
    provider = BuiltinProvider(reader(store))
    answer = provider.fetch(query("b", "control"))
    assert [(m.variant, m.requests) for m in answer.variants.values()] == [
        ("b", 0),
        ("control", 4),
    ]
    assert answer.variants["b"].latency is None
    with pytest.raises(NoDataError, match="any of the variants 'a', 'b'") as raised:
        provider.fetch(query("a", "b"))
    assert raised.value.details["variants"] == ["a", "b"]
    with pytest.raises(NoDataError, match="variant 'a'"):
        provider.fetch(
            MetricQuery(
                "checkout", "production", variants=("control", "a"), start=T0,
                end=T0 + timedelta(seconds=90), required=("a",),
            )
        )  # fmt: skip


def test_a_comparison_and_the_same_variants_as_a_list_agree(store: Store) -> None:
    ingest(
        store,
        window(
            T0,
            series=[
                series("checkout", "control", [0.01] * 7, errors=1),
                series("checkout", "a", [0.02] * 3),
            ],
        ),
    )
    provider = BuiltinProvider(reader(store))
    end = T0 + timedelta(seconds=30)
    listed = provider.fetch(query("a", "control", end=end))
    compared = provider.fetch(MetricQuery("checkout", "production", "a", "control", T0, end))
    assert compared.canary.summary() == listed.variants["a"].summary()
    assert compared.baseline is not None
    assert compared.baseline.summary() == listed.variants["control"].summary()
    pair = listed.pair("a", "control")
    assert pair.canary is listed.variants["a"]
    assert pair.baseline is listed.variants["control"]
