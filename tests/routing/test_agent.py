"""The router agent end to end: a real control plane, the real CLI, a real nginx.

A split changed through the API reaches nginx over the event stream; the agent keeps the
last split while the control plane is away, and a restarted agent starts from its cache.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from rollwise.routing import AgentConfig, RouterAgent

from .._support.net import free_port
from .._support.waiting import wait_until
from ..e2e._serve import ADMIN, rollwise_serve
from ._nginx import HEADER_UNIT, Nginx, backends, running_nginx
from ._recording import Recording

pytestmark = pytest.mark.e2e

ROLLWISE = Path(sys.executable).with_name("rollwise")
FLAG = "camera-release"
UNITS = [f"user-{n}" for n in range(200)]
STATE = f"/api/v1/flags/{FLAG}/environments/production"


def answer(client: httpx.Client, nginx: Nginx, unit: str) -> str:
    """One request as a browser makes it: a keep-alive connection that a reloading nginx
    closes (or resets) just as the request goes out is retried once on a new connection."""
    try:
        return client.get(nginx.url, headers={"X-User": unit}).text
    except (httpx.RemoteProtocolError, httpx.ReadError):
        return client.get(nginx.url, headers={"X-User": unit}).text


def share_on_v2(nginx: Nginx) -> float:
    with httpx.Client() as client:
        answers = [answer(client, nginx, unit) for unit in UNITS]
    return answers.count("v2") / len(UNITS)


@pytest.fixture
def control_plane(database_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    with rollwise_serve(database_url, free_port(), tmp_path / "serve.log") as url:
        admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"})
        assert admin.post("/api/v1/environments", json={"key": "production"}).is_success
        assert admin.post("/api/v1/flags", json={"key": FLAG, "variants": ["v1", "v2"]}).is_success
        assert admin.put(STATE, json={"split": {"v1": 10_000}, "version": 0}).is_success
        token = admin.post(
            "/api/v1/tokens", json={"name": "router", "scope": "sdk", "environment": "production"}
        ).json()["secret"]
        yield url, token


def test_the_agent_follows_the_control_plane_and_keeps_the_last_split_without_it(
    control_plane: tuple[str, str], tmp_path: Path
) -> None:
    url, token = control_plane
    admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"})
    cache = tmp_path / "router-cache.json"
    with running_nginx(tmp_path) as nginx, backends("v1", "v2") as upstreams:
        router = nginx.router_config(upstreams, unit=HEADER_UNIT).model_dump(
            mode="json", exclude={"type"}
        )
        config_file = tmp_path / "router.yaml"
        config_file.write_text(
            yaml.safe_dump({"url": url, "flag": FLAG, "cache_path": str(cache), "router": router})
        )
        agent = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from rollwise.cli.router import router_app; router_app()",
                "nginx",
                "-f",
                str(config_file),
                "--log-level",
                "warning",
            ],
            env={**os.environ, "ROLLWISE_SDK_TOKEN": token},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(lambda: share_on_v2(nginx) == 0.0, timeout=30, message="nginx at 0%")
            assert admin.put(STATE, json={"split": {"v1": 7_500, "v2": 2_500}, "version": 1})
            wait_until(lambda: 0.1 < share_on_v2(nginx) < 0.4, timeout=30, message="25%")
            assert admin.put(STATE, json={"split": {"v1": 0, "v2": 10_000}, "version": 2})
            wait_until(lambda: share_on_v2(nginx) == 1.0, timeout=30, message="100%")
        finally:
            agent.send_signal(signal.SIGTERM)
            output = agent.communicate(timeout=30)[0].decode()
        assert agent.returncode == 0, output
        assert share_on_v2(nginx) == 1.0  # the agent is gone; nginx keeps the last split

    # a new agent starting while the control plane is down serves the cached split
    recording = Recording()
    config = AgentConfig(url="http://127.0.0.1:9", flag=FLAG, cache_path=cache, router={})
    with RouterAgent(config, recording, router_type="test", token=token):
        pass
    assert recording.applied[0].weights == (("v1", 0), ("v2", 10_000))
