"""The ``command`` router: hand the split to a command or a webhook.

The escape hatch for every proxy rollwise has no backend for (HAProxy's runtime API, a
Kubernetes Gateway ``HTTPRoute``, a cloud load balancer's weighted target groups): the
split goes out as JSON, and success means applied.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import httpx

from ._config import CommandRouterConfig
from .base import AppliedRoute, RouteSplit, RoutingError

__all__ = ["CommandRouter", "split_payload"]


def split_payload(split: RouteSplit) -> dict[str, Any]:
    """The JSON a command or webhook gets: weights in basis points and in percent."""
    return {
        "flag": split.flag,
        "environment": split.environment,
        "revision": split.revision,
        "salt": split.salt,
        "weights": [
            {"release": r, "basis_points": w, "percent": w / 100} for r, w in split.weights
        ],
    }


class CommandRouter:
    def __init__(
        self, config: CommandRouterConfig, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.config = config
        self._transport = transport

    def apply(self, split: RouteSplit) -> AppliedRoute:
        body = json.dumps(split_payload(split))
        if self.config.command is not None:
            return AppliedRoute(split, self._run(self.config.command, body))
        return AppliedRoute(split, self._post(str(self.config.webhook), body))

    def _run(self, argv: list[str], body: str) -> str:
        try:
            result = subprocess.run(
                argv,
                input=body,
                capture_output=True,
                text=True,
                timeout=self.config.timeout,
                env={**os.environ, "ROLLWISE_SPLIT": body},
                check=False,
            )
        except FileNotFoundError:
            raise RoutingError(f"router command {argv[0]!r} was not found") from None
        except subprocess.TimeoutExpired:
            raise RoutingError(
                f"router command gave no answer within {self.config.timeout:g} s"
            ) from None
        if result.returncode != 0:
            said = (result.stderr or result.stdout).strip()[-500:] or "no output"
            raise RoutingError(
                f"router command failed (exit {result.returncode}): {said}",
                exit_code=result.returncode,
            )
        return f"command {argv[0]} applied it"

    def _post(self, url: str, body: str) -> str:
        headers = {"Content-Type": "application/json", **self.config.headers}
        try:
            with httpx.Client(timeout=self.config.timeout, transport=self._transport) as client:
                response = client.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise RoutingError(f"router webhook unreachable: {error}") from None
        if not response.is_success:
            raise RoutingError(
                f"router webhook answered {response.status_code}: {response.text[:300]}",
                status=response.status_code,
            )
        return f"webhook answered {response.status_code}"

    def close(self) -> None:
        """Nothing held between applies."""
