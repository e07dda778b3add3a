"""The control plane's ASGI application: ``create_app(settings)``.

Construction does no I/O. The lifespan applies migrations, creates the first admin token
when there is none, and starts the background tasks: the config revision poll, the
telemetry retention purge and, when ``settings.controller`` is set, the rollout controller
(its own threads; stopped, and its leader lock released, when the lifespan ends).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy.exc import IntegrityError
from starlette.types import Receive, Scope, Send

from ..controller import Controller
from ..errors import ConfigError
from ..notifiers import NotifierRegistry, default_registry
from ..store import Store
from ..store.tokens import new_secret
from ._retention import purge_forever
from .api_docs import install_api_docs
from .auth import TokenCache
from .auth_limiter import FailedAuthLimiter
from .config_hub import ConfigHub
from .dashboard import router as dashboard_router
from .errors import install_error_handlers
from .event_stream import StreamPolicy
from .fast_config import SdkConfigFastPath
from .guard import RequestGuard
from .limits import BodyLimits
from .metrics import MetricsMiddleware, ServerMetrics
from .routers import (
    alerts,
    audit,
    channels,
    environments,
    experiments,
    flags,
    health,
    metrics_query,
    mismatch_samples,
    monitoring,
    releases,
    rollouts,
    sdk,
    state,
    telemetry,
    tokens,
    whoami,
)
from .settings import ServerSettings
from .text_input import reject_nul

__all__ = ["REVOKED_ADMIN_TOKEN", "create_app", "prepare"]

REVOKED_ADMIN_TOKEN = (
    "names a revoked token: unset it (another admin token remains), or choose a new secret"
)

_logger = logging.getLogger("rollwise.server")


class ControlPlaneApp(FastAPI):
    """FastAPI, with the SDK config fast path answering before any middleware runs."""

    fast_path: SdkConfigFastPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fast_path = self.fast_path
        if fast_path is not None and await fast_path.handle(scope, receive, send):
            return
        await super().__call__(scope, receive, send)


def create_app(
    settings: ServerSettings | None = None,
    *,
    store: Store | None = None,
    notifier_registry: NotifierRegistry | None = None,
) -> FastAPI:
    """The app; ``notifier_registry`` validates notification channels (default: the
    built-in types)."""
    settings = settings or ServerSettings.from_env()
    owned = store is None
    the_store = store or Store(settings.database_url, telemetry=settings.telemetry)
    hub = ConfigHub(the_store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not app.state.prepared:
            await asyncio.to_thread(prepare, app)
        hub.bind(asyncio.get_running_loop())
        await asyncio.to_thread(hub.refresh)
        controller: Controller | None = None
        if settings.controller is not None:
            controller = Controller(
                the_store, settings.controller, notifiers=app.state.notifier_registry
            )
        tasks = [
            asyncio.create_task(hub.poll_forever(settings.revision_poll_seconds)),
            asyncio.create_task(purge_forever(the_store, settings.retention_interval_seconds)),
        ]
        if controller is not None:
            controller.start()
        app.state.controller = controller
        try:
            yield
        finally:
            if controller is not None:
                await asyncio.to_thread(controller.close)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if owned:
                the_store.close()

    app = ControlPlaneApp(
        title="rollwise control plane",
        version="0.1.0",
        description="Flags, environments, tokens, audit log, SDK config delivery, "
        "telemetry ingest, metrics and monitoring, rollouts, alert rules and notifications.",
        lifespan=lifespan,
        docs_url=None,  # served offline by install_api_docs
        dependencies=[Depends(reject_nul)],
    )
    install_api_docs(app)
    metrics = ServerMetrics()
    app.state.settings = settings
    app.state.store = the_store
    app.state.hub = hub
    app.state.tokens = TokenCache(
        the_store, settings.token_cache_seconds, negative_ttl=settings.token_cache_seconds
    )
    app.state.auth_limiter = FailedAuthLimiter(
        settings.auth_failure_burst, settings.auth_failure_per_second
    )
    app.state.metrics = metrics
    app.state.notifier_registry = notifier_registry or default_registry()
    app.state.controller = None
    app.state.prepared = False
    install_error_handlers(app)
    for module in (
        health,
        environments,
        flags,
        tokens,
        audit,
        sdk,
        telemetry,
        metrics_query,
        mismatch_samples,
        monitoring,
        rollouts,
        alerts,
        channels,
        whoami,
        state,
        releases,
        experiments,
    ):
        app.include_router(module.router)
    app.include_router(channels.outbox_router)
    app.include_router(dashboard_router)
    app.add_middleware(
        RequestGuard,
        tokens=app.state.tokens,
        limiter=app.state.auth_limiter,
        limits=BodyLimits.of(settings.max_body_bytes, settings.max_telemetry_body_bytes),
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.fast_path = SdkConfigFastPath(
        hub, app.state.tokens, metrics, StreamPolicy.of(settings), app.state.auth_limiter
    )
    return app


def prepare(app: FastAPI) -> None:
    """Apply migrations and make sure an admin token exists; the lifespan does it unless
    this ran first. ``rollwise serve`` calls it before listening, so that a ConfigError
    (a revoked ``ROLLWISE_ADMIN_TOKEN``) is one line and exit 2, not a traceback."""
    store: Store = app.state.store
    store.upgrade()
    _bootstrap_admin(store, app.state.settings)
    app.state.prepared = True


def _bootstrap_admin(store: Store, settings: ServerSettings) -> None:
    """The first start has no token at all: create an admin one (given, or printed once).

    A ``ROLLWISE_ADMIN_TOKEN`` that names a revoked token is a ConfigError: starting would
    either resurrect a token someone revoked on purpose or leave no way in.
    """
    try:
        _ensure_admin(store, settings)
    except IntegrityError:  # another replica created the same token at the same moment
        _ensure_admin(store, settings)


def _ensure_admin(store: Store, settings: ServerSettings) -> None:
    with store.transaction("system") as tx:
        if settings.admin_token is not None:
            existing = tx.tokens.by_secret(settings.admin_token)
            if existing is not None and existing.revoked:
                raise ConfigError.single(None, "ROLLWISE_ADMIN_TOKEN", REVOKED_ADMIN_TOKEN)
            if existing is None:
                tx.tokens.create_with_secret(
                    "admin (ROLLWISE_ADMIN_TOKEN)", "admin", settings.admin_token
                )
            return
        if tx.tokens.count("admin") > 0:
            return
        secret = new_secret("admin")
        tx.tokens.create_with_secret("bootstrap admin", "admin", secret)
    sys.stderr.write(
        f"rollwise: created the first admin token (shown once, store it now):\n  {secret}\n"
    )
