"""The prometheus provider's config: where Prometheus is, how to authenticate, what to select.

Validated when a rollout (or the server's settings) names the provider, so that a bad URL,
label or header is a :class:`~rollwise.errors.ConfigError` naming the field, never a failed
look. Secrets (bearer token, basic auth password) stay ``SecretStr`` and out of errors.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from .._config import ProviderConfigBase
from ..base import WINDOW_SECONDS
from ._promql import LABEL_NAME, METRIC_NAME

__all__ = ["BasicAuth", "PrometheusConfig", "request_auth"]

_RESERVED_LABELS = frozenset({"flag", "variant", "outcome", "le", "__name__"})


class BasicAuth(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    username: Annotated[str, Field(min_length=1)]
    password: SecretStr


class PrometheusConfig(ProviderConfigBase):
    """``type: prometheus``: where Prometheus is, how to authenticate, what to select."""

    type: Literal["prometheus"] = "prometheus"
    url: str
    """Base URL of Prometheus (or a compatible API: Thanos, Mimir, VictoriaMetrics)."""
    timeout: Annotated[float, Field(gt=0, le=300)] = 10.0
    """Seconds for one query, also sent to Prometheus as the query's own timeout."""
    bearer_token: SecretStr | None = None
    basic_auth: BasicAuth | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra request headers, e.g. ``X-Scope-OrgID`` for a multi-tenant backend."""
    matchers: dict[str, str] = Field(default_factory=dict)
    """Extra label equalities for every selector, e.g. ``{"namespace": "prod"}``."""
    environment_label: str | None = None
    """A label holding the rollwise environment's name; None: one Prometheus per environment."""
    requests_metric: str = "rollwise_requests_total"
    duration_metric: str = "rollwise_request_duration_seconds"
    """The histogram's name, without ``_bucket``."""
    window_seconds: Annotated[float, Field(ge=1, le=86_400)] = WINDOW_SECONDS
    """Length of the per-window counts the judge tests one by one (a multiple of the
    scrape interval: a window holds the scrapes that fall in it)."""

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL as error:
            raise ValueError(f"not a valid URL ({error})") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value

    @field_validator("matchers")
    @classmethod
    def _check_matchers(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            _check_label(name)
        return value

    @field_validator("environment_label")
    @classmethod
    def _check_environment_label(cls, value: str | None) -> str | None:
        return None if value is None else _check_label(value)

    @field_validator("requests_metric", "duration_metric")
    @classmethod
    def _check_metric(cls, value: str) -> str:
        if not METRIC_NAME.match(value):
            raise ValueError(f"{value!r} is not a Prometheus metric name")
        return value

    @field_validator("headers")
    @classmethod
    def _check_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not name or not all(c.isalnum() or c in "-_" for c in name) or not name.isascii():
                raise ValueError(f"{name!r} is not a valid HTTP header name")
            if not (text.isascii() and text.isprintable()):
                raise ValueError(f"the value of header {name!r} must be printable ASCII")
        return value

    @model_validator(mode="after")
    def _check_auth(self) -> Self:
        if self.bearer_token is not None and self.basic_auth is not None:
            raise ValueError("use bearer_token or basic_auth, not both")
        if self.environment_label is not None and self.environment_label in self.matchers:
            raise ValueError(f"environment_label {self.environment_label!r} is also in matchers")
        if any(name.lower() == "authorization" for name in self.headers) and (
            self.bearer_token is not None or self.basic_auth is not None
        ):
            raise ValueError("an Authorization header conflicts with bearer_token/basic_auth")
        return self


def _check_label(name: str) -> str:
    if not LABEL_NAME.match(name):
        raise ValueError(f"{name!r} is not a Prometheus label name")
    if name in _RESERVED_LABELS:
        raise ValueError(f"{name!r} is set by rollwise itself")
    return name


def request_auth(config: PrometheusConfig) -> tuple[httpx.Auth | None, dict[str, str]]:
    """The HTTP auth and headers every query carries (bearer token, basic auth, headers)."""
    headers = dict(config.headers)
    if config.bearer_token is not None:
        headers["Authorization"] = f"Bearer {config.bearer_token.get_secret_value()}"
    if config.basic_auth is not None:
        auth = config.basic_auth
        return httpx.BasicAuth(auth.username, auth.password.get_secret_value()), headers
    return None, headers
