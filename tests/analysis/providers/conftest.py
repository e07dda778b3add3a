"""Session fixtures: one exporter app and one real Prometheus scraping it, for every test
that needs them (each test records under flags of its own, so they never interfere)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rollwise.sdk.recorder import RequestRecorder

from ._prometheus import PrometheusServer, metrics_app, run_prometheus


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
