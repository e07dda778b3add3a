"""No NUL character in any text a request gives: the same 422 on SQLite and PostgreSQL.

PostgreSQL cannot store ``\\x00`` in text (a DataError at the database) while SQLite stores
it, so one request got a 422 on one and a 201 on the other; NUL is also never meaningful in
a flag key, a description or a rule. This dependency, on every API route, refuses it in the
path, the query and anywhere in a JSON body, naming where.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

__all__ = ["NUL_MESSAGE", "find_nul", "reject_nul"]

NUL_MESSAGE = "text must not contain the NUL character (\\u0000)"
_ESCAPED_NUL = b"\\u0000"


def find_nul(value: Any, path: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """The location of the first string (or mapping key) in ``value`` holding a NUL."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                return (*path, key)
            found = find_nul(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = find_nul(item, (*path, index))
            if found is not None:
                return found
    return None


def _refuse(location: tuple[str | int, ...], value: object) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": location, "msg": NUL_MESSAGE, "type": "string_nul", "input": value}]
    )


async def reject_nul(request: Request) -> None:
    """422 ``validation_error`` when the path, the query or the JSON body holds a NUL."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and "\x00" in value:
            raise _refuse(("path", name), value)
    for name, value in request.query_params.multi_items():
        if "\x00" in value or "\x00" in name:
            raise _refuse(("query", name), value)
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return
    body = await request.body()  # FastAPI has read it already: this is its cached copy
    if _ESCAPED_NUL not in body and b"\x00" not in body:
        return  # JSON can only carry NUL escaped: a byte scan settles nearly every request
    try:
        document = json.loads(body)
    except ValueError:
        return  # not JSON: the route's own validation answers
    found = find_nul(document)
    if found is not None:
        raise _refuse(("body", *found), None)
