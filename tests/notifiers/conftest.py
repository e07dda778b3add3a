"""Fixtures for notifier tests: a sample notification, live receivers, a certificate."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rollwise.notifiers import Notification

from ._receivers import Certificate, HttpReceiver, SmtpSink, self_signed_certificate

NOW = datetime(2024, 5, 1, 12, 30, 0, tzinfo=UTC)


def make_notification(**overrides: Any) -> Notification:
    """A rolled-back rollout, the richest notification rollwise sends."""
    values: dict[str, Any] = {
        "id": "7f9c2ba4-e88f-4c3a-9a1b-000000000042",
        "kind": "rollout.transition",
        "severity": "critical",
        "title": "checkout rolled back in production",
        "summary": "error rate 5.1% vs 1.0% on the baseline (p < 0.001)",
        "subject": {"flag": "checkout", "environment": "production", "rollout": 17},
        "occurred_at": NOW,
        "fields": {
            "step": 2,
            "share": "25%",
            "phase": "progressing → rolled_back",
            "error_rate gate": "failed",
            "p95 gate": "passed",
        },
        "evidence": {"gates": [{"metric": "error_rate", "canary": 0.051, "baseline": 0.01}]},
        "links": {"rollout": "https://rollwise.example/rollouts/17"},
    }
    values.update(overrides)
    return Notification(**values)


@pytest.fixture
def notification() -> Notification:
    return make_notification()


@pytest.fixture
def notification_factory() -> Callable[..., Notification]:
    return make_notification


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as running:
        yield running


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    directory: Path = tmp_path_factory.mktemp("tls")
    return self_signed_certificate(directory)
