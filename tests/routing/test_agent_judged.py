"""A release step through a real nginx is judged from the moment the real agent applied it.

A real control plane (its controller judging twice a second), Debian's nginx, two tiny
backends and ``rollwise router nginx`` as a subprocess: the rollout names the nginx router,
so its first step waits — judging nothing — until the agent has put the step's split into
nginx and reported it; the step's window then starts at that report, not at the step's
start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from .._support.net import free_port
from .._support.waiting import wait_until
from ..e2e._serve import ADMIN, rollwise_serve
from ._nginx import HEADER_UNIT, Nginx, backends, running_nginx

pytestmark = pytest.mark.e2e

FLAG = "camera-release"
UNITS = [f"user-{n}" for n in range(200)]
AGENT = [sys.executable, "-c", "from rollwise.cli.router import router_app; router_app()"]


def share_on_v2(nginx: Nginx) -> float:
    answers = []
    with httpx.Client() as client:
        for unit in UNITS:
            try:
                answers.append(client.get(nginx.url, headers={"X-User": unit}).text)
            except httpx.RemoteProtocolError:  # a keep-alive connection a reload closed
                answers.append(client.get(nginx.url, headers={"X-User": unit}).text)
    return answers.count("v2") / len(UNITS)


def judgement_where(
    admin: httpx.Client, rollout_id: int, holds: Callable[[dict[str, Any]], bool]
) -> Callable[[], dict[str, Any] | None]:
    """A probe: the rollout's latest judgement once ``holds`` says yes of it."""

    def probe() -> dict[str, Any] | None:
        found: dict[str, Any] | None = admin.get(f"/api/v1/rollouts/{rollout_id}").json()[
            "judgement"
        ]
        return found if found is not None and holds(found) else None

    return probe


def test_the_step_is_judged_from_the_moment_the_agent_applied_its_split(
    database_url: str, tmp_path: Path
) -> None:
    serve_env = {"ROLLWISE_CONTROLLER_TICK": "0.5"}
    with rollwise_serve(
        database_url, free_port(), tmp_path / "serve.log", extra_env=serve_env
    ) as url:
        admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"})
        assert admin.post("/api/v1/environments", json={"key": "production"}).is_success
        flag = {"key": FLAG, "variants": ["v1", "v2"]}
        assert admin.post("/api/v1/flags", json=flag).is_success
        state = f"/api/v1/flags/{FLAG}/environments/production"
        assert admin.put(state, json={"split": {"v1": 10_000}, "version": 0}).is_success
        token = admin.post(
            "/api/v1/tokens", json={"name": "router", "scope": "sdk", "environment": "production"}
        ).json()["secret"]

        spec = {
            "flag": FLAG,
            "environment": "production",
            "variant": "v2",
            "baseline": "v1",
            "strategy": {"steps": ["10%/1h"]},
            "router": "nginx",
            "router_apply_timeout": "10m",
            "start": True,
        }
        created = admin.post("/api/v1/rollouts", json=spec)
        assert created.status_code == 201, created.text
        rollout = created.json()
        waiting = wait_until(
            judgement_where(admin, rollout["id"], lambda j: "no nginx router" in j["reason"]),
            timeout=60,
            message="the step waiting for its router",
        )
        assert waiting["evidence"]["window"] is None  # nothing is judged before the apply

        with running_nginx(tmp_path) as nginx, backends("v1", "v2") as upstreams:
            router = nginx.router_config(upstreams, unit=HEADER_UNIT).model_dump(
                mode="json", exclude={"type"}
            )
            config_file = tmp_path / "router.yaml"
            config_file.write_text(yaml.safe_dump({"url": url, "flag": FLAG, "router": router}))
            launched = datetime.now(UTC)
            agent = subprocess.Popen(
                [*AGENT, "nginx", "-f", str(config_file), "--log-level", "warning"],
                env={**os.environ, "ROLLWISE_SDK_TOKEN": token},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            try:
                judged = wait_until(
                    judgement_where(admin, rollout["id"], lambda j: bool(j["evidence"]["window"])),
                    timeout=60,
                    message="the step judged once nginx applied its split",
                )
                assert 0.02 < share_on_v2(nginx) < 0.25  # nginx serves the step's 10%
            finally:
                agent.send_signal(signal.SIGTERM)
                output = agent.communicate(timeout=30)[0].decode()
            assert agent.returncode == 0, output

    evidence = judged["evidence"]
    routing = evidence["routing"]
    [applied_by] = routing["routers"]
    assert applied_by["instance"].startswith(f"router-nginx/{FLAG}@")
    assert applied_by["revision"] >= routing["revision"]
    assert evidence["window"]["start"] == routing["judged_from"] == routing["applied_at"]
    window_start = datetime.fromisoformat(evidence["window"]["start"])
    assert window_start >= launched  # after the agent was started, not at the step's start
    assert window_start > datetime.fromisoformat(rollout["step_clock"]["started_at"])
    assert judged["decision"] == "hold"
