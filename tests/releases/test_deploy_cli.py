"""``rollwise deploy`` from a CI job against a real ``rollwise serve`` (its controller on a
fast tick) fed synthetic release telemetry: a branch deploys nothing, a first tag goes live,
a healthy release is promoted (exit 0), a faulty one rolled back (exit 1), an unreachable
control plane is exit 3; ``releases list`` and ``rollback`` then show and undo it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner, Result

from rollwise.cli import deploy as deploy_cli
from rollwise.cli import releases as releases_cli

from .._support.net import free_port
from ..e2e._serve import ADMIN, rollwise_serve
from ._support import FLAG
from ._traffic import ReleaseTraffic

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SERVER_ENV = {"ROLLWISE_CONTROLLER_TICK": "0.2"}
DOCUMENT = f"""
version: 1
environments:
  staging: {{}}
  production: {{production: true}}
flags:
  {FLAG}:
    variants: [v1.3.0]
defaults:
  production:
    release:
      strategy: {{type: canary, steps: ["50%/1s", "100%"]}}
      gates: [{{metric: error_rate, max: 0.05}}]
      min_samples: 50
deploy:
  - {{ref: refs/heads/main, environment: staging}}
  - {{ref: "refs/tags/v*", environment: production}}
"""


def _cli() -> typer.Typer:
    """The commands as ``rollwise`` registers them (cli/_app.py)."""
    app = typer.Typer()
    app.command("deploy")(deploy_cli.deploy)
    app.command("rollback")(releases_cli.rollback)
    app.add_typer(releases_cli.group, name="releases")
    return app


@pytest.fixture
def control_plane(database_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The server's URL and an SDK token of production; environments made."""
    with rollwise_serve(
        database_url, free_port(), tmp_path / "serve.log", extra_env=SERVER_ENV
    ) as url:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}) as admin:
            for key in ("staging", "production"):
                assert admin.post("/api/v1/environments", json={"key": key}).is_success
            made = admin.post(
                "/api/v1/tokens", json={"name": "app", "scope": "sdk", "environment": "production"}
            )
            assert made.is_success, made.text
        yield url, str(made.json()["secret"])


def _run(url: str, file: Path, *args: str) -> Result:
    command = [*args, "--url", url, "--token", ADMIN]
    if args[0] == "deploy":
        command += ["-f", str(file), "--interval", "0.2s", "--timeout", "2m"]
    return CliRunner().invoke(_cli(), command)


def test_deploy_follows_the_ref_rules_and_the_verdict(
    control_plane: tuple[str, str], tmp_path: Path
) -> None:
    url, sdk_token = control_plane
    file = tmp_path / "rollwise.yaml"
    file.write_text(DOCUMENT)

    which = _run(url, file, "deploy", "--ref", "refs/heads/main", "--print-environment")
    assert (which.exit_code, which.output) == (0, "staging\n")
    which = _run(url, file, "deploy", "--ref", "refs/heads/feature/x", "--print-environment")
    assert (which.exit_code, which.output) == (0, "\n")
    branch = _run(url, file, "deploy", "--ref", "refs/heads/feature/x", "--release", "x")
    assert branch.exit_code == 0, branch.output
    assert "no deployment for refs/heads/feature/x" in branch.output

    first = _run(url, file, "deploy", "--ref", "refs/tags/v1.4.0", "--release", "v1.4.0")
    assert first.exit_code == 0, first.output
    assert "live in production" in first.output

    with ReleaseTraffic(url, sdk_token, FLAG) as traffic:
        traffic.serve({"v1.4.0": 0, "v1.5.0": 0})
        healthy = _run(
            url, file, "deploy", "--ref", "refs/tags/v1.5.0", "--release", "v1.5.0",
            "--commit", "abc123",
        )  # fmt: skip
        assert healthy.exit_code == 0, healthy.output
        assert "v1.5.0 in production: promoted" in healthy.output
        assert "step 1/2 (50%)" in healthy.output

        traffic.serve({"v1.5.0": 0, "v1.6.0": 40})
        faulty = _run(url, file, "deploy", "--ref", "refs/tags/v1.6.0", "--release", "v1.6.0")
        assert faulty.exit_code == 1, faulty.output
        assert "v1.6.0 in production: rolled_back" in faulty.output
        assert traffic.refused == []

    listed = _run(url, file, "releases", "list", "--env", "production", "--json")
    assert listed.exit_code == 0, listed.output
    history: list[dict[str, Any]] = json.loads(listed.output)
    assert [(r["version"], r["outcome"]) for r in history] == [
        ("v1.6.0", "rolled_back"),
        ("v1.5.0", "promoted"),
        ("v1.4.0", "superseded"),
    ]
    assert history[1]["commit"] == "abc123"

    back = _run(url, file, "rollback", "--env", "production", "--reason", "drill")
    assert back.exit_code == 0, back.output
    assert "v1.5.0 → v1.4.0" in back.output
    staging = _run(url, file, "releases", "list", "--env", "staging")
    assert staging.exit_code == 0, staging.output
    assert "no release in staging" in staging.output


def test_deploy_without_a_control_plane_is_exit_3(tmp_path: Path) -> None:
    file = tmp_path / "rollwise.yaml"
    file.write_text(DOCUMENT)
    unreachable = f"http://127.0.0.1:{free_port()}"
    result = _run(unreachable, file, "deploy", "--ref", "refs/tags/v2.0.0", "--release", "v2.0.0")
    assert result.exit_code == 3, result.output
    assert "cannot reach the control plane" in result.output
    not_a_url = _run("ftp://x", file, "deploy", "--ref", "refs/tags/v2.0.0", "--release", "v2")
    assert not_a_url.exit_code == 3, not_a_url.output
    missing = CliRunner().invoke(_cli(), ["deploy", "--ref", "refs/tags/v2.0.0"])
    assert missing.exit_code == 3, missing.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("deploy: [{ref: main, environment: production}]\n")
    invalid = _run(unreachable, broken, "deploy", "--ref", "refs/heads/main", "--release", "v1")
    assert invalid.exit_code == 3, invalid.output
    assert "deploy[0].ref" in invalid.output
