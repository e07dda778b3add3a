"""What is particular to the ASGI middleware: scopes, route templates, users, laziness, guards."""

from __future__ import annotations

import asyncio
import logging
import string
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi import Request as FastAPIRequest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials, AuthenticationBackend, SimpleUser
from starlette.background import BackgroundTask
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket

from rollwise.integrations import Cookie, Custom, Header, QueryParam, User
from rollwise.integrations.asgi import RollwiseMiddleware
from rollwise.sdk.recorder import RequestRecorder

from ._support import CHECKOUT, describe, make_client, series, uvicorn_server


async def item(request: Request) -> Response:
    return JSONResponse(describe(request.state.rollwise, CHECKOUT))


class HeaderAuth(AuthenticationBackend):
    """Authenticates ``Authorization: User <name>`` (anything else: anonymous)."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, SimpleUser] | None:
        scheme, _, name = conn.headers.get("Authorization", "").partition(" ")
        if scheme != "User" or not name:
            return None
        return AuthCredentials(["authenticated"]), SimpleUser(name)


def test_lifespan_and_websockets_pass_through_untouched() -> None:
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        state = websocket.scope.get("state", {})
        await websocket.send_text(f"{await websocket.receive_text()} {'rollwise' in state}")
        await websocket.close()

    recorder = RequestRecorder()
    app = Starlette(
        routes=[WebSocketRoute("/ws", echo), Route("/items/{n}", item)], lifespan=lifespan
    )
    wrapped = RollwiseMiddleware(app, make_client(), flags=[CHECKOUT], recorder=recorder)
    with TestClient(wrapped) as http:
        assert events == ["startup"]
        with http.websocket_connect("/ws") as websocket:
            websocket.send_text("hello")
            assert websocket.receive_text() == "hello False"
        assert http.get("/items/1").status_code == 200
    assert events == ["startup", "shutdown"]
    assert series(recorder, 1) == {(CHECKOUT, "legacy", "/items/{n}"): (1, 0, 0)}


def test_mounted_routes_are_labelled_with_the_mount_templates() -> None:
    recorder = RequestRecorder()
    inner = Starlette(routes=[Route("/orders/{order_id}", item)])
    app = Starlette(
        routes=[
            Mount("/shops/{shop}", routes=[Mount("/v2", app=inner)]),
            Mount("/plain", routes=[Route("/x", item)]),
            Mount("/static", app=PlainTextResponse("a file")),
        ]
    )
    wrapped = RollwiseMiddleware(app, make_client(), flags=[CHECKOUT], recorder=recorder)
    with TestClient(wrapped) as http:
        for shop in ("a", "b", "c"):
            assert http.get(f"/shops/{shop}/v2/orders/{shop}1").status_code == 200
        assert http.get("/plain/x").status_code == 200
        assert http.get("/static/css/site.css").text == "a file"
        assert http.get("/static/js/app.js").status_code == 200
    assert series(recorder, 6) == {
        (CHECKOUT, "legacy", "/shops/{shop}/v2/orders/{order_id}"): (3, 0, 0),
        (CHECKOUT, "legacy", "/plain/x"): (1, 0, 0),
        (CHECKOUT, "legacy", "/static/{path}"): (2, 0, 0),
    }


def test_fastapi_templates_include_router_prefixes_and_mounts() -> None:
    recorder = RequestRecorder()
    app = FastAPI()
    things = APIRouter(prefix="/things")

    @things.get("/{thing_id}")
    def thing(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    app.include_router(things, prefix="/v1")
    sub = FastAPI()

    @sub.get("/reports/{year}")
    def report(year: int) -> dict[str, int]:
        return {"year": year}

    app.mount("/admin", sub)
    app.add_middleware(
        RollwiseMiddleware, client=make_client(), flags=[CHECKOUT], recorder=recorder
    )
    with TestClient(app) as http:
        for n in range(3):
            assert http.get(f"/v1/things/{n}").json() == {"id": n}
        assert http.get("/admin/reports/2025").json() == {"year": 2025}
        assert http.post("/v1/things/1").status_code == 405
    assert series(recorder, 5) == {
        (CHECKOUT, "legacy", "/v1/things/{thing_id}"): (4, 0, 1),
        (CHECKOUT, "legacy", "/admin/reports/{year}"): (1, 0, 0),
    }


@pytest.mark.parametrize("auth_outside", [True, False], ids=["auth-outside", "auth-inside"])
def test_the_authenticated_user_is_the_unit(auth_outside: bool) -> None:
    """Evaluation is lazy, so authentication may run inside the middleware as well."""
    client = make_client()
    recorder = RequestRecorder()
    app = Starlette(routes=[Route("/items/{n}", item)])
    options: dict[str, Any] = {"client": client, "flags": [CHECKOUT], "unit": User()}
    if auth_outside:  # the last one added is the outermost
        app.add_middleware(RollwiseMiddleware, recorder=recorder, **options)
        app.add_middleware(AuthenticationMiddleware, backend=HeaderAuth())
    else:
        app.add_middleware(AuthenticationMiddleware, backend=HeaderAuth())
        app.add_middleware(RollwiseMiddleware, recorder=recorder, **options)
    with TestClient(app) as http:
        alice = http.get("/items/1", headers={"Authorization": "User alice"}).json()
        anonymous = http.get("/items/1").json()
    assert alice["unit"] == "alice"
    assert alice["variant"] == client.variant(CHECKOUT, {"user_id": "alice"})
    assert (anonymous["unit"], anonymous["reason"]) == (None, "missing_unit")
    assert sum(t.requests for t in recorder.totals().values()) == 2


def test_user_loader_and_attribute() -> None:
    client = make_client()
    recorder = RequestRecorder()

    def load(request: Request) -> dict[str, Any]:
        return {"account": int(request.headers["X-Account"]), "is_authenticated": True}

    app = Starlette(routes=[Route("/items/{n}", item)])
    wrapped = RollwiseMiddleware(
        app, client, flags=[CHECKOUT], unit=User("account", loader=load), recorder=recorder
    )
    with TestClient(wrapped) as http:
        body = http.get("/items/1", headers={"X-Account": "4021"}).json()
    assert body["unit"] == 4021
    assert body["variant"] == client.variant(CHECKOUT, {"user_id": 4021})


@pytest.mark.parametrize(
    ("unit", "request_kwargs", "expected"),
    [
        (Cookie("visitor"), {"cookies": {"visitor": "v-77"}}, "v-77"),
        (QueryParam("uid"), {"params": {"uid": "q 9", "x": "1"}}, "q 9"),
        (QueryParam("uid"), {"params": {"other": "uid"}}, None),
        (Header("X-User-Id"), {"headers": {"x-user-id": "h-1"}}, "h-1"),
        (Custom(lambda request: request.headers.get("X-Alt")), {"headers": {"X-Alt": "c"}}, "c"),
        (lambda request: request.url.path, {}, "/items/5"),
    ],
    ids=["cookie", "query", "query-absent", "header", "custom", "callable"],
)
def test_unit_sources(unit: Any, request_kwargs: dict[str, Any], expected: str | None) -> None:
    client = make_client()
    app = Starlette(routes=[Route("/items/{n}", item)])
    wrapped = RollwiseMiddleware(app, client, flags=[CHECKOUT], unit=unit)
    with TestClient(wrapped) as http:
        if "cookies" in request_kwargs:
            http.cookies.update(request_kwargs.pop("cookies"))
        body = http.get("/items/5", **request_kwargs).json()
    assert body["unit"] == expected


def test_each_flag_is_evaluated_once_per_request() -> None:
    calls: list[str] = []

    def unit(request: Request) -> str:
        calls.append(request.url.path)
        return "u1"

    async def many(request: Request) -> Response:
        flags = request.state.rollwise
        seen = {flags.variant(CHECKOUT) for _ in range(5)} | {flags.evaluation(CHECKOUT).variant}
        assert flags.is_enabled(CHECKOUT) is (seen == {"domain"})
        assert flags.evaluations() == {CHECKOUT: flags.evaluation(CHECKOUT)}
        assert flags.flags == (CHECKOUT,)
        return PlainTextResponse(",".join(sorted(seen)))

    wrapped = RollwiseMiddleware(
        Starlette(routes=[Route("/many", many)]), make_client(), flags=[CHECKOUT], unit=unit
    )
    with TestClient(wrapped) as http:
        assert "," not in http.get("/many").text
        assert "," not in http.get("/many").text
    assert calls == ["/many", "/many"]


def test_background_tasks_after_the_body_are_not_timed() -> None:
    recorder = RequestRecorder()

    async def later() -> None:
        await asyncio.sleep(0.5)

    async def with_task(request: Request) -> Response:
        return PlainTextResponse("done", background=BackgroundTask(later))

    wrapped = RollwiseMiddleware(
        Starlette(routes=[Route("/task", with_task)]),
        make_client(),
        flags=[CHECKOUT],
        recorder=recorder,
    )
    with TestClient(wrapped) as http:
        assert http.get("/task").text == "done"
    totals = recorder.totals()[(CHECKOUT, "legacy", "/task")]
    assert totals.requests == 1
    assert totals.sketch.sum < 0.5


def test_a_background_task_failing_after_a_complete_response_records_what_was_sent() -> None:
    recorder = RequestRecorder()

    async def broken() -> None:
        raise RuntimeError("the e-mail server is down")

    async def with_task(request: Request) -> Response:
        return PlainTextResponse("done", background=BackgroundTask(broken))

    async def failing(request: Request) -> Response:
        raise RuntimeError("before any response")

    wrapped = RollwiseMiddleware(
        Starlette(routes=[Route("/task", with_task), Route("/fail", failing)]),
        make_client(),
        flags=[CHECKOUT],
        recorder=recorder,
    )
    with TestClient(wrapped, raise_server_exceptions=False) as http:
        assert http.get("/task").text == "done"
        assert http.get("/fail").status_code == 500
    task = recorder.totals()[(CHECKOUT, "legacy", "/task")]
    assert (task.requests, task.errors) == (1, 0)
    failed = recorder.totals()[(CHECKOUT, "legacy", "/fail")]
    assert (failed.requests, failed.errors) == (1, 1)


def test_failures_inside_rollwise_never_reach_the_request(caplog: pytest.LogCaptureFixture) -> None:
    class BrokenRecorder(RequestRecorder):
        def record(self, *args: Any, **kwargs: Any) -> None:
            raise OSError("disk on fire")

    def bad_unit(request: Request) -> str:
        raise KeyError("no unit here")

    def bad_context(request: Request) -> dict[str, Any]:
        raise ValueError("no context either")

    wrapped = RollwiseMiddleware(
        Starlette(routes=[Route("/items/{n}", item)]),
        make_client(),
        flags=[CHECKOUT],
        unit=bad_unit,
        context=bad_context,
        recorder=BrokenRecorder(),
    )
    with caplog.at_level(logging.WARNING, logger="rollwise"), TestClient(wrapped) as http:
        for _ in range(3):
            body = http.get("/items/1").json()
            assert (body["variant"], body["reason"]) == ("legacy", "missing_unit")
    assert wrapped.failures == {"unit": 3, "context": 3, "record": 3}
    assert len([r for r in caplog.records if "failed in the asgi integration" in r.message]) == 3


def test_a_real_uvicorn_server_records_what_it_served() -> None:
    """Concurrent requests through uvicorn, each recorded once under its own variant."""
    import httpx

    client = make_client()
    recorder = RequestRecorder()
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def get_item(item_id: int, request: FastAPIRequest) -> dict[str, Any]:
        await asyncio.sleep(0.01)
        return describe(request.state.rollwise, CHECKOUT)

    app.add_middleware(
        RollwiseMiddleware,
        client=client,
        flags=[CHECKOUT],
        unit=Header("X-User-Id"),
        recorder=recorder,
    )

    async def load(url: str) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=url) as http:
            replies = await asyncio.gather(
                *(http.get(f"/items/{n}", headers={"X-User-Id": f"user-{n}"}) for n in range(40))
            )
        return [reply.json() for reply in replies]

    with uvicorn_server(app) as url:
        bodies = asyncio.run(load(url))
        found = series(recorder, 40)
    expected: dict[str, int] = {}
    for n, body in enumerate(bodies):
        assert body["variant"] == client.variant(CHECKOUT, {"user_id": f"user-{n}"})
        expected[body["variant"]] = expected.get(body["variant"], 0) + 1
    assert found == {
        (CHECKOUT, variant, "/items/{item_id}"): (count, 0, 0)
        for variant, count in expected.items()
    }


@settings(max_examples=25, deadline=None)
@given(
    users=st.lists(
        st.text(alphabet=string.ascii_letters + string.digits + "-_.", min_size=1, max_size=24),
        max_size=12,
    )
)
def test_served_and_recorded_variants_are_the_clients(users: list[str]) -> None:
    """Whatever the users, each is served what the client says, and counted under it once."""
    client = make_client()
    recorder = RequestRecorder()
    app = Starlette(routes=[Route("/items/{n}", item)])
    wrapped = RollwiseMiddleware(
        app, client, flags=[CHECKOUT], unit=Header("X-User-Id"), recorder=recorder
    )
    expected: dict[tuple[str, str, str], tuple[int, int, int]] = {}
    with TestClient(wrapped) as http:
        for user in users:
            variant = client.variant(CHECKOUT, {"user_id": user})
            assert http.get("/items/1", headers={"X-User-Id": user}).json()["variant"] == variant
            key = (CHECKOUT, variant, "/items/{n}")
            expected[key] = (expected.get(key, (0, 0, 0))[0] + 1, 0, 0)
    assert series(recorder, len(users)) == expected
