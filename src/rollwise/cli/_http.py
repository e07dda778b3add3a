"""A small client of the control plane's API for CLI commands.

Every failure is a :class:`ControlPlaneError` carrying the server's own message and code
(``{"error": {"code", "message", "details"}}``), or saying why the server could not be
reached, so commands print one line a person can act on.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

from ..env_settings import EnvSettings, Text, read_env
from ..errors import RollwiseError

__all__ = ["DEFAULT_URL", "ControlPlane", "ControlPlaneError", "resolve"]

DEFAULT_URL = "http://127.0.0.1:8000"


class ControlPlaneError(RollwiseError):
    """The API answered with an error (``status`` set) or could not be reached (None)."""

    code = "control_plane_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message, status=status, error_code=error_code, **details)
        self.status = status
        self.error_code = error_code

    @property
    def transient(self) -> bool:
        """Worth asking again later: unreachable, or a 5xx / 429 answer."""
        return self.status is None or self.status >= 500 or self.status == 429


class ClientEnv(EnvSettings):
    """``ROLLWISE_URL`` and ``ROLLWISE_TOKEN``: the control plane a command talks to."""

    url: Text | None = None
    token: Text | None = None


def resolve(url: str | None, token: str | None) -> tuple[str, str | None]:
    """The URL and token: the options, else ``ROLLWISE_URL`` / ``ROLLWISE_TOKEN``, else
    what ``rollwise login`` saved, else the local default URL and no token.

    The token saved by ``login`` is used only with the URL it was saved for, so a
    ``--url`` pointing elsewhere never sends it to another server.
    """
    from ._login import read_login

    env = read_env(ClientEnv)
    saved = read_login()
    chosen = (url or env.url or saved.url or DEFAULT_URL).rstrip("/")
    secret = token or env.token
    if secret is None and saved.url is not None and saved.url.rstrip("/") == chosen:
        secret = saved.token
    return chosen, secret


class ControlPlane:
    """``get``/``post`` returning decoded JSON; one connection pool; close it when done."""

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"User-Agent": "rollwise-cli", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.url = url
        self._client = httpx.Client(
            base_url=url, headers=headers, timeout=timeout, transport=transport
        )

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        return self._request("GET", path, params=query)

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        return self._request("POST", path, json=body, headers=headers)

    def put(self, path: str, body: Any) -> Any:
        return self._request("PUT", path, json=body)

    def patch(self, path: str, body: Any) -> Any:
        return self._request("PATCH", path, json=body)

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise ControlPlaneError(
                f"cannot reach the control plane at {self.url}: {error or type(error).__name__}"
            ) from None
        if response.is_success:
            return response.json() if response.content else None
        raise _error_of(response)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ControlPlane:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _error_of(response: httpx.Response) -> ControlPlaneError:
    try:
        body = response.json()
        error = body["error"]
        message, code = str(error["message"]), str(error["code"])
        details = error.get("details") or {}
    except (ValueError, KeyError, TypeError):
        text = response.text.strip()[:200] or response.reason_phrase
        status = response.status_code
        return ControlPlaneError(f"HTTP {status}: {text}", status=status)
    return ControlPlaneError(
        message, status=response.status_code, error_code=code, server_details=details
    )
