"""The release demo's stack: releases v1 and v2 of the camera service behind nginx.

On top of the in-process demo's control plane (:class:`~._stack.Stack`) it starts two
process groups of the camera service — ``v1`` on its legacy implementation, ``v2`` on its
domain implementation (``USE_DOMAIN_SERVICE``), each reporting its requests under its
release (``ROLLWISE_RELEASE``, ``ROLLWISE_RELEASE_FLAG``) — nginx on a free loopback port
(in the foreground: a child that dies with the demo), and ``rollwise router nginx``, the
agent that keeps nginx on the release flag's split, sticky per ``X-Client-Id``. Release
``v1`` is recorded first: the flag's first release, live at once. Every process is a child
of the demo's supervisor.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import yaml

from ...routing.nginx import find_nginx, prepare_local_nginx
from ._procs import Child
from ._stack import (
    ENVIRONMENT,
    DemoError,
    Stack,
    StackOptions,
    base_env,
    free_port,
    wait_started,
)

__all__ = ["BASELINE", "CANARY", "RELEASE_FLAG", "UNIT_HEADER", "ReleaseStack"]

RELEASE_FLAG = "camera-release"
BASELINE, CANARY = "v1", "v2"
UNIT_HEADER = "X-Client-Id"
RELEASE_HEADER = "X-Rollwise-Release"
DEPLOYED_BY = "rollwise demo --release"


class ReleaseStack(Stack):
    """Start with :meth:`start_control_plane`, :meth:`set_up_release`,
    :meth:`start_release` (twice), :meth:`start_proxy`; :meth:`close` stops everything."""

    def __init__(self, workdir: Path, options: StackOptions) -> None:
        super().__init__(workdir, options)
        self.release_urls: dict[str, str] = {}
        self.proxy_url = ""

    def set_up_release(self) -> None:
        """The environment, release v1 (live at once: the flag's first release), a token."""
        with self.client() as plane:
            plane.post(
                "/api/v1/environments",
                {"key": ENVIRONMENT, "name": "Production", "production": True},
            )
            plane.post(
                "/api/v1/releases",
                {
                    "environment": ENVIRONMENT,
                    "flag": RELEASE_FLAG,
                    "version": BASELINE,
                    "deployed_by": DEPLOYED_BY,
                },
            )
            self.make_sdk_token(plane)

    def start_release(self, release: str, *, domain: bool, fault: str | None = None) -> str:
        """One process group of the camera service running ``release``; its URL."""
        _, url = self.spawn_camera(
            f"release-{release}",
            {
                "USE_DOMAIN_SERVICE": "true" if domain else "false",
                "ROLLWISE_RELEASE": release,
                "ROLLWISE_RELEASE_FLAG": RELEASE_FLAG,
            },
            fault,
        )
        self.release_urls[release] = url
        return url

    def start_proxy(self) -> str:
        """nginx in front of the releases and the agent keeping it on the split; returns
        nginx's URL once it serves the live release."""
        binary = find_nginx()
        if binary is None:
            raise DemoError("nginx is not installed (apt-get install nginx-light)")
        nginx = prepare_local_nginx(self.workdir, binary, free_port())
        proxy = self.supervisor.spawn("nginx", nginx.command("-g", "daemon off;"), base_env())
        _wait_listening(proxy, nginx.port, self.options.start_timeout)
        upstreams = {
            release: [url.removeprefix("http://")] for release, url in self.release_urls.items()
        }
        router = nginx.router_config(
            upstreams, unit={"kind": "header", "header": UNIT_HEADER}
        ).model_dump(mode="json", exclude={"type"})
        config = self.workdir / "router.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "url": self.plane_url,
                    "environment": ENVIRONMENT,
                    "flag": RELEASE_FLAG,
                    "cache_path": str(self.workdir / "router-cache.json"),
                    "report_interval": 5,
                    "router": router,
                },
                sort_keys=False,
            )
        )
        env = base_env()
        env["ROLLWISE_SDK_TOKEN"] = self.sdk_token or ""
        argv = [sys.executable, "-c", "from rollwise.cli import main; main()", "router", "nginx"]
        agent = self.supervisor.spawn("router", [*argv, "-f", str(config)], env)
        self.proxy_url = nginx.url
        _wait_serving(agent, self.proxy_url, BASELINE, self.options.start_timeout)
        return self.proxy_url

    def close(self, on_step: Callable[[str], None] | None = None) -> list[int]:
        if on_step is not None and self.supervisor.children:
            on_step("stopping the router, nginx, both releases and the control plane")
        return self.supervisor.stop_all()


def _wait_listening(child: Child, port: int, timeout: float) -> None:
    def listening() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    wait_started(child, listening, timeout, interval=0.05)


def _wait_serving(child: Child, url: str, release: str, timeout: float) -> None:
    """Until nginx answers from ``release``: the agent applied the control plane's split."""
    with httpx.Client(timeout=2.0) as http:

        def serving() -> bool:
            try:
                answer = http.get(f"{url}/api/v1/health", headers={UNIT_HEADER: "demo-probe"})
            except httpx.HTTPError:
                return False
            return bool(answer.headers.get(RELEASE_HEADER) == release)

        wait_started(child, serving, timeout)
