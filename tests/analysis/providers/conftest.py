"""Session fixtures: one exporter app and one real Prometheus scraping it, for every test
that needs them (each test records under flags of its own, so they never interfere); per
test, a provider reading that Prometheus and a Step of traffic under a fresh flag."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rollwise.analysis.providers import PrometheusProvider
from rollwise.sdk.recorder import RequestRecorder

from ._prometheus import PrometheusServer, Step, config, metrics_app, run_prometheus


@pytest.fixture(scope="session")
def app_recorder() -> RequestRecorder:
    """The recorder the exporter app serves; tests record straight into it."""
    return RequestRecorder()


@pytest.fixture(scope="session")
def prometheus(
    app_recorder: RequestRecorder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrometheusServer]:
    directory = tmp_path_factory.mktemp("prometheus")
    with metrics_app(app_recorder) as target, run_prometheus(directory, target) as server:
        yield server


@pytest.fixture
def provider(prometheus: PrometheusServer) -> Iterator[PrometheusProvider]:
    opened = PrometheusProvider(config(prometheus))
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def step(prometheus: PrometheusServer, app_recorder: RequestRecorder) -> Step:
    return Step(prometheus, app_recorder)
