"""The router agent reports each applied revision at once, and retries a refused report soon.

The report interval is an hour in these tests: a report that arrives is one the agent sent
because of the new revision, not a heartbeat.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from rollwise.core.rollout import parse_router_instance
from rollwise.routing import AgentConfig, RouterAgent
from rollwise.sdk.sources.base import ConfigListener

from .._support.waiting import wait_until
from ._recording import Recording

FLAG = "camera"


def document(revision: int, canary: int) -> dict[str, Any]:
    return {
        "revision": f"production:{revision}",
        "environment": "production",
        "flags": [
            {
                "key": FLAG,
                "variants": ["v1", "v2"],
                "environments": {"production": {"split": {"v1": 10_000 - canary, "v2": canary}}},
            }
        ],
    }


class PushedSource:
    """A config source the test pushes documents through, as the event stream would."""

    def __init__(self, first: dict[str, Any]) -> None:
        self.first = first
        self.listener: ConfigListener | None = None

    def initial(self) -> tuple[Any, str]:
        return copy.deepcopy(self.first), "test"

    def start(self, listener: ConfigListener) -> None:
        self.listener = listener

    def push(self, data: dict[str, Any]) -> None:
        assert self.listener is not None
        assert self.listener.config_received(data, "test")

    def close(self) -> None:
        pass


class ControlPlane:
    """Takes telemetry posts (refusing the first ``refuse`` of them) and keeps them."""

    def __init__(self, refuse: int = 0) -> None:
        self.refuse = refuse
        self.received: list[dict[str, Any]] = []
        self.attempts = 0
        self._lock = threading.Lock()

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.attempts += 1
            if self.attempts <= self.refuse:
                return httpx.Response(503)
            self.received.append(json.loads(request.content))
        return httpx.Response(202, json={"accepted": True})

    def revisions(self) -> list[int]:
        with self._lock:
            return [batch["sdk"].get("config_revision") for batch in self.received]


@pytest.fixture
def hourly() -> AgentConfig:
    return AgentConfig(url="http://control-plane.test", flag=FLAG, report_interval=3600, router={})


@contextmanager
def agent_for(
    config: AgentConfig, plane: ControlPlane, source: PushedSource
) -> Iterator[RouterAgent]:
    agent = RouterAgent(
        config,
        Recording(),
        router_type="nginx",
        token="rw_sdk_test",
        source=source,
        transport=httpx.MockTransport(plane.handle),
    )
    with agent:
        yield agent


def test_each_applied_revision_is_reported_at_once_not_at_the_next_heartbeat(
    hourly: AgentConfig,
) -> None:
    plane = ControlPlane()
    source = PushedSource(document(42, 0))
    with agent_for(hourly, plane, source) as agent:
        wait_until(lambda: plane.revisions() == [42], timeout=30, message="the first report")
        source.push(document(43, 1_000))  # the split moves: applied, reported
        wait_until(lambda: plane.revisions()[-1:] == [43], timeout=30, message="revision 43")
        source.push(document(44, 1_000))  # another flag changed: same traffic, new revision
        wait_until(lambda: plane.revisions()[-1:] == [44], timeout=30, message="revision 44")
        source.push(document(44, 1_000))  # the same document again: nothing new to say
        assert agent.status().applies == 2

        [batch] = plane.received[-1:]
        assert batch["instance"] == agent.instance
        router = parse_router_instance(
            batch["instance"], revision=44, revision_since=None, last_seen=batch["sent_at"]
        )
        assert router is not None
        assert (router.router_type, router.flag) == ("nginx", FLAG)
        assert router.where.endswith(f":{batch['sdk']['pid']}")


def test_a_report_the_control_plane_refuses_is_sent_again_soon(hourly: AgentConfig) -> None:
    plane = ControlPlane(refuse=2)
    source = PushedSource(document(7, 0))
    with agent_for(hourly, plane, source) as agent:
        wait_until(lambda: agent.reports == 1, timeout=60, message="a report taken")
        assert plane.attempts == 3
        assert plane.revisions() == [7]
