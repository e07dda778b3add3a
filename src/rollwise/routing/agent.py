"""The router agent: follows the control plane like an SDK and keeps a proxy on its split.

It runs beside the proxy (``rollwise router run -f router.yaml``): the SDK's HTTP source
delivers each new document (ETag polling plus Server-Sent Events, a disk cache for starts
while the control plane is away); the agent derives the flag's split and hands it to its
router only when the traffic actually changes. A split the router refuses leaves the last
good one in force and is retried on the next delivery. It reports the revision it applied
through the fleet view (a telemetry batch carrying ``SdkInfo``, under the instance name
``router-<type>/<flag>@<host>:<pid>``), so ``rollwise doctor`` can tell a router that fell
behind and the controller judges a step only once its split is applied.

Reporting is prompt: each new revision wakes the reporting thread at once (the controller
waits for it before it counts a step's traffic), a failed report is retried after 1 s,
2 s, 4 s, ... up to ``report_interval``, and without news a heartbeat goes every
``report_interval``. The report leaves the delivery thread free: it never waits for the
control plane to take the report.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from ..core.rollout import router_instance_name
from ..core.telemetry import SdkInfo, TelemetryBatch
from ..core.validation import parse_document
from ..errors import ConfigError, RollwiseError, SourceError
from ..sdk.sources.base import ConfigSource
from ..sdk.sources.http import HttpOptions, HttpSource
from ._split import route_split
from .base import Router, RouteSplit

__all__ = ["AgentConfig", "AgentStatus", "RouterAgent"]

TELEMETRY_PATH = "/api/v1/sdk/telemetry"
FIRST_RETRY = 1.0
"""Seconds before a failed report is sent again (doubling up to ``report_interval``)."""


class AgentConfig(BaseModel):
    """The agent's file: where the control plane is, which flag, and the router."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: HttpUrl
    token_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = "ROLLWISE_SDK_TOKEN"
    """The environment variable holding the sdk token (never the token itself in the file)."""
    environment: str | None = None
    flag: Annotated[str, Field(min_length=1, max_length=128)]
    cache_path: Path | None = None
    poll_interval: Annotated[float, Field(ge=1, le=3600)] = 15.0
    report_interval: Annotated[float, Field(ge=1, le=3600)] = 30.0
    router: dict[str, Any]

    def token(self, environ: dict[str, str] | None = None) -> str:
        value = (environ if environ is not None else dict(os.environ)).get(self.token_env, "")
        if not value:
            raise ConfigError.single(
                None, "token_env", f"the environment variable {self.token_env} is not set"
            )
        return value


@dataclass(frozen=True, slots=True)
class AgentStatus:
    applied: RouteSplit | None
    applied_at: datetime | None
    last_error: str | None
    applies: int
    failures: int


