"""The ``rollwise`` command: for people and for CI pipelines.

Each sub-command lives in its own module and registers itself on :data:`app`.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    try:
        from ._app import app
    except ImportError as error:  # typer/rich are the `cli` extra
        sys.stderr.write(
            f"rollwise: the command line needs `pip install rollwise[cli]` ({error})\n"
        )
        raise SystemExit(2) from None
    from ..errors import ConfigError

    try:
        app()
    except ConfigError as error:  # a setting no command could use: one line, never a traceback
        sys.stderr.write(f"rollwise: {error}\n")
        raise SystemExit(2) from None
