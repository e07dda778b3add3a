"""The route template a Starlette/FastAPI request matched, e.g. ``/api/items/{item_id}``.

Series are keyed by route template, never by raw path (one series per item id would be
unbounded). Starlette's router leaves the matched route in ``scope["route"]``, but only
the innermost one: a route inside a ``Mount`` knows its own path, not the mount's. So:

- the route's own template is ``scope["route"].path`` — or, for a FastAPI route reached
  through ``include_router(prefix=...)``, the effective template FastAPI matched with
  (which includes the include prefixes);
- if the request went through mounts (``root_path`` grew during routing), their templates
  are found by walking the top router's mounts with Starlette's own mount patterns; this
  costs a few regex matches, and only for mounted routes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.routing import BaseRoute, Mount

__all__ = ["route_template"]


def route_template(scope: Mapping[str, Any], entry_root: str) -> str | None:
    """The template of the route that handled ``scope`` (None when no route matched).

    ``entry_root`` is ``scope["root_path"]`` as it was before routing.
    """
    route = scope.get("route")
    if route is None:
        return None
    path: str | None = None
    fastapi = scope.get("fastapi")
    if fastapi:  # FastAPI keeps its own state there; the effective route context if included
        path = _fastapi_effective_path(fastapi)
    if path is None:
        if isinstance(route, Mount):  # a mounted app that is not a router (static files)
            path = "/{path}"
        else:
            found = getattr(route, "path", None)
            if not isinstance(found, str):
                return None
            path = found
    root = scope.get("root_path", "")
    if root != entry_root:
        return _mount_prefix(scope, entry_root, root) + path
    return path


def _fastapi_effective_path(fastapi: Any) -> str | None:
    context = fastapi.get("effective_route_context") if isinstance(fastapi, dict) else None
    path = getattr(context, "path_format", None)
    return path if isinstance(path, str) else None


def _mount_prefix(scope: Mapping[str, Any], entry_root: str, root: str) -> str:
    """Templates of the mounts that consumed ``root[len(entry_root):]`` of the path."""
    path: str = scope.get("path", "")
    if path.startswith(entry_root):
        path = path[len(entry_root) :]
    target = len(root) - len(entry_root)
    routes: Sequence[BaseRoute] = getattr(scope.get("router"), "routes", ())
    template = ""
    position = 0
    while position < target:
        for candidate in routes:
            if not isinstance(candidate, Mount):
                continue
            rest = path[position:]
            match = candidate.path_regex.match(rest)
            if match is None:
                continue
            consumed = len(rest) - len(match.group("path")) - 1
            if consumed <= 0:  # Mount("") consumes nothing: it cannot explain the prefix
                continue
            template += candidate.path
            position += consumed
            routes = candidate.routes
            break
        else:
            return "/{mount}"  # not found (a custom router): a fixed label, never raw
    return template
