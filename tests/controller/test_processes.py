"""The controller in real processes: inside `rollwise serve`, and alone as `rollwise controller`
next to `rollwise serve` without one, handing leadership over on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from .._support.net import free_port
from ..e2e._serve import ADMIN, ROLLWISE, rollwise_serve
from ._processes import (
    FAST,
    report_traffic,
    rollwise_controller,
    seed,
    start,
    wait_for_log,
    wait_for_phase,
)

pytestmark = pytest.mark.slow


def drive_to_success(admin: httpx.Client, log: Path) -> None:
    rollout = start(admin)
    report_traffic(admin, rollout)
    done = wait_for_phase(admin, rollout["id"], "succeeded", log)
    assert done["share"] == 10000
    history = admin.get(f"/api/v1/rollouts/{rollout['id']}/history").json()
    assert [(h["action"], h["actor"]) for h in history][1:] == [("advance", "controller")]
    state = admin.get("/api/v1/flags/checkout/environments/production").json()
    assert state["state"]["split"] == {"legacy": 0, "domain": 10000}


def test_rollwise_serve_runs_the_controller(database_url: str, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    with (
        rollwise_serve(database_url, free_port(), log, extra_env=FAST) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}) as admin,
    ):
        seed(admin)
        drive_to_success(admin, log)


def test_rollwise_controller_alone_next_to_serve_without_one(
    empty_postgres: str, tmp_path: Path
) -> None:
    postgres_url = empty_postgres
    serve_log, first_log, second_log = (tmp_path / f"{n}.log" for n in ("serve", "one", "two"))
    no_controller = {"ROLLWISE_CONTROLLER": "off"}
    with (
        rollwise_serve(postgres_url, free_port(), serve_log, extra_env=no_controller) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}) as admin,
    ):
        seed(admin)
        with rollwise_controller(postgres_url, first_log) as first:
            wait_for_log(first_log, "this process leads the controller")
            drive_to_success(admin, first_log)
            with rollwise_controller(postgres_url, second_log) as second:
                wait_for_log(second_log, "controller started")
                first.send_signal(signal.SIGTERM)  # stops after its round, releasing the lock
                assert first.wait(30) == 0
                wait_for_log(second_log, "this process leads the controller")
                second.send_signal(signal.SIGTERM)
                assert second.wait(30) == 0
            # nobody leads now: the next rollout waits for a controller
            rollout = start(admin)
            report_traffic(admin, rollout)
            with rollwise_controller(postgres_url, tmp_path / "three.log"):
                wait_for_phase(admin, rollout["id"], "succeeded", tmp_path / "three.log")
        assert "SIGTERM received, stopping" in first_log.read_text()


def test_a_bad_setting_stops_rollwise_controller_with_the_variable_named(tmp_path: Path) -> None:
    env = {**os.environ, "ROLLWISE_CONTROLLER_TICK": "soon"}
    url = f"sqlite:///{tmp_path / 'r.db'}"
    result = subprocess.run(
        [str(ROLLWISE), "controller", "--database-url", url],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "ROLLWISE_CONTROLLER_TICK: invalid duration 'soon'" in result.stderr
