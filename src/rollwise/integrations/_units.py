"""Where a request's unit (the identity a flag buckets on, e.g. the user id) comes from.

These are declarations, not code that runs per request: each integration compiles them
once, when it is built, into a function of its own request representation (an ASGI scope,
a Flask request), so that the request path does no dispatching of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

__all__ = [
    "Cookie",
    "Custom",
    "Header",
    "PathParam",
    "QueryParam",
    "UnitSource",
    "UnitSpec",
    "User",
    "as_source",
    "unit_of_user",
]


@dataclass(frozen=True, slots=True)
class Header:
    """The value of a request header (case-insensitive name), e.g. ``X-User-Id``."""

    name: str


@dataclass(frozen=True, slots=True)
class Cookie:
    """The value of a cookie, e.g. an anonymous visitor id."""

    name: str


@dataclass(frozen=True, slots=True)
class PathParam:
    """A path parameter of the matched route, e.g. ``{tenant}`` (known once routing ran)."""

    name: str


@dataclass(frozen=True, slots=True)
class QueryParam:
    """The first value of a query parameter."""

    name: str


@dataclass(frozen=True, slots=True)
class User:
    """The authenticated user's id.

    ``loader(request)`` returns the user (or the id itself, a str or int); without it the
    integration's default is used: Starlette's ``scope["user"]`` (set by
    ``AuthenticationMiddleware``), Flask's ``g.user``. A user whose ``is_authenticated`` is
    false has no unit. ``attribute`` is read from the user object (or key of a mapping);
    without it Starlette reads ``identity`` then ``display_name``, Flask reads ``id``.
    """

    attribute: str | None = None
    loader: Callable[[Any], Any] | None = None


@dataclass(frozen=True, slots=True)
class Custom:
    """Any function of the framework's request (Starlette ``Request``, Flask ``request``)."""

    function: Callable[[Any], Any]


UnitSource = Header | Cookie | PathParam | QueryParam | User | Custom
UnitSpec = UnitSource | Callable[[Any], Any] | None
"""What an integration accepts as ``unit=``: a source, a bare callable (a :class:`Custom`),
or None (no unit: the context builder supplies whatever the flag needs)."""

_NAMED = (Header, Cookie, PathParam, QueryParam)


def as_source(spec: UnitSpec, field: str) -> UnitSource | None:
    """Validate ``spec`` (``field`` names it in errors) and normalise a callable."""
    if spec is None:
        return None
    if isinstance(spec, _NAMED):
        if not isinstance(spec.name, str) or not spec.name:
            raise ConfigError.single(None, field, f"{type(spec).__name__} needs a name")
        return spec
    if isinstance(spec, User | Custom):
        return spec
    if callable(spec):
        return Custom(spec)
    raise ConfigError.single(
        None,
        field,
        f"expected Header, Cookie, PathParam, QueryParam, User, Custom or a callable, got {spec!r}",
    )


def unit_of_user(user: Any, attributes: tuple[str, ...]) -> Any:
    """The id of ``user``: itself if a str or int, else the first attribute that answers."""
    if user is None or isinstance(user, str | int):
        return user
    if getattr(user, "is_authenticated", True) is False:
        return None
    for attribute in attributes:
        if isinstance(user, Mapping):
            value = user.get(attribute)
        else:
            try:
                value = getattr(user, attribute, None)
            except NotImplementedError:  # Starlette's BaseUser.identity
                continue
        if value is not None and value != "":
            return value
    return None
