"""Flask extension: flags bound to every request, exposed in ``g.rollwise``, recorded.

::

    from rollwise.integrations import Header
    from rollwise.integrations.flask import Rollwise

    rollwise_ext = Rollwise(app, client, flags=["checkout-domain-service"],
                            unit=Header("X-User-Id"))
    # or, with an application factory: Rollwise(client=client, ...).init_app(app)

    @app.get("/checkout")
    def checkout():
        if g.rollwise.variant("checkout-domain-service") == "domain":
            ...

For every request ``g.rollwise`` is a :class:`~rollwise.integrations.RequestFlags`; each
bound flag is evaluated at most once, lazily (so ``User()`` sees a ``g.user`` that a later
``before_request`` loads), and at the latest when the request context is torn down. The
request is recorded under every bound flag's variant in ``client.recorder`` (or
``recorder=``) by a thin WSGI layer around ``app.wsgi_app``:

- **status**: the response status; an exception that propagates (testing, debug,
  ``PROPAGATE_EXCEPTIONS``) is a server error (status None), re-raised untouched;
  otherwise Flask's own 500 response is what is recorded;
- **latency**: ``perf_counter`` from the WSGI call to the end of the response body (a
  streamed response is measured until the server has taken its last chunk);
- **route**: ``request.url_rule.rule`` (``/items/<int:item_id>``, blueprint prefixes
  included); requests no rule matched (404, 405) share the label ``(unmatched)``.

Paths under ``exclude_paths`` (prefixes of ``PATH_INFO``) still get ``g.rollwise`` but are
not recorded. Callables (``Custom``, ``User(loader=...)``, ``context=``) receive
``flask.request``. Nothing here raises into the application: failures are counted in
:attr:`Rollwise.failures` and logged once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from time import perf_counter
from typing import TYPE_CHECKING, Any

from flask import Flask, g, request
from flask.wrappers import Request

from ..errors import ConfigError
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
    UNMATCHED_ROUTE,
    ContextBuilder,
    Extract,
    FlagBinding,
    OverrideReader,
    Plan,
)
from ._request import RequestFlags
from ._units import (
    Cookie,
    Header,
    PathParam,
    QueryParam,
    UnitSource,
    UnitSpec,
    User,
    unit_of_user,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["Rollwise"]

_ENVIRON_KEY = "rollwise.request"
_FLASK_USER_ATTRIBUTES = ("id",)


class Rollwise:
    """Binds ``flags`` to every request of a Flask app and records their outcomes.

    The settings are those of the ASGI middleware: ``unit`` (``Header``, ``Cookie``,
    ``PathParam``, ``QueryParam``, ``User``, ``Custom`` or a callable of the request),
    ``attribute`` (the context key of the unit), ``context(request)`` for more attributes,
    ``overrides``/``signer``/``override_counter`` for per-request overrides (off by default).
    """

    def __init__(
        self,
        app: Flask | None = None,
        client: Client | None = None,
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
        if client is None:
            raise ConfigError.single(None, "client", "give the rollwise.Client to evaluate with")
        self.client = client
        self._plan = Plan(
            client,
            integration="flask",
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
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Hook into ``app``: first ``before_request``, a teardown, and the WSGI layer."""
        if "rollwise" in app.extensions:
            raise ConfigError.single(None, "app", f"rollwise is already set up on {app.name!r}")
        app.extensions["rollwise"] = self
        # First, so that a before_request answering early (a login redirect) is recorded too.
        app.before_request_funcs.setdefault(None, []).insert(0, self._before_request)
        app.teardown_request(self._teardown_request)
        app.wsgi_app = _RecordingApp(app.wsgi_app, self)  # type: ignore[method-assign]

    @property
    def override_counter(self) -> OverrideCounter:
        """Honoured and rejected per-request overrides; the reporter drains it."""
        return self._plan.gate.counter

    @property
    def failures(self) -> dict[str, int]:
        """What failed inside the extension (and was absorbed), by kind."""
        return self._plan.guard.counts()

    # -- Flask hooks ---------------------------------------------------------------------

    def _before_request(self) -> None:
        try:
            flags = RequestFlags(self._plan, request)
            g.rollwise = flags
            rule = request.url_rule
            route = rule.rule if rule is not None else self._unmatched
            request.environ[_ENVIRON_KEY] = (flags, route)
        except Exception as error:  # noqa: BLE001 - the documented hot-path guard
            self._plan.guard.failed("request", error)

    def _teardown_request(self, error: BaseException | None) -> None:
        """Evaluate what is left while the request (and ``g``) still exist."""
        try:
            entry = request.environ.get(_ENVIRON_KEY)
            if entry is None:  # a hook running before ours (url_value_preprocessor) failed
                self._before_request()
                entry = request.environ.get(_ENVIRON_KEY)
            if entry is not None:
                entry[0]._resolve()
        except Exception as failure:  # noqa: BLE001 - the documented hot-path guard
            self._plan.guard.failed("evaluate", failure)

    # -- recording (called by the WSGI layer) ----------------------------------------------

    def _excluded_path(self, environ: WSGIEnvironment) -> bool:
        return bool(self._excluded) and str(environ.get("PATH_INFO", "")).startswith(self._excluded)

    def _finish(self, environ: WSGIEnvironment, status: int | None, seconds: float) -> None:
        try:
            entry = environ.get(_ENVIRON_KEY)
            if entry is not None:
                flags, route = entry
                flags._record(status, seconds, route)
        except Exception as error:  # noqa: BLE001 - the documented hot-path guard
            self._plan.guard.failed("record", error)


