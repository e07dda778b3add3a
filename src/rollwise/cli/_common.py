"""What every resource command shares: options, the client, output, exit codes.

Exit codes (docs/cli.md has the table): 0 done; 1 not found, refused (conflict), or a
check that failed (``apply --dry-run`` found a difference); 2 usage: bad options or invalid
input (the server's 400/422); 3 the control plane could not be reached, refused the token
(401/403), or failed (5xx). Errors are one line on stderr, ``rollwise: ...``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..errors import ConfigError
from ._http import ControlPlane, ControlPlaneError, resolve

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "JSON",
    "TOKEN",
    "URL",
    "client_for",
    "console",
    "exit_code_of",
    "fail",
    "load_mapping",
    "load_yaml",
    "plane",
    "poll",
    "print_json",
    "say",
    "show_fields",
    "show_list",
    "table",
    "when",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNAVAILABLE = 0, 1, 2, 3
URL = typer.Option(
    None, "--url", help="Control plane (env ROLLWISE_URL, else `rollwise login`'s, else local)"
)
TOKEN = typer.Option(
    None, "--token", help="API token (env ROLLWISE_TOKEN, else `rollwise login`'s)"
)
JSON = typer.Option(False, "--json", help="Print JSON for machines instead of a table")
T = TypeVar("T")


def console() -> Console:
    """Rich output for a terminal; piped, a wide console so nothing is cut at 80 columns."""
    if sys.stdout.isatty():
        return Console(highlight=False, soft_wrap=True)
    width = int(os.environ.get("COLUMNS") or 0)
    return Console(highlight=False, soft_wrap=True, width=max(width, 250), color_system=None)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def say(data: Any, as_json: bool, text: str) -> None:
    """The result of a change: ``data`` as JSON for machines, else one line for people."""
    if as_json:
        print_json(data)
    else:
        typer.echo(text)


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    typer.echo(f"rollwise: {message}", err=True)
    raise typer.Exit(code)


def load_yaml(file: str | Path, code: int = EXIT_USAGE) -> Any:
    """A YAML (or JSON) file's data (``-``: stdin); unreadable or invalid, exit ``code``."""
    import yaml

    try:
        text = (
            typer.get_text_stream("stdin").read()
            if str(file) == "-"
            else Path(file).read_text(encoding="utf-8")
        )
        return yaml.safe_load(text)
    except OSError as error:
        fail(f"cannot read {file}: {error.strerror or error}", code)
    except yaml.YAMLError as error:
        fail(f"{file} is not valid YAML: {' '.join(str(error).split())}", code)


def load_mapping(file: str | Path, what: str) -> dict[str, Any]:
    """A file holding one mapping (``what``: of what, for the error)."""
    data = load_yaml(file)
    if not isinstance(data, dict):
        fail(f"{file}: expected a mapping of {what}", EXIT_USAGE)
    return data


def poll(get: Callable[[], T], deadline: float) -> T | None:
    """``get()``, retrying while the control plane is briefly away, until ``deadline``
    (``time.monotonic()``); ``None`` when it is still away then."""
    while True:
        try:
            return get()
        except ControlPlaneError as error:
            if not error.transient:
                raise
            if time.monotonic() >= deadline:
                return None
            typer.echo(f"rollwise: {error.message}; retrying", err=True)
            time.sleep(1.0)


def exit_code_of(error: ControlPlaneError) -> int:
    status = error.status
    if status is None or status in (401, 403) or status >= 500 or status == 429:
        return EXIT_UNAVAILABLE
    if status in (400, 413, 422):
        return EXIT_USAGE
    return EXIT_FAILED


def client_for(
    url: str | None, token: str | None, timeout: float = 10.0, usage: int = EXIT_USAGE
) -> ControlPlane:
    """A client for the resolved URL and token; a bad setting ends the command (exit
    ``usage``: 2, or the caller's own code for a usage error)."""
    try:
        base, secret = resolve(url, token)
    except ConfigError as error:
        fail(str(error), usage)
    if not base.startswith(("http://", "https://")):
        fail(f"control plane URL {base!r}: expected http://... or https://...", usage)
    return ControlPlane(base, secret, timeout=timeout)


@contextmanager
def plane(url: str | None, token: str | None) -> Iterator[ControlPlane]:
    """A client of the control plane; its errors end the command with one line."""
    client = client_for(url, token)
    try:
        yield client
    except ControlPlaneError as error:
        fail(error.message, exit_code_of(error))
    finally:
        client.close()


def when(text: str | None) -> str:
    """An API timestamp as UTC, to the second."""
    if not text:
        return "-"
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """Cells are plain text: a description with ``[brackets]`` is shown, never styled."""
    grid = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for column in columns:
        grid.add_column(column, overflow="fold")
    for row in rows:
        grid.add_row(*(Text("-" if cell is None or cell == "" else str(cell)) for cell in row))
    return grid


def show_list(
    data: list[dict[str, Any]],
    as_json: bool,
    columns: Sequence[str],
    row: Any,
    empty: str,
) -> None:
    """A list as JSON, or as a table (``row`` maps an item to its cells)."""
    if as_json:
        print_json(data)
    elif not data:
        typer.echo(empty)
    else:
        console().print(table(columns, [row(item) for item in data]))


def show_fields(data: dict[str, Any], as_json: bool, fields: Sequence[tuple[str, Any]]) -> None:
    if as_json:
        print_json(data)
        return
    console().print(table(("field", "value"), [(name, value) for name, value in fields]))
