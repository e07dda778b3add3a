"""The FastAPI application: wiring, lifespan and error handling.

``create_app(settings)`` builds every component (nothing runs yet): the rollwise client
(:mod:`camera_service.flags`), the rollwise ASGI middleware that evaluates
``camera-domain-service`` once per request, enforces signed ``force_domain`` overrides and
records every camera and alert-rule request under its variant, and ``GET /metrics``
(Prometheus text format, the app's own registry). The lifespan starts the client (flag
refresh, and reporting to the control plane when one is configured), reconciles workers
with the configuration (unless ``autostart_on_boot`` is off), and on shutdown stops every
worker and closes the client, which flushes the last window to the control plane.
"""

from __future__ import annotations

import logging
import random as _random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.exceptions import HTTPException
from starlette.status import HTTP_500_INTERNAL_SERVER_ERROR

from rollwise import Client
from rollwise.integrations.asgi import RollwiseMiddleware
from rollwise.sdk.compare import DualRun, Outcome
from rollwise.sdk.prometheus import register_recorder

from . import legacy
from .dispatch import Dispatcher, SelectionEvaluator
from .domain import (
    AlertRuleService,
    AlertRuleSet,
    CameraControlService,
    CameraRegistry,
    DomainBackend,
    YamlStore,
)
from .errors import CameraServiceError, RequestRejected, error_body
from .faults import FaultInjector, RequestStart
from .flags import FLAG, UNIT, flag_client, flag_environ, override_policy, override_signer
from .processes import ProcessManager
from .routes import router
from .selection import FlagSelector, client_context
from .settings import Settings
from .stats import CountingSink, OverrideTotals, ServedCounter

__all__ = ["UNRECORDED_PATHS", "Services", "build_services", "create_app"]

logger = logging.getLogger("camera_service")

UNRECORDED_PATHS = (
    "/metrics",
    "/api/v1/health",
    "/api/v1/internal/",
    "/docs",
    "/redoc",
    "/openapi.json",
)
"""Path prefixes the middleware does not record: operations, not the service's traffic."""


@dataclass(slots=True)
class Services:
    """Everything one application instance owns."""

    settings: Settings
    processes: ProcessManager
    legacy: legacy.LegacyBackend
    domain: DomainBackend
    flags: Client
    selector: FlagSelector
    sink: CountingSink
    runner: DualRun
    faults: FaultInjector
    served: ServedCounter
    overrides: OverrideTotals
    registry: CollectorRegistry
    dispatcher: Dispatcher = field(init=False)

    def __post_init__(self) -> None:
        self.dispatcher = Dispatcher(
            self.legacy,
            self.domain,
            self.runner,
            self.faults,
            self.served,
            compare_sample=self.settings.compare_sample,
        )
        if self.flags.reporter is not None:  # fallbacks and mismatches reach the control plane
            self.flags.reporter.add_comparisons(self.runner)
        register_recorder(self.flags.recorder, self.registry)

    def start(self) -> None:
        self.flags.start()
        health = self.flags.health()
        if health.source_status == "token_refused":  # loud: otherwise every request is legacy
            logger.warning(
                "ROLLWISE_SDK_TOKEN is refused by the control plane at %s; "
                "%s decides from %s until the token is fixed: %s",
                self.settings.control_plane_url,
                FLAG,
                health.origin or "nothing",
                health.last_source_error,
            )
        if self.settings.autostart_on_boot:
            self.reconcile()

    def health(self) -> dict[str, Any]:
        """``GET /api/v1/health``: up, and whether the flag source works (``degraded`` with
        the reason when it does not: the service still answers, from its last or fallback
        configuration)."""
        flags = self.flags.health()
        problems = []
        if flags.source_status == "token_refused":
            problems.append(f"flag source: {flags.last_source_error}")
        return {
            "status": "degraded" if problems else "ok",
            "problems": problems,
            "flag_source": {
                "status": flags.source_status,
                "revision": flags.revision,
                "last_error": flags.last_source_error,
            },
        }

    def reconcile(self) -> None:
        """Start-up reconciliation: the domain service, legacy if the domain cannot."""
        try:
            report = self.domain.refresh()
        except CameraServiceError as error:
            logger.warning("domain refresh failed at start-up (%s); legacy reconciles", error)
            report = self.legacy.refresh()
        logger.info("reconciled at start-up: %s", report)

    def close(self) -> None:
        try:
            self.processes.close()
        finally:
            self.flags.close()  # flushes the open window to the control plane

    def stats(self) -> dict[str, Any]:
        return {
            "flag": FLAG,
            "selections": self.selector.counts(),
            "served": self.served.snapshot(),
            "fallbacks": {
                "total": self.sink.count(Outcome.FALLBACK),
                "by_operation": {
                    name: outcomes[Outcome.FALLBACK.value]
                    for name, outcomes in self.sink.totals().items()
                    if outcomes.get(Outcome.FALLBACK.value)
                },
            },
            "comparisons": self.sink.totals(),
            "overrides": self.overrides.totals(),
            "faults": {"spec": self.settings.fault.describe(), "injected": self.faults.counts()},
            "flag_source": self._flag_source(),
        }

    def _flag_source(self) -> dict[str, Any]:
        settings = self.settings
        health = self.flags.health()
        reporter = health.reporter
        return {
            "kind": "file"
            if settings.flags_file is not None
            else "control_plane"
            if settings.control_plane_url is not None
            else "none",
            "environment": settings.environment,
            "revision": health.revision,
            "status": health.source_status,
            "last_source_error": health.last_source_error,
            "use_domain_service": settings.use_domain_service,
            "rollout_percent": settings.rollout_percent,
            "reporting": None
            if reporter is None
            else {
                "window_seconds": self.flags.recorder.window_seconds,
                "batches_sent": reporter.batches_sent,
                "batches_dropped": reporter.batches_dropped,
                "last_error": reporter.last_error,
            },
        }