class _RecordingApp:
    """Wraps ``app.wsgi_app``: times each request to the end of its body, then records."""

    def __init__(self, wsgi_app: WSGIApplication, extension: Rollwise) -> None:
        self.wsgi_app = wsgi_app
        self._extension = extension

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        extension = self._extension
        if extension._excluded_path(environ):
            return self.wsgi_app(environ, start_response)
        body = _Body(extension, environ, start_response)
        try:
            body.inner = self.wsgi_app(environ, body.start_response)
        except Exception:  # not caught: the app's own error is recorded, then re-raised
            body.end(None)
            raise
        return body


class _Body:
    """The response body, passed through; records when it ends (or is closed early)."""

    __slots__ = ("_environ", "_extension", "_start", "_start_response", "done", "inner", "status")

    def __init__(
        self, extension: Rollwise, environ: WSGIEnvironment, start_response: StartResponse
    ) -> None:
        self._extension = extension
        self._environ = environ
        self._start_response = start_response
        self.inner: Iterable[bytes] = ()
        self.status: int | None = None
        self.done = False
        self._start = perf_counter()

    def start_response(self, status: str, headers: Any, exc_info: Any = None) -> Any:
        try:
            self.status = int(status.split(" ", 1)[0])
        except ValueError:
            self.status = None
        return self._start_response(status, headers, exc_info)

    def __iter__(self) -> Iterator[bytes]:
        failed = False
        try:
            yield from self.inner
        except Exception:  # not caught: the app's own error is recorded, then re-raised
            failed = True
            raise
        finally:  # also when the server stops iterating early (the client went away)
            self.end(None if failed else self.status)

    def close(self) -> None:
        try:
            close = getattr(self.inner, "close", None)
            if close is not None:
                close()
        finally:
            self.end(self.status)  # only if the body did not end (client went away)

    def end(self, status: int | None) -> None:
        if not self.done:
            self.done = True
            self._extension._finish(self._environ, status, perf_counter() - self._start)


# -- compiling unit sources into functions of the Flask request -----------------------------


def _compile_unit(source: UnitSource) -> Extract:
    if isinstance(source, Header):
        name = source.name
        return lambda req: req.headers.get(name)
    if isinstance(source, Cookie):
        cookie = source.name
        return lambda req: req.cookies.get(cookie)
    if isinstance(source, PathParam):
        param = source.name
        return lambda req: (req.view_args or {}).get(param)
    if isinstance(source, QueryParam):
        query = source.name
        return lambda req: req.args.get(query)
    if isinstance(source, User):
        return _user(source)
    function = source.function
    return function


def _user(source: User) -> Extract:
    attributes = (source.attribute,) if source.attribute else _FLASK_USER_ATTRIBUTES
    loader = source.loader

    def extract(req: Request) -> Any:
        user = loader(req) if loader is not None else g.get("user")
        return unit_of_user(user, attributes)

    return extract


def _compile_context(builder: ContextBuilder) -> ContextBuilder:
    return builder


def _compile_overrides(gate: OverrideGate) -> OverrideReader:
    """Read force parameters (the query value, else the header) and the token of a request."""
    parameters = gate.policy.parameters  # a disabled policy's too: their use is counted
    token_query = gate.policy.token_parameter
    token_header = gate.policy.token_header

    def read(req: Request) -> tuple[list[tuple[ForceParameter, str]], str | None]:
        found: list[tuple[ForceParameter, str]] = []
        args = req.args
        headers = req.headers
        for parameter in parameters:  # one decision per parameter: the query, else the header
            value = args.get(parameter.name)
            if value is None:
                value = headers.get(parameter.header)
            if value is not None:
                found.append((parameter, value))
        token = args.get(token_query) or headers.get(token_header)
        return found, token

    return read
