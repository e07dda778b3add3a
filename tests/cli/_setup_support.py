"""A real ``rollwise serve`` per test module (SQLite or PostgreSQL) and a CLI runner for it.

One server per module and database keeps the suite fast; tests in a module share it and so
use names of their own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from rollwise.cli._app import build_app

from .._db import fresh_postgres_database
from .._support.net import free_port
from ..e2e._serve import ADMIN, rollwise_serve

__all__ = ["ADMIN", "Rollwise", "serve_for"]


@contextmanager
def serve_for(kind: str, tmp: Path) -> Iterator[str]:
    """A ``rollwise serve`` subprocess on a fresh database of ``kind``; yields its URL."""
    if kind == "sqlite":
        with rollwise_serve(
            f"sqlite:///{tmp / 'rollwise.db'}", free_port(), tmp / "serve.log"
        ) as url:
            yield url
        return
    with (
        fresh_postgres_database() as database,
        rollwise_serve(database, free_port(), tmp / "serve.log") as url,
    ):
        yield url


@dataclass
class Rollwise:
    """``rollwise ARGS`` through Typer's runner, talking to ``url`` with the admin token."""

    url: str
    config_home: Path
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.app = build_app()
        self.runner = CliRunner()
        self.env = {
            "ROLLWISE_URL": self.url,
            "ROLLWISE_TOKEN": ADMIN,
            "XDG_CONFIG_HOME": str(self.config_home),
            "COLUMNS": "80",
            **self.env,
        }

    def run(
        self, *args: str, env: Mapping[str, str | None] | None = None, stdin: str | None = None
    ) -> Result:
        return self.runner.invoke(
            self.app, list(args), env={**self.env, **(env or {})}, input=stdin
        )

    def __call__(
        self, *args: str, code: int = 0, env: Mapping[str, str | None] | None = None
    ) -> str:
        result = self.run(*args, env=env)
        assert result.exit_code == code, (args, result.exit_code, result.stdout, result.stderr)
        return result.stdout

    def json(self, *args: str, code: int = 0, env: Mapping[str, str | None] | None = None) -> Any:
        return json.loads(self(*args, "--json", code=code, env=env))
