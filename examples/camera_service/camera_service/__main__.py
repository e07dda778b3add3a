"""``python -m camera_service`` / ``camera-service``: run the service under uvicorn.

Settings come from the environment (see :mod:`camera_service.settings`); ``--host`` and
``--port`` choose where it listens.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

import uvicorn

from .app import create_app
from .errors import SettingsError
from .settings import Settings

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="camera-service", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--log-level", default="info")
    options = parser.parse_args(argv)
    _log_to_stderr(options.log_level)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"camera-service: invalid setting {error}", file=sys.stderr)
        return 2
    app = create_app(settings)
    uvicorn.run(
        app,
        host=options.host,
        port=options.port,
        log_level=options.log_level,
        timeout_graceful_shutdown=5,
    )
    return 0


def _log_to_stderr(level: str) -> None:
    """uvicorn configures its own loggers only: show the service's and rollwise's (a refused
    sdk token, an unreachable control plane, reporting) on stderr, at the same level."""
    # rollwise's messages start with "rollwise:" already
    for name, shown in (("camera_service", "%(name)s: %(message)s"), ("rollwise", "%(message)s")):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     " + shown))
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(level.upper())
        logger.propagate = False


if __name__ == "__main__":
    sys.exit(main())
