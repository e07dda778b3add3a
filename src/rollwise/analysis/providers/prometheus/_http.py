"""Instant queries over Prometheus' HTTP API, every failure a ProviderError with its reason.

:meth:`PrometheusHTTP.query` gives an instant vector (or a scalar); :meth:`PrometheusHTTP.matrix`
gives the raw samples of a range selector (``metric{...}[5m]``), each series with its
``(timestamp, value)`` points, for exact counter differences between scrapes.

``POST /api/v1/query`` (form-encoded, so long queries do not hit URL limits) with ``time``
and a server-side ``timeout``. Prometheus' own error answers (``{"status": "error",
"errorType": ..., "error": ...}``) keep their message; a query Prometheus refuses as
malformed or unexecutable is a :class:`PrometheusQueryError`, so that the provider can tell
a broken custom query from an unreachable server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ....errors import ProviderError

__all__ = ["PrometheusHTTP", "PrometheusQueryError", "Sample", "Series"]

_QUERY_ERRORS = frozenset({"bad_data", "execution"})


class PrometheusQueryError(ProviderError):
    """Prometheus refused the query itself (bad syntax, unexecutable); its message is kept."""

    code = "prometheus_query_error"


@dataclass(frozen=True, slots=True)
class Sample:
    """One element of an instant vector (a scalar has no labels)."""

    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True, slots=True)
class Series:
    """One series of a range vector: its labels and its raw samples, oldest first."""

    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]
    """``(unix seconds, value)`` pairs as scraped."""


class PrometheusHTTP:
    """A small client for instant queries; borrows ``client`` or owns one it builds."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.endpoint = base_url.rstrip("/") + "/api/v1/query"
        self.shown = str(httpx.URL(self.endpoint).copy_with(userinfo=b""))  # no secrets in errors
        self.timeout = timeout
        self._auth = auth
        self._headers = dict(headers or {})
        self._owned = client is None
        self._client = client or httpx.Client(transport=transport, timeout=timeout)

    def query(self, promql: str, at: str) -> list[Sample]:
        """The instant vector (or scalar) ``promql`` evaluates to at ``at``."""
        return _samples(*self._post(promql, at))

    def matrix(self, promql: str, at: str) -> list[Series]:
        """The range vector ``promql`` (a range selector) evaluates to at ``at``."""
        return _series(*self._post(promql, at))

    def _post(self, promql: str, at: str) -> tuple[httpx.Response, dict[str, Any]]:
        details = {"provider": "prometheus", "url": self.shown, "query": promql, "time": at}
        form = {"query": promql, "time": at, "timeout": f"{self.timeout:g}s"}
        try:
            response = self._client.post(
                self.endpoint,
                data=form,
                headers=self._headers,
                auth=self._auth or httpx.USE_CLIENT_DEFAULT,
                timeout=self.timeout,
            )
        except httpx.TimeoutException:
            raise ProviderError(
                f"prometheus did not answer within {self.timeout:g}s", **details
            ) from None
        except httpx.HTTPError as error:
            raise ProviderError(
                f"cannot reach prometheus at {self.shown}: {error}", **details
            ) from None
        return response, details

    def close(self) -> None:
        if self._owned:
            self._client.close()


def _data(response: httpx.Response, details: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The answer's ``data``, or the ProviderError that explains why there is none."""
    status = response.status_code
    details = {**details, "status": status}
    if status in (401, 403):
        raise ProviderError(f"prometheus refused the credentials (HTTP {status})", **details)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        text = " ".join(response.text.split())[:200]
        raise ProviderError(f"prometheus answered HTTP {status}, not its API: {text}", **details)
    if body.get("status") != "success":
        error_type = str(body.get("errorType", "unknown"))
        message = str(body.get("error", "no message"))
        kind = PrometheusQueryError if error_type in _QUERY_ERRORS else ProviderError
        raise kind(f"prometheus: {message} ({error_type})", error_type=error_type, **details)
    return body.get("data"), details


def _samples(response: httpx.Response, details: dict[str, Any]) -> list[Sample]:
    data, details = _data(response, details)
    try:
        return _parse(data)
    except (KeyError, TypeError, ValueError, IndexError) as error:
        reason = f"prometheus answered an unexpected shape: {error!r}"
        raise ProviderError(reason, **details) from None


def _series(response: httpx.Response, details: dict[str, Any]) -> list[Series]:
    data, details = _data(response, details)
    try:
        if data["resultType"] != "matrix":
            raise ValueError(f"a range selector must give a matrix, got a {data['resultType']}")
        return [
            Series(
                {str(k): str(v) for k, v in item["metric"].items()},
                tuple((float(at), float(value)) for at, value in item["values"]),
            )
            for item in data["result"]
        ]
    except (KeyError, TypeError, ValueError, IndexError) as error:
        reason = f"prometheus answered an unexpected shape: {error!r}"
        raise ProviderError(reason, **details) from None


def _parse(data: Mapping[str, Any]) -> list[Sample]:
    kind = data["resultType"]
    if kind == "scalar":
        return [Sample({}, float(data["result"][1]))]
    if kind != "vector":
        raise ValueError(f"an instant query must give a vector or a scalar, got a {kind}")
    samples = []
    for item in data["result"]:
        labels = {str(k): str(v) for k, v in item["metric"].items()}
        samples.append(Sample(labels, float(item["value"][1])))
    return samples
