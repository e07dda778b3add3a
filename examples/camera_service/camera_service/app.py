"""The FastAPI application: wiring, lifespan and error handling.

``create_app(settings)`` builds every component (nothing runs yet); the lifespan starts the
flag client's refresh, reconciles workers with the configuration (unless
``autostart_on_boot`` is off), and on shutdown stops every worker and closes the client.
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
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.status import HTTP_500_INTERNAL_SERVER_ERROR

from rollwise import Client
from rollwise.sdk.compare import DualRun, Outcome

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
from .faults import FaultInjector
from .flags import FLAG, flag_client, override_gate, percent_client
from .processes import ProcessManager
from .routes import router
from .selection import FlagSelector, VariantSelector
from .settings import Settings
from .stats import CountingSink, ServedCounter

__all__ = ["Services", "build_services", "create_app"]

logger = logging.getLogger("camera_service")


@dataclass(slots=True)
class Services:
    """Everything one application instance owns."""

    settings: Settings
    processes: ProcessManager
    legacy: legacy.LegacyBackend
    domain: DomainBackend
    flags: Client | None
    percent: Client | None
    selector: VariantSelector
    sink: CountingSink
    runner: DualRun
    faults: FaultInjector
    served: ServedCounter
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

    def start(self) -> None:
        if self.flags is not None:
            self.flags.start()
        if self.settings.autostart_on_boot:
            self.reconcile()

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
            if self.flags is not None:
                self.flags.close()

    def stats(self) -> dict[str, Any]:
        gate = getattr(self.selector, "gate", None)
        counts = getattr(self.selector, "counts", None)
        return {
            "flag": FLAG,
            "selections": counts() if callable(counts) else {},
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
            "overrides": gate.counter.snapshot() if gate is not None else [],
            "faults": {"spec": self.settings.fault.describe(), "injected": self.faults.counts()},
            "flag_source": self._flag_source(),
        }

    def _flag_source(self) -> dict[str, Any]:
        settings = self.settings
        health = self.flags.health() if self.flags is not None else None
        return {
            "kind": "file"
            if settings.flags_file is not None
            else "control_plane"
            if settings.control_plane_url is not None
            else "none",
            "environment": settings.environment,
            "revision": health.revision if health is not None else None,
            "last_source_error": health.last_source_error if health is not None else None,
            "use_domain_service": settings.use_domain_service,
            "rollout_percent": settings.rollout_percent,
        }


def build_services(
    settings: Settings,
    *,
    selector: VariantSelector | None = None,
    random: Callable[[], float] | None = None,
) -> Services:
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
    percent = percent_client(settings)
    if selector is None:
        selector = FlagSelector(
            flags=flags,
            percent=percent,
            use_domain=settings.use_domain_service,
            gate=override_gate(settings),
        )
    sink = CountingSink()
    return Services(
        settings=settings,
        processes=processes,
        legacy=legacy.LegacyBackend(),
        domain=domain,
        flags=flags,
        percent=percent,
        selector=selector,
        sink=sink,
        runner=DualRun(SelectionEvaluator(), sink, random=draw),
        faults=FaultInjector(settings.fault, random=draw),
        served=ServedCounter(),
    )


def create_app(
    settings: Settings | None = None,
    *,
    selector: VariantSelector | None = None,
    random: Callable[[], float] | None = None,
) -> FastAPI:
    """The camera service; ``settings`` default to :meth:`Settings.from_env`."""
    services = build_services(settings or Settings.from_env(), selector=selector, random=random)

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
    _install_error_handlers(app)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    async def rejected(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestRejected)
        return JSONResponse(error.body(), status_code=error.status)

    async def http_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, HTTPException)
        code = "not_found" if error.status_code == 404 else f"http_{error.status_code}"
        return JSONResponse(
            error_body(code, str(error.detail)),
            status_code=error.status_code,
            headers=error.headers,
        )

    async def validation(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        problems = [
            {"field": ".".join(str(p) for p in issue["loc"]), "reason": issue["msg"]}
            for issue in error.errors()
        ]
        body = error_body("invalid_input", "the request is not valid", {"problems": problems})
        return JSONResponse(body, status_code=422)

    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        body = error_body("internal_error", "the service failed to answer this request")
        return JSONResponse(body, status_code=HTTP_500_INTERNAL_SERVER_ERROR)

    app.add_exception_handler(RequestRejected, rejected)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(Exception, unexpected)
