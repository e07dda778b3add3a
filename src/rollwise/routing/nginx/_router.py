"""The nginx router: render, install checked, reload gracefully."""

from __future__ import annotations

import threading
from pathlib import Path

from .._config import NginxRouterConfig
from ..base import AppliedRoute, RouteSplit
from ._files import install_checked, run_command
from ._render import render
from ._workers import master_pid, wait_for_new_workers, worker_state

__all__ = ["NginxRouter"]


class NginxRouter:
    """Serves splits through nginx; a split nginx refuses is never left in place.

    A graceful reload (``nginx -s reload``) lets old workers finish the requests they have
    while new workers take new connections, so switching fails no request. ``apply``
    returns once the new workers are the ones accepting: from then on every new
    connection follows the new split.
    """

    def __init__(self, config: NginxRouterConfig) -> None:
        self.config = config
        self._lock = threading.Lock()

    @property
    def http_file(self) -> Path:
        return self.config.include_dir / f"{self.config.name}.conf"

    @property
    def location_file(self) -> Path:
        return self.config.include_dir / f"{self.config.name}.location"

    def apply(self, split: RouteSplit) -> AppliedRoute:
        files = render(split, self.config)
        with self._lock:
            install_checked(
                {self.http_file: files.http, self.location_file: files.location},
                self.config.test_command,
                self.config.command_timeout,
            )
            master = master_pid(self.config.pid_file)
            before = worker_state(master)
            run_command(self.config.reload_command, self.config.command_timeout, "nginx reload")
            wait_for_new_workers(master, before, self.config.command_timeout)
        shares = ", ".join(f"{release} {weight / 100:g}%" for release, weight in split.serving())
        return AppliedRoute(split, f"nginx reloaded: {shares}")

    def close(self) -> None:
        """Nothing to release: the files stay, nginx keeps serving the last split."""