class RouterAgent:
    """Keeps ``router`` on ``flag``'s split as the control plane changes it."""

    def __init__(
        self,
        config: AgentConfig,
        router: Router,
        *,
        router_type: str,
        token: str | None = None,
        source: ConfigSource | None = None,
        transport: httpx.BaseTransport | None = None,
        logger: logging.Logger | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.router = router
        self._token = token if token is not None else config.token()
        self._source = source or HttpSource(
            str(config.url),
            self._token,
            environment=config.environment,
            options=HttpOptions(poll_interval=config.poll_interval, cache_path=config.cache_path),
            transport=transport,
        )
        self._transport = transport
        self._logger = logger or logging.getLogger("rollwise.router")
        self._now = now
        self._lock = threading.Lock()
        self._applied: RouteSplit | None = None
        self._applied_at: datetime | None = None
        self._revision: int | None = None
        self._last_error: str | None = None
        self._applies = 0
        self._failures = 0
        self._instance = router_instance_name(
            router_type, config.flag, socket.gethostname() or "unknown", os.getpid()
        )
        self._started_at = now()
        self._stop = threading.Event()
        self._news = threading.Event()  # a revision to report now
        self._heartbeat: threading.Thread | None = None
        self.reports = 0
        """Reports the control plane accepted (for tests and status)."""

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Apply the first document (or the cached one), then follow changes."""
        try:
            first = self._source.initial()
        except SourceError as error:
            self._logger.warning("rollwise router: no configuration yet: %s", error)
            first = None
        if first is not None:
            self.config_received(*first)
        self._source.start(self)
        self._stop.clear()
        self._heartbeat = threading.Thread(
            target=self._report_forever, name="rollwise-router-report", daemon=True
        )
        self._heartbeat.start()

    @property
    def instance(self) -> str:
        """The name this router reports under in the fleet view."""
        return self._instance

    def close(self) -> None:
        self._stop.set()
        self._news.set()
        self._source.close()
        thread = self._heartbeat
        if thread is not None and thread is not threading.current_thread():
            thread.join(2)
        self.router.close()

    def __enter__(self) -> RouterAgent:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def status(self) -> AgentStatus:
        with self._lock:
            return AgentStatus(
                self._applied, self._applied_at, self._last_error, self._applies, self._failures
            )

    # -- ConfigListener ----------------------------------------------------------------------

    def config_received(self, data: Any, origin: str) -> bool:
        """Apply the flag's split from a new document; False leaves the last one in force."""
        try:
            document = parse_document(data, strict=False)
            environment = self.config.environment or document.environment
            if environment is None:
                raise ConfigError.single(
                    None, "environment", "the document names no environment: set 'environment'"
                )
            split = route_split(document, self.config.flag, environment)
        except RollwiseError as error:
            return self._failed(f"{origin}: {error}")
        with self._lock:
            unchanged = split.same_traffic(self._applied)
            if not unchanged:
                try:
                    applied = self.router.apply(split)
                except RollwiseError as error:
                    return self._failed(str(error))
                self._applies += 1
                self._applied_at = self._now()
                self._logger.info(
                    "rollwise router: revision %s applied (%s)", split.revision, applied.detail
                )
            self._applied = split
            news = split.revision != self._revision
            self._revision = split.revision
            self._last_error = None
        if news:
            self._news.set()  # the reporting thread sends it now
        return True

    def source_failed(self, error: SourceError) -> None:
        self._logger.warning(
            "rollwise router: control plane unavailable, keeping the last split: %s", error
        )

    def _failed(self, reason: str) -> bool:
        with self._lock:
            self._failures += 1
            self._last_error = reason
        self._logger.error("rollwise router: keeping the last good split: %s", reason)
        return False

    # -- reporting to the fleet view ----------------------------------------------------------

    def _report_forever(self) -> None:
        """Report at once on news, a failed report again soon, else a heartbeat."""
        interval = self.config.report_interval
        retry = FIRST_RETRY
        wait = 0.0  # the first report goes at start
        while not self._stop.is_set():
            self._news.wait(wait)
            if self._stop.is_set():
                return
            self._news.clear()
            try:
                sent = self._report()
            except Exception:  # the reporting loop's boundary: the next attempt tries again
                self._logger.warning("rollwise router: report failed", exc_info=True)
                sent = False
            if sent:
                wait, retry = interval, FIRST_RETRY
            else:
                wait, retry = retry, min(2 * retry, interval)

    def _report(self) -> bool:
        """One batch with no windows: who this router is and which revision it serves.
        False when the control plane did not take it (sent again soon)."""
        batch = TelemetryBatch(
            batch_id=uuid.uuid4().hex,
            instance=self._instance[:200],
            sent_at=self._now(),
            sdk=SdkInfo(
                version=_version(),
                host=(socket.gethostname() or "unknown")[:200],
                pid=os.getpid(),
                config_revision=self._revision,
                started_at=self._started_at,
            ),
        )
        url = str(self.config.url).rstrip("/") + TELEMETRY_PATH
        try:
            with httpx.Client(timeout=5.0, transport=self._transport) as client:
                response = client.post(
                    url,
                    content=batch.model_dump_json(exclude_none=True),
                    headers={
                        "Authorization": f"Bearer {self._token}",
                        "Content-Type": "application/json",
                    },
                )
        except httpx.HTTPError as error:  # the next attempt tries again
            self._logger.debug("rollwise router: report not sent: %s", error)
            return False
        if response.status_code >= 400:
            self._logger.warning(
                "rollwise router: the control plane refused the report: %s",
                response.status_code,
            )
            return False
        with self._lock:
            self.reports += 1
        return True


def _version() -> str:
    from .. import __version__

    return __version__
