"""A private nginx under a directory of its own: for the demo, benchmarks and tests.

Every path nginx writes (pid, logs, temp files) and the managed include files live under
``directory``; nothing in /etc/nginx is read or changed. The server listens on one loopback
port and proxies every location through the router's managed ``.location`` file.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._config import NginxRouterConfig
from ..base import RoutingError

__all__ = ["LocalNginx", "find_nginx", "local_nginx", "prepare_local_nginx"]

_USUAL_PLACES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")


@dataclass(frozen=True, slots=True)
class LocalNginx:
    prefix: Path
    conf: Path
    include_dir: Path
    port: int
    binary: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self, *args: str) -> list[str]:
        return [self.binary, "-p", str(self.prefix), "-c", str(self.conf), *args]

    def router_config(self, upstreams: dict[str, list[str]], **settings: Any) -> NginxRouterConfig:
        """A router config for this nginx (its test and reload commands, its pid file)."""
        return NginxRouterConfig.model_validate(
            {
                "include_dir": self.include_dir,
                "upstreams": upstreams,
                "test_command": self.command("-t", "-q"),
                "reload_command": self.command("-s", "reload"),
                "pid_file": self.prefix / "nginx.pid",
                **settings,
            }
        )


def find_nginx() -> str | None:
    """The nginx binary on the PATH or where packages put it (None: not installed)."""
    found = shutil.which("nginx")
    if found:
        return found
    return next((path for path in _USUAL_PLACES if os.access(path, os.X_OK)), None)


def prepare_local_nginx(directory: Path, binary: str, port: int) -> LocalNginx:
    """Write the configuration of an nginx under ``directory/nginx`` listening on
    ``127.0.0.1:port`` that proxies every path through the router's managed files.

    Start it daemonized with ``nginx.command()`` (what :func:`local_nginx` does) or in the
    foreground, as a child that dies with its parent, with ``nginx.command("-g", "daemon off;")``.
    """
    prefix = directory / "nginx"
    include_dir = prefix / "rollwise"
    temp = prefix / "tmp"
    for sub in (prefix / "logs", temp, include_dir):
        sub.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(_CONF.format(prefix=prefix, temp=temp, include_dir=include_dir, port=port))
    return LocalNginx(prefix, conf, include_dir, port, binary)


@contextmanager
def local_nginx(directory: Path, *, port: int | None = None) -> Iterator[LocalNginx]:
    """Start nginx on ``127.0.0.1:port`` (a free one by default); stop it when the block ends."""
    binary = find_nginx() or "/usr/sbin/nginx"
    nginx = prepare_local_nginx(directory, binary, port or _free_port())
    port = nginx.port
    try:
        subprocess.run(nginx.command(), check=True, capture_output=True, text=True)
    except FileNotFoundError:
        raise RoutingError(f"nginx is not installed ({binary} not found)") from None
    except subprocess.CalledProcessError as error:
        raise RoutingError(f"nginx did not start: {error.stderr.strip()}") from None
    try:
        _wait_listening(port)
        yield nginx
    finally:
        subprocess.run(nginx.command("-s", "stop"), check=False, capture_output=True)


# The managed files are included with globs: nginx starts before the router's first write
# (every path answers 404 until then).
_CONF = """\
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {include_dir}/*.conf;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            include {include_dir}/*.location;
        }}
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_listening(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RoutingError(f"nginx is not listening on port {port}") from None
            time.sleep(0.05)
