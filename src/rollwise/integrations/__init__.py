"""Framework integrations: flags bound to requests, exposed to handlers, outcomes recorded.

- :mod:`rollwise.integrations.asgi` — ``RollwiseMiddleware`` for Starlette and FastAPI
  (``pip install rollwise[server]`` brings Starlette with FastAPI);
- :mod:`rollwise.integrations.flask` — the ``Rollwise`` Flask extension
  (``pip install rollwise[flask]``).

This package imports no framework; each integration module imports only its own. What
they share lives here: where a request's unit comes from (:class:`Header`,
:class:`Cookie`, :class:`PathParam`, :class:`QueryParam`, :class:`User`,
:class:`Custom`), how a flag is bound (:class:`FlagBinding`) and what a handler gets
(:class:`RequestFlags`). See ``docs/integrations.md``.
"""

from ._binding import STATE_KEY, UNMATCHED_ROUTE, FlagBinding
from ._request import RequestFlags
from ._units import Cookie, Custom, Header, PathParam, QueryParam, UnitSource, UnitSpec, User

__all__ = [
    "STATE_KEY",
    "UNMATCHED_ROUTE",
    "Cookie",
    "Custom",
    "FlagBinding",
    "Header",
    "PathParam",
    "QueryParam",
    "RequestFlags",
    "UnitSource",
    "UnitSpec",
    "User",
]
