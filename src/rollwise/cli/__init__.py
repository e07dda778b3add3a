"""The ``rollwise`` command: for people and for CI pipelines.

Each command group lives in its own module; ``_app.build_app`` adds them all explicitly.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    try:
        from ._app import build_app
    except ImportError as error:  # typer/rich are the `cli` extra
        sys.stderr.write(
            f"rollwise: the command line needs `pip install rollwise[cli]` ({error})\n"
        )
        raise SystemExit(2) from None
    from ..errors import ConfigError

    try:
        build_app()()
    except ConfigError as error:  # a setting no command could use: one line, never a traceback
        sys.stderr.write(f"rollwise: {error}\n")
        raise SystemExit(2) from None
