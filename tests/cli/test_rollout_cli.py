"""``rollwise rollout ...`` against a real control plane on loopback, on both databases.

The rollout is driven to its end through the store (as the controller would), and
``wait`` is checked for each exit code; one run is a real subprocess whose progress lines
are read as the rollout moves.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rollwise.application import act_on_rollout
from rollwise.cli._app import build_app
from rollwise.store import Store

from .._support.net import free_port
from ..server._support import ADMIN, app_for, live_server, seed

ROLLWISE = Path(sys.executable).with_name("rollwise")
SPEC_ARGS = ["--flag", "checkout", "--env", "production", "--variant", "domain"]


class Cli:
    def __init__(self, url: str, database_url: str) -> None:
        self.url = url
        self.database_url = database_url
        self.env = {"ROLLWISE_URL": url, "ROLLWISE_TOKEN": ADMIN, "COLUMNS": "200"}
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0) -> str:
        result = self.runner.invoke(build_app(), ["rollout", *args], env=self.env)
        assert result.exit_code == code, (args, result.exit_code, result.output)
        return result.output

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json"))

    def act(self, rollout_id: int, action: str, **kwargs: Any) -> None:
        """What the controller does: an action applied through the store."""
        store = Store(self.database_url)
        try:
            with store.transaction("controller") as tx:
                version = tx.rollouts.get(rollout_id).version
                act_on_rollout(tx, rollout_id, action, expected_version=version, **kwargs)
        finally:
            store.close()


@pytest.fixture
def cli(database_url: str) -> Iterator[Cli]:
    server = app_for(database_url)
    with TestClient(server) as setup:
        seed(setup)  # checkout: legacy 90% / domain 10% in production
    with live_server(server) as url:
        yield Cli(url, database_url)


def test_start_status_list_history_and_actions(cli: Cli) -> None:
    out = cli("start", *SPEC_ARGS, "--steps", "25%/1h,50%/1h", "--gate", "error_rate:max=0.01")
    assert "rollout 1: checkout in production, legacy → domain (canary)" in out
    assert "progressing (attempt 1, version 2)" in out
    assert "1 of 3: 25% step, share now 25%" in out
    assert "pause, promote, abort" in out
    view = cli.json("status", "1")
    assert view["spec"]["gates"][0]["max"] == 0.01
    assert view["spec"]["strategy"]["steps"][0] == {"percent": 25, "bake": 3600.0}
    assert "paused" in cli("pause", "1", "--reason", "lunch")
    assert "progressing (attempt 1, version 4)" in cli("resume", "1")
    listed = cli("list", "--active")
    assert "checkout" in listed
    assert "25%" in listed
    assert "succeeded" in cli("promote", "1")
    assert cli("list", "--active") == "no rollouts\n"
    history = cli("history", "1")
    for text in ("start", "pause", "resume", "promote", "lunch", "25% → 100%"):
        assert text in history
    assert [row["action"] for row in cli.json("history", "1")] == [
        "start",
        "pause",
        "resume",
        "promote",
    ]


def test_a_spec_file_and_a_pending_rollout(cli: Cli, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "flag: checkout\nenvironment: production\nvariant: domain\n"
        "strategy:\n  type: blue_green\n  verify: 10m\n"
        "gates:\n  - {metric: error_rate, max: 0.02}\n"
    )
    created = cli.json("create", "-f", str(spec))
    assert (created["phase"], created["strategy"]) == ("pending", "blue_green")
    started = cli.json("start", str(created["id"]))
    assert (started["phase"], started["share"]) == ("progressing", 10000)


def test_errors_print_the_reason_and_exit_3(cli: Cli, tmp_path: Path) -> None:
    local = cli("start", *SPEC_ARGS, "--steps", "50%,10%", code=3)
    assert "strategy.steps.1.percent" in local
    gate = cli("start", *SPEC_ARGS, "--gate", "error_rate:max=lots", code=3)
    assert "max must be a finite number" in gate
    for not_finite in ("nan", "inf"):
        gate = cli("start", *SPEC_ARGS, "--gate", f"latency_p95:max={not_finite}", code=3)
        assert "max must be a finite number" in gate
    nan_file = tmp_path / "nan.yaml"
    nan_file.write_text(
        "flag: checkout\nenvironment: production\nvariant: domain\n"
        "gates:\n  - {metric: latency_p95, max: .nan}\n"
    )
    assert "gates.0.max" in cli("start", "-f", str(nan_file), code=3)
    missing = cli("start", "-f", str(tmp_path / "nope.yaml"), code=3)
    assert "cannot read" in missing
    server = cli("start", *SPEC_ARGS[:4], "--variant", "domian", code=3)
    assert "unknown variant 'domian'" in server
    cli("start", *SPEC_ARGS)
    taken = cli("start", *SPEC_ARGS, code=3)
    assert "already has an active rollout" in taken
    illegal = cli("resume", "1", code=3)
    assert "legal now: pause, promote, abort" in illegal
    assert "does not exist" in cli("status", "42", code=3)
    stale = cli("pause", "1", "--version", "1", code=3)
    assert "is at version 2, not 1" in stale
    cli.env["ROLLWISE_TOKEN"] = "wrong-token-0123456789"
    assert "unknown or revoked" in cli("status", "1", code=3)
    cli.env["ROLLWISE_URL"] = f"http://127.0.0.1:{free_port()}"
    assert "cannot reach the control plane" in cli("list", code=3)


@pytest.mark.parametrize(
    ("actions", "code", "phase"),
    [
        (["promote"], 0, "succeeded"),
        (["rollback"], 1, "rolled_back"),
        (["abort"], 1, "aborted"),
    ],
)
def test_wait_exit_codes_for_final_phases(
    cli: Cli, actions: list[str], code: int, phase: str
) -> None:
    cli("start", *SPEC_ARGS)
    for action in actions:
        cli.act(1, action)
    out = cli("wait", "1", "--timeout", "5s", "--interval", "0.05s", code=code)
    assert f"rollout 1: {phase}" in out


def test_wait_times_out_and_stops_on_pause_when_asked(cli: Cli) -> None:
    cli("start", *SPEC_ARGS)
    timed_out = cli("wait", "1", "--timeout", "0.3s", "--interval", "0.05s", code=2)
    assert "timed out after 0.3s: the rollout is still progressing" in timed_out
    cli.act(1, "pause")
    paused = cli("wait", "1", "--timeout", "1m", "--fail-on-pause", code=2)
    assert "rollout 1: paused" in paused
    assert "still paused" in cli("wait", "1", "--timeout", "0.2s", "--interval", "0.05s", code=2)
    assert "invalid duration" in cli("wait", "1", "--timeout", "soon", code=3)


@pytest.mark.slow  # the CLI as a real process
def test_wait_in_a_subprocess_prints_progress_until_the_verdict(cli: Cli) -> None:
    cli("start", *SPEC_ARGS, "--steps", "25%/1h,50%/1h")
    env = {**os.environ, **cli.env, "NO_COLOR": "1"}
    process = subprocess.Popen(
        [str(ROLLWISE), "rollout", "wait", "1", "--timeout", "2m", "--interval", "0.05s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    try:
        first = process.stdout.readline()
        assert first.startswith("rollout 1: progressing: step 1 of 3, share 25%"), first
        cli.act(1, "advance")
        second = process.stdout.readline()
        assert second.startswith("rollout 1: progressing: step 2 of 3, share 50%"), second
        cli.act(1, "rollback", reason="step 2: a gate failed")
        third = process.stdout.readline()
        assert third.startswith("rollout 1: rolled_back: step 2 of 3, share 0%"), third
        assert process.wait(30) == 1
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
