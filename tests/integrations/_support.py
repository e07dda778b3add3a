"""Shared pieces for integration tests: a client, the same app in three frameworks, servers.

Every app serves the same endpoints, so that one test can run against Starlette (wrapped
as a plain ASGI app), FastAPI (``add_middleware``) and Flask, each through its test client
and through a real server on a loopback port (uvicorn or werkzeug in a thread):

- ``/items/{item_id}``      the checkout flag as the handler sees it (JSON)
- ``/tenants/{tenant}/home`` the tenant flag (unit: the ``tenant`` path parameter)
- ``/fail``                 raises RuntimeError
- ``/missing``              a 404 raised by the handler
- ``/stream``               three chunks, 50 ms apart
- ``/health``               excluded from recording
- ``/other``                a flag that is not bound (evaluated, not recorded)
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import flask
import httpx
import uvicorn
from fastapi import APIRouter, FastAPI
from fastapi import Request as FastAPIRequest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp
from werkzeug.serving import make_server

import rollwise
from rollwise import ClientOptions
from rollwise.integrations import RequestFlags
from rollwise.integrations.asgi import RollwiseMiddleware
from rollwise.integrations.flask import Rollwise
from rollwise.sdk.override_tokens import OverrideCounter
from rollwise.sdk.recorder import RequestRecorder

from .._support.net import loopback_client

CHECKOUT = "checkout"
TENANT = "tenant-pricing"
OTHER = "other-flag"
KEY = "k" * 32


def config() -> dict[str, Any]:
    """checkout 50/50 with a rule (country NZ → domain), tenant-pricing 50/50 by tenant."""
    state: dict[str, Any] = {
        "split": {"legacy": 5000, "domain": 5000},
        "rules": [
            {
                "id": "nz",
                "conditions": [{"attribute": "country", "op": "eq", "value": "NZ"}],
                "variant": "domain",
            }
        ],
    }
    tenant_state = {"unit": "tenant", "split": {"off": 5000, "on": 5000}}
    other_state = {"split": {"off": 5000, "on": 5000}}
    return {
        "flags": [
            {
                "key": CHECKOUT,
                "variants": ["legacy", "domain"],
                "off_variant": "legacy",
                "environments": {"production": state, "staging": state},
            },
            {
                "key": TENANT,
                "variants": ["off", "on"],
                "environments": {"production": tenant_state, "staging": tenant_state},
            },
            {
                "key": OTHER,
                "variants": ["off", "on"],
                "environments": {"production": other_state, "staging": other_state},
            },
        ]
    }


def make_client(environment: str = "production") -> rollwise.Client:
    return rollwise.Client(config(), environment=environment, options=ClientOptions(environ={}))


def users_with(client: rollwise.Client, variant: str, count: int, prefix: str = "u") -> list[str]:
    """``count`` user ids the checkout flag assigns to ``variant``."""
    found: list[str] = []
    n = 0
    while len(found) < count:
        user = f"{prefix}{n}"
        if client.variant(CHECKOUT, {"user_id": user}) == variant:
            found.append(user)
        n += 1
    return found


Series = dict[tuple[str, str, str], tuple[int, int, int]]


def series(recorder: RequestRecorder, requests: int, timeout: float = 5.0) -> Series:
    """(flag, variant, route) → (requests, errors, client_errors), once ``requests`` requests
    are recorded across all series (a real server records just after the client has the
    response, so this waits for it, up to ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        totals = recorder.totals()
        seen = {key: (t.requests, t.errors, t.client_errors) for key, t in totals.items()}
        if sum(r for r, _, _ in seen.values()) >= requests or time.monotonic() > deadline:
            return {key: value for key, value in seen.items() if value[0]}


def by_flag(found: Series, flag: str) -> Series:
    return {key: value for key, value in found.items() if key[0] == flag}


def describe(flags: RequestFlags, flag: str) -> dict[str, Any]:
    evaluation = flags.evaluation(flag)
    return {
        "variant": evaluation.variant,
        "reason": evaluation.reason,
        "enabled": evaluation.enabled,
        "unit": flags.unit(flag),
    }


# -- the apps --------------------------------------------------------------------------------


async def _item(request: Request) -> Response:
    return JSONResponse(describe(request.state.rollwise, CHECKOUT))


async def _tenant(request: Request) -> Response:
    return JSONResponse(describe(request.state.rollwise, TENANT))


async def _fail(request: Request) -> Response:
    raise RuntimeError("the handler failed")


async def _missing(request: Request) -> Response:
    raise HTTPException(404, "no such thing")


async def _chunks() -> AsyncIterator[bytes]:
    for chunk in (b"one ", b"two ", b"three"):
        yield chunk
        await asyncio.sleep(0.05)


async def _stream(request: Request) -> Response:
    return StreamingResponse(_chunks(), media_type="text/plain")


async def _health(request: Request) -> Response:
    return PlainTextResponse(request.state.rollwise.variant(CHECKOUT))


async def _other(request: Request) -> Response:
    return JSONResponse(describe(request.state.rollwise, OTHER))


def starlette_routes() -> list[Any]:
    return [
        Route("/items/{item_id}", _item),
        Route("/tenants/{tenant}/home", _tenant),
        Route("/fail", _fail),
        Route("/missing", _missing),
        Route("/stream", _stream),
        Route("/health", _health),
        Route("/other", _other),
        Mount("/shops/{shop}", routes=[Route("/orders/{order_id}", _item)]),
    ]


def starlette_app(client: rollwise.Client, **options: Any) -> RollwiseMiddleware:
    """A Starlette app wrapped by the middleware as a plain ASGI app."""
    return RollwiseMiddleware(Starlette(routes=starlette_routes()), client, **options)


def fastapi_app(client: rollwise.Client, **options: Any) -> FastAPI:
    """A FastAPI app with the middleware added the usual way (sync and async handlers)."""
    app = FastAPI()
    items = fastapi_router()
    app.include_router(items)

    @app.get("/tenants/{tenant}/home")
    async def tenant(tenant: str, request: FastAPIRequest) -> dict[str, Any]:
        return describe(request.state.rollwise, TENANT)

    @app.get("/fail")
    def fail() -> None:
        raise RuntimeError("the handler failed")

    @app.get("/missing")
    def missing() -> None:
        raise HTTPException(404, "no such thing")

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        return StreamingResponse(_chunks(), media_type="text/plain")

    @app.get("/health")
    def health(request: FastAPIRequest) -> str:
        return str(request.state.rollwise.variant(CHECKOUT))

    @app.get("/other")
    def other(request: FastAPIRequest) -> dict[str, Any]:
        return describe(request.state.rollwise, OTHER)

    app.add_middleware(RollwiseMiddleware, client=client, **options)
    return app


def fastapi_router() -> APIRouter:
    router = APIRouter()

    @router.get("/items/{item_id}")
    def item(item_id: int, request: FastAPIRequest) -> dict[str, Any]:  # sync: a threadpool
        return describe(request.state.rollwise, CHECKOUT)

    return router


def flask_app(client: rollwise.Client, **options: Any) -> tuple[flask.Flask, Rollwise]:
    app = flask.Flask("rollwise-test")
    extension = Rollwise(app, client, **options)

    @app.get("/items/<int:item_id>")
    def item(item_id: int) -> Any:
        return describe(flask.g.rollwise, CHECKOUT)

    @app.get("/tenants/<tenant>/home")
    def tenant(tenant: str) -> Any:
        return describe(flask.g.rollwise, TENANT)

    @app.get("/fail")
    def fail() -> Any:
        raise RuntimeError("the handler failed")

    @app.get("/missing")
    def missing() -> Any:
        flask.abort(404)

    @app.get("/stream")
    def stream() -> Any:
        def chunks() -> Iterator[bytes]:
            for chunk in (b"one ", b"two ", b"three"):
                yield chunk
                time.sleep(0.05)

        return flask.Response(chunks(), mimetype="text/plain")

    @app.get("/health")
    def health() -> Any:
        return flask.g.rollwise.variant(CHECKOUT)

    @app.get("/other")
    def other() -> Any:
        return describe(flask.g.rollwise, OTHER)

    return app, extension


TEMPLATES = {
    "starlette": {"items": "/items/{item_id}", "tenants": "/tenants/{tenant}/home"},
    "fastapi": {"items": "/items/{item_id}", "tenants": "/tenants/{tenant}/home"},
    "flask": {"items": "/items/<int:item_id>", "tenants": "/tenants/<tenant>/home"},
}


# -- serving them ------------------------------------------------------------------------------

WAYS = [
    (framework, transport)
    for framework in ("starlette", "fastapi", "flask")
    for transport in ("testclient", "server")
]


@dataclass
class Reply:
    status: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


@dataclass
class Served:
    """One app, served one way; ``get`` works the same for test clients and real servers."""

    framework: str
    transport: str
    recorder: RequestRecorder
    counter: OverrideCounter
    get: Callable[..., Reply]
    templates: dict[str, str] = field(default_factory=dict)

    @property
    def raises(self) -> bool:
        """Whether a handler's exception reaches the caller (test clients) or is a 500."""
        return self.transport == "testclient"


Serve = Callable[..., AbstractContextManager[Served]]


def _httpx_get(http: httpx.Client) -> Callable[..., Reply]:
    def get(
        path: str, headers: dict[str, str] | None = None, params: dict[str, str] | None = None
    ) -> Reply:
        response = http.get(path, headers=headers, params=params)
        return Reply(response.status_code, response.text)

    return get


@contextmanager
def serve(
    framework: str, transport: str, client: rollwise.Client, **options: Any
) -> Iterator[Served]:
    """Build ``framework``'s app with the integration (``options``) and serve it."""
    recorder = options.setdefault("recorder", RequestRecorder())
    counter = options.setdefault("override_counter", OverrideCounter())
    options.setdefault("exclude_paths", ["/health"])
    templates = TEMPLATES[framework]
    if framework == "flask":
        app, _ = flask_app(client, **options)
        if transport == "testclient":
            app.testing = True
            test_client = app.test_client()

            def get(
                path: str,
                headers: dict[str, str] | None = None,
                params: dict[str, str] | None = None,
            ) -> Reply:
                response = test_client.get(path, headers=headers, query_string=params)
                return Reply(response.status_code, response.get_data(as_text=True))

            yield Served(framework, transport, recorder, counter, get, templates)
        else:
            with werkzeug_server(app) as url, loopback_client(url) as http:
                yield Served(framework, transport, recorder, counter, _httpx_get(http), templates)
        return
    asgi: ASGIApp = (
        starlette_app(client, **options)
        if framework == "starlette"
        else fastapi_app(client, **options)
    )
    if transport == "testclient":
        with TestClient(asgi, raise_server_exceptions=True) as http:
            yield Served(framework, transport, recorder, counter, _httpx_get(http), templates)
    else:
        with uvicorn_server(asgi) as url, loopback_client(url) as http:
            yield Served(framework, transport, recorder, counter, _httpx_get(http), templates)


@contextmanager
def uvicorn_server(app: ASGIApp) -> Iterator[str]:
    """Run ``app`` under uvicorn on a free loopback port in a thread; yield its URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def werkzeug_server(app: flask.Flask) -> Iterator[str]:
    """Run ``app`` under werkzeug's threaded server on a free loopback port in a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
