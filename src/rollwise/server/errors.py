"""Every error the API returns is ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.responses import Response

from ..errors import ConfigError, ConflictError, NotFoundError, RollwiseError

__all__ = ["ApiError", "ErrorBody", "error_response", "install_error_handlers"]

_logger = logging.getLogger("rollwise.server")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    415: "unsupported_media_type",
    422: "validation_error",
    428: "version_required",
    503: "unavailable",
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class ErrorBody(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    """An error raised by a route with its HTTP status and machine-readable code."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return JSONResponse(body, status_code=status, headers=headers)


def _status_of(error: RollwiseError) -> int:
    if isinstance(error, NotFoundError):
        return 404
    if isinstance(error, ConflictError):
        return 409
    if isinstance(error, ConfigError):
        return 422
    return 400


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return error_response(error.status, error.code, error.message, error.details, headers)

    @app.exception_handler(RollwiseError)
    async def _domain_error(request: Request, error: RollwiseError) -> JSONResponse:
        return error_response(_status_of(error), error.code, error.message, error.details)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "path": ".".join(str(part) for part in item.get("loc", ())),
                "message": str(item.get("msg", "invalid")),
                "type": str(item.get("type", "")),
            }
            for item in error.errors()
        ]
        first = problems[0] if problems else {"path": "", "message": "invalid request"}
        message = f"{first['path']}: {first['message']}" if first["path"] else first["message"]
        return error_response(422, "validation_error", message, {"errors": problems})

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
        code = _CODES.get(error.status_code, "error")
        return error_response(
            error.status_code, code, str(error.detail), headers=dict(error.headers or {}) or None
        )

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, error: DataError) -> JSONResponse:
        # The database refused a value that passed validation (a NUL character in text for
        # PostgreSQL, a number beyond its column): the client's input, so a 422.
        reason = str(error.orig).splitlines()[0] if error.orig is not None else "invalid value"
        return error_response(
            422, "invalid_value", f"the database cannot store a value of this request: {reason}"
        )

    for unavailable in database_outages():
        app.add_exception_handler(unavailable, _database_unavailable)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        _logger.exception("rollwise: unexpected error on %s %s", request.method, request.url.path)
        return error_response(
            500, "internal_error", "an unexpected error occurred; it was logged on the server"
        )


RETRY_AFTER_SECONDS = 5
"""What a 503 ``database_unavailable`` asks a client to wait before trying again."""


def database_outages() -> tuple[type[Exception], ...]:
    """The exceptions that mean "the database cannot be reached or used right now".

    A lost or refused connection, an exhausted pool, a file the database cannot open
    (SQLite), and a driver error raised outside SQLAlchemy (psycopg's, when installed).
    """
    found: list[type[Exception]] = [
        OperationalError,
        InterfaceError,
        DisconnectionError,
        PoolTimeout,
    ]
    try:
        import psycopg
    except ImportError:  # SQLite only
        pass
    else:
        found += [psycopg.OperationalError, psycopg.InterfaceError]
    return tuple(found)


async def _database_unavailable(request: Request, error: Exception) -> Response:
    """503 with ``Retry-After``: an outage is the server's problem and passes; a 500 would
    say the request is at fault and not worth retrying."""
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()
    _logger.warning(
        "rollwise: database unavailable on %s %s: %s",
        request.method,
        request.url.path,
        reason[0] if reason else type(error).__name__,
    )
    return error_response(
        503,
        "database_unavailable",
        "the database is unavailable; try again shortly",
        {"retry_after_seconds": RETRY_AFTER_SECONDS},
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of the error statuses a route can return."""
    return {
        status: {"model": ErrorBody, "description": _CODES.get(status, "error")}
        for status in statuses
    }