def build_services(settings: Settings, *, random: Callable[[], float] | None = None) -> Services:
    """Build (not start) the components; ``random`` drives faults and comparison sampling."""
    draw = random if random is not None else _random.random
    processes = ProcessManager(settings.state_dir, settings.worker)
    legacy.init(settings.config_dir, processes)
    cameras = YamlStore(settings.cameras_file, CameraRegistry)
    rules = YamlStore(settings.alert_rules_file, AlertRuleSet)
    domain = DomainBackend(
        CameraControlService(cameras, processes), AlertRuleService(rules, cameras)
    )
    flags = flag_client(settings)
    selector = FlagSelector(
        flags, use_domain=settings.use_domain_service, environ=flag_environ(settings)
    )
    sink = CountingSink()
    return Services(
        settings=settings,
        processes=processes,
        legacy=legacy.LegacyBackend(),
        domain=domain,
        flags=flags,
        selector=selector,
        sink=sink,
        runner=DualRun(SelectionEvaluator(), sink, random=draw),
        faults=FaultInjector(settings.fault, random=draw),
        served=ServedCounter(),
        overrides=OverrideTotals(),
        registry=CollectorRegistry(),
    )


def create_app(
    settings: Settings | None = None, *, random: Callable[[], float] | None = None
) -> FastAPI:
    """The camera service; ``settings`` default to :meth:`Settings.from_env`."""
    services = build_services(settings or Settings.from_env(), random=random)
    settings = services.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            services.start()
            yield
        finally:
            services.close()

    app = FastAPI(title="camera service (rollwise reference application)", lifespan=lifespan)
    app.state.services = services
    app.state.selector = services.selector
    app.state.dispatcher = services.dispatcher
    app.include_router(router)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        """Per-variant request counters and latency histograms, Prometheus text format."""
        return Response(generate_latest(services.registry), media_type=CONTENT_TYPE_LATEST)

    if settings.fault.latency_factor != 1.0:  # inside the recording: measures what it measures
        app.add_middleware(RequestStart)
    # one evaluation of the flag per request, the signed override, and the recording
    app.add_middleware(
        RollwiseMiddleware,
        client=services.flags,
        flags=[FLAG],
        attribute=UNIT,
        context=client_context,
        overrides=override_policy(settings),
        signer=override_signer(settings),
        override_counter=services.overrides,
        exclude_paths=UNRECORDED_PATHS,
    )
    _install_error_handlers(app)
    return app


def _variant_header(request: Request) -> dict[str, str]:
    """``X-Camera-Variant`` on answers no handler made (404 no such route, 405, 500), so that
    every recorded request says in its response the variant it was recorded under."""
    flags = getattr(request.state, "rollwise", None)
    if flags is None or request.url.path.startswith(UNRECORDED_PATHS):
        return {}
    return {"X-Camera-Variant": flags.variant(FLAG)}


def _install_error_handlers(app: FastAPI) -> None:
    async def rejected(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestRejected)
        headers = _variant_header(request)
        return JSONResponse(error.body(), status_code=error.status, headers=headers)

    async def http_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, HTTPException)
        code = "not_found" if error.status_code == 404 else f"http_{error.status_code}"
        return JSONResponse(
            error_body(code, str(error.detail)),
            status_code=error.status_code,
            headers={**(error.headers or {}), **_variant_header(request)},
        )

    async def validation(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        problems = [
            {"field": ".".join(str(p) for p in issue["loc"]), "reason": issue["msg"]}
            for issue in error.errors()
        ]
        body = error_body("invalid_input", "the request is not valid", {"problems": problems})
        return JSONResponse(body, status_code=422, headers=_variant_header(request))

    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        body = error_body("internal_error", "the service failed to answer this request")
        return JSONResponse(
            body, status_code=HTTP_500_INTERNAL_SERVER_ERROR, headers=_variant_header(request)
        )

    app.add_exception_handler(RequestRejected, rejected)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(Exception, unexpected)
