"""``rollwise serve`` / ``--version`` as a user runs them: a real process, its exit code and
its stderr (one line naming what is wrong, never a traceback)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import rollwise

pytestmark = pytest.mark.slow

ROLLWISE = [sys.executable, "-c", "from rollwise.cli import main; main()"]


def _run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ROLLWISE_")}
    environ.update(env)
    return subprocess.run(
        [*ROLLWISE, *args],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_version_comes_from_the_package_metadata(tmp_path: Path) -> None:
    result = _run(["--version"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"rollwise {rollwise.__version__}"


def test_serve_on_a_port_in_use_fails_before_touching_the_database(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        database = tmp_path / "rollwise.db"
        result = _run(
            ["serve", "--port", str(port), "--database-url", f"sqlite:///{database}"],
            tmp_path,
        )
    line = _one_line(result)
    assert f"127.0.0.1:{port}" in line
    assert "in use" in line
    assert not database.exists()
    assert "admin token" not in result.stderr


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--database-url", "foo://bar"], {}, "--database-url: unsupported database"),
        ([], {"ROLLWISE_DATABASE_URL": "not a url"}, "ROLLWISE_DATABASE_URL"),
        ([], {"ROLLWISE_PORT": "abc"}, "ROLLWISE_PORT"),
        ([], {"ROLLWISE_PORT": "70000"}, "ROLLWISE_PORT"),
        ([], {"ROLLWISE_CONTROLLER_TICK": "soon"}, "ROLLWISE_CONTROLLER_TICK"),
        ([], {"ROLLWISE_RETENTION_10S": "-1"}, "ROLLWISE_RETENTION_10S"),
    ],
)
def test_serve_misconfigured_is_one_line_naming_the_setting(
    tmp_path: Path, args: list[str], env: dict[str, str], named: str
) -> None:
    result = _run(["serve", *args], tmp_path, **env)
    line = _one_line(result)
    assert line.startswith("rollwise: ")
    assert named in line
    assert not (tmp_path / "rollwise.db").exists()


@pytest.mark.parametrize("command", [["db", "status"], ["controller"]])
def test_other_commands_name_a_bad_database_url(tmp_path: Path, command: list[str]) -> None:
    result = _run(command, tmp_path, ROLLWISE_DATABASE_URL="foo://bar")
    assert "ROLLWISE_DATABASE_URL: unsupported database 'foo'" in _one_line(result)


def test_serve_with_an_unreachable_database_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as closed:  # a port nobody listens on once this block ends
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
    url = f"postgresql+psycopg://someone:hunter2@127.0.0.1:{dead_port}/rollwise"
    result = _run(["serve", "--port", "0", "--database-url", url], tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot reach the database" in lines[0]
    assert f":{dead_port}/rollwise" in lines[0]
    assert "hunter2" not in result.stderr
