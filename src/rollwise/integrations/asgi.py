"""ASGI middleware for Starlette and FastAPI: flags bound to every HTTP request, recorded.

::

    from rollwise.integrations import Header
    from rollwise.integrations.asgi import RollwiseMiddleware

    app.add_middleware(RollwiseMiddleware, client=client, flags=["checkout-domain-service"],
                       unit=Header("X-User-Id"))

    @app.get("/checkout")
    async def checkout(request: Request):
        if request.state.rollwise.variant("checkout-domain-service") == "domain":
            ...

Or wrap any ASGI app: ``app = RollwiseMiddleware(app, client, flags=[...])``.

Per HTTP request the middleware puts a :class:`~rollwise.integrations.RequestFlags` in
``request.state.rollwise`` (``scope["state"]["rollwise"]``); each bound flag is evaluated
at most once, lazily (so a unit may come from a path parameter), and the request is
recorded under every bound flag's variant in ``client.recorder`` (or ``recorder=``):

- **status**: the response status; an exception is recorded as a server error (status
  None) and re-raised untouched;
- **latency**: ``perf_counter`` from the call to the end of the response body (the last
  body message of a streaming response; background tasks after it are not counted);
- **route**: the matched route's template (mounts and FastAPI include prefixes included);
  requests no route matched share the label ``(unmatched)``.

Lifespan and websocket scopes pass through untouched. Paths under ``exclude_paths``
(prefixes, e.g. ``/health``) still get ``request.state.rollwise`` but are not recorded.
Callables (``Custom``, ``User(loader=...)``, ``context=``) receive a Starlette ``Request``
without a body. Nothing here raises into the application: failures are counted in
:attr:`RollwiseMiddleware.failures` and logged once.

With ``app.add_middleware`` Starlette builds the middleware itself: pass
``override_counter=OverrideCounter()`` (and ``recorder=``) to keep hold of what it counts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from time import perf_counter
from typing import Any
from urllib.parse import parse_qsl, quote

from starlette.requests import Request, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..sdk.client import Client
from ..sdk.override_tokens import (
    ForceParameter,
    OverrideCounter,
    OverrideGate,
    OverridePolicy,
    OverrideSigner,
)
from ..sdk.recorder import RequestRecorder
from ._binding import (
    STATE_KEY,
    UNMATCHED_ROUTE,
    ContextBuilder,
    Extract,
    FlagBinding,
    OverrideReader,
    Plan,
)
from ._request import RequestFlags
from ._starlette_routes import route_template
from ._units import (
    Cookie,
    Custom,
    Header,
    PathParam,
    QueryParam,
    UnitSource,
    UnitSpec,
    User,
    unit_of_user,
)

__all__ = ["RollwiseMiddleware"]

_STARLETTE_USER_ATTRIBUTES = ("identity", "display_name")


class RollwiseMiddleware:
    """Binds ``flags`` to every HTTP request of ``app`` and records their outcomes.

    ``unit`` says where the sticky unit comes from (``Header``, ``Cookie``, ``PathParam``,
    ``QueryParam``, ``User``, ``Custom`` or a callable) and ``attribute`` under which
    context key it goes (the flag's ``unit``, ``user_id`` by default); ``context(request)``
    adds more attributes for targeting rules. ``overrides`` (with ``signer``) enables
    per-request overrides; off by default.
    """

    def __init__(
        self,
        app: ASGIApp,
        client: Client,
        *,
        flags: Iterable[str | FlagBinding] = (),
        unit: UnitSpec = None,
        attribute: str = "user_id",
        context: Callable[[Request], Mapping[str, Any]] | None = None,
        recorder: RequestRecorder | None = None,
        overrides: OverridePolicy | None = None,
        signer: OverrideSigner | None = None,
        override_counter: OverrideCounter | None = None,
        unmatched_route: str = UNMATCHED_ROUTE,
        exclude_paths: Iterable[str] = (),
        logger: logging.Logger | None = None,
    ) -> None:
        self.app = app
        self._plan = Plan(
            client,
            integration="asgi",
            flags=flags,
            unit=unit,
            attribute=attribute,
            context=context,
            recorder=recorder,
            overrides=overrides,
            signer=signer,
            override_counter=override_counter,
            logger=logger,
            compile_unit=_compile_unit,
            compile_context=_compile_context,
            compile_overrides=_compile_overrides,
        )
        self._unmatched = unmatched_route
        self._excluded = tuple(exclude_paths)

    @property
    def override_counter(self) -> OverrideCounter:
        """Honoured and rejected per-request overrides; the reporter drains it."""
        return self._plan.gate.counter

    @property
    def failures(self) -> dict[str, int]:
        """What failed inside the middleware (and was absorbed), by kind."""
        return self._plan.guard.counts()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            flags = RequestFlags(self._plan, scope)
            state = scope.get("state")
            if state is None:
                state = scope["state"] = {}
            state[STATE_KEY] = flags
            entry_root = scope.get("root_path", "")
            recorded = not (self._excluded and scope["path"].startswith(self._excluded))
        except Exception as error:  # noqa: BLE001 - the documented hot-path guard
            self._plan.guard.failed("request", error)
            recorded = False
        if not recorded:
            await self.app(scope, receive, send)
            return

        status: int | None = None
        ended: float | None = None

        async def send_and_watch(message: Message) -> None:
            nonlocal status, ended
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
            elif (kind == "http.response.body" and not message.get("more_body", False)) or (
                kind == "http.response.pathsend"
            ):
                await send(message)
                ended = perf_counter()
                return
            await send(message)

        start = perf_counter()
        try:
            await self.app(scope, receive, send_and_watch)
        except Exception:  # after a complete response (a background task): what was sent
            answered = status if ended is not None else None
            self._finish(flags, scope, entry_root, answered, (ended or perf_counter()) - start)
            raise
        except BaseException:  # cancelled: only a response that was complete counts
            if ended is not None:
                self._finish(flags, scope, entry_root, status, ended - start)
            raise
        self._finish(flags, scope, entry_root, status, (ended or perf_counter()) - start)

    def _finish(
        self, flags: RequestFlags, scope: Scope, entry_root: str, status: int | None, seconds: float
    ) -> None:
        try:
            route = route_template(scope, entry_root)
            flags._record(status, seconds, route if route is not None else self._unmatched)
        except Exception as error:  # noqa: BLE001 - the documented hot-path guard
            self._plan.guard.failed("record", error)


# -- compiling unit sources into functions of the scope ------------------------------------


def _compile_unit(source: UnitSource) -> Extract:
    if isinstance(source, Header):
        return _header(source.name.lower().encode("latin-1"))
    if isinstance(source, Cookie):
        return _cookie(source.name)
    if isinstance(source, PathParam):
        return _path_param(source.name)
    if isinstance(source, QueryParam):
        return _query_param(source.name)
    if isinstance(source, User):
        return _user(source)
    return _custom(source)


def _header(name: bytes) -> Extract:
    def extract(scope: Scope) -> str | None:
        for key, value in scope["headers"]:
            if key == name:
                decoded: str = value.decode("latin-1")
                return decoded
        return None

    return extract


def _cookie(name: str) -> Extract:
    def extract(scope: Scope) -> str | None:
        for key, value in scope["headers"]:
            if key == b"cookie":
                found = cookie_parser(value.decode("latin-1")).get(name)
                if found:
                    return found
        return None

    return extract


def _path_param(name: str) -> Extract:
    def extract(scope: Scope) -> Any:
        params = scope.get("path_params")
        return params.get(name) if params else None

    return extract


def _query_param(name: str) -> Extract:
    plain = quote(name, safe="") == name
    needle = name.encode("latin-1") if plain else b""

    def extract(scope: Scope) -> str | None:
        query: bytes = scope.get("query_string", b"")
        if not query or needle not in query:  # b"" is in every query: no shortcut then
            return None
        for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if key == name:
                return value
        return None

    return extract


def _user(source: User) -> Extract:
    attributes = (source.attribute,) if source.attribute else _STARLETTE_USER_ATTRIBUTES
    loader = source.loader

    def extract(scope: Scope) -> Any:
        user = loader(Request(scope)) if loader is not None else scope.get("user")
        return unit_of_user(user, attributes)

    return extract


def _custom(source: Custom) -> Extract:
    function = source.function

    def extract(scope: Scope) -> Any:
        return function(Request(scope))

    return extract


def _compile_context(builder: ContextBuilder) -> ContextBuilder:
    def build(scope: Scope) -> Mapping[str, Any]:
        return builder(Request(scope))

    return build


def _compile_overrides(gate: OverrideGate) -> OverrideReader:
    """Read force parameters and the token of a request: the first query value of each, else
    its header (one decision per parameter and request)."""
    policy = gate.policy
    parameters = gate.policy.parameters  # a disabled policy's too: their use is counted
    by_query = {p.name: p for p in parameters}
    by_header = {p.header.lower().encode("latin-1"): p for p in parameters}
    token_query = policy.token_parameter
    token_header = policy.token_header.lower().encode("latin-1")

    def read(scope: Scope) -> tuple[list[tuple[ForceParameter, str]], str | None]:
        values: dict[str, tuple[ForceParameter, str]] = {}
        token: str | None = None
        query: bytes = scope.get("query_string", b"")
        if query:
            for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
                parameter = by_query.get(key)
                if parameter is not None:
                    values.setdefault(parameter.name, (parameter, value))
                elif key == token_query and token is None:
                    token = value
        for name, raw in scope["headers"]:
            parameter = by_header.get(name)
            if parameter is not None:
                values.setdefault(parameter.name, (parameter, raw.decode("latin-1")))
            elif name == token_header and token is None:
                token = raw.decode("latin-1")
        return list(values.values()), token

    return read
