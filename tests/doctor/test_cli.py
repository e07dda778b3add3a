"""``rollwise doctor`` against a real ``rollwise serve`` subprocess: exit codes, --json."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from rollwise.cli.doctor import register
from rollwise.store import Store

from .._support.net import free_port
from ..e2e._serve import ADMIN, rollwise_serve
from ._plant import dead_notification

pytestmark = pytest.mark.slow


def doctor_app() -> typer.Typer:
    """The command as ``rollwise`` registers it (a callback keeps ``doctor`` a sub-command)."""
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """rollwise"""

    register(app)
    return app


def test_doctor_against_a_real_server(database_url: str, tmp_path: Path) -> None:
    app, runner = doctor_app(), CliRunner()
    with rollwise_serve(database_url, free_port(), tmp_path / "serve.log") as url:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        created = httpx.post(
            f"{url}/api/v1/environments", json={"key": "production"}, headers=admin
        )
        assert created.is_success, created.text
        env = {"ROLLWISE_URL": url, "ROLLWISE_TOKEN": ADMIN, "COLUMNS": "200"}

        healthy = runner.invoke(app, ["doctor", "--env", "production"], env=env)
        assert healthy.exit_code == 0, healthy.output
        assert "healthy" in healthy.output

        store = Store(database_url)
        try:
            dead_notification(store)
        finally:
            store.close()
        found = runner.invoke(app, ["doctor"], env=env)
        assert found.exit_code == 1, found.output
        assert "outbox.dead" in found.output
        assert "fix:" in found.output
        as_json = runner.invoke(app, ["doctor", "--json"], env=env)
        assert as_json.exit_code == 1
        report = json.loads(as_json.output)
        assert [f["code"] for f in report["findings"]] == ["outbox.dead"]

        wrong = runner.invoke(app, ["doctor", "--token", "not-a-token-at-all"], env=env)
        assert wrong.exit_code == 3
        unknown = runner.invoke(app, ["doctor", "--env", "nope"], env=env)
        assert unknown.exit_code == 3
    gone = runner.invoke(app, ["doctor", "--url", url], env=env)
    assert gone.exit_code == 3
    assert "cannot reach the control plane" in gone.output
