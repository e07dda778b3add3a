"""The service's exception tree, and the JSON error body every 4xx/5xx answer carries.

:class:`RequestRejected` and its subclasses are *answers*: the implementation decided the
request cannot be served and says why, with an HTTP status. Anything else an implementation
raises is a failure; for the domain implementation that is what triggers the fallback to
legacy (see :mod:`camera_service.dispatch`).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CameraServiceError",
    "Conflict",
    "InjectedFault",
    "InvalidInput",
    "NotFound",
    "RequestRejected",
    "SettingsError",
    "StoredDataError",
    "camera_not_found",
    "error_body",
    "rule_not_found",
]


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{"error": {"code", "message", "details"}}``: the shape of every error answer."""
    return {"error": {"code": code, "message": message, "details": details or {}}}


class CameraServiceError(Exception):
    """Root of every exception the camera service raises on purpose."""

    code = "camera_service_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details


class SettingsError(CameraServiceError):
    """A setting (environment variable) that cannot be used: names it and says why."""

    code = "invalid_settings"

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}", setting=name, reason=reason)
        self.name = name
        self.reason = reason


class StoredDataError(CameraServiceError):
    """A configuration file whose content the domain model cannot accept."""

    code = "stored_data_invalid"


class RequestRejected(CameraServiceError):
    """An answer, not a failure: the request is refused with ``status`` and a JSON error."""

    status = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, code: str | None = None, status: int | None = None, **details: Any
    ) -> None:
        super().__init__(message, **details)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)


class InvalidInput(RequestRejected):
    """The request's content breaks a rule of the domain (422)."""

    status = 422
    code = "invalid_input"


class NotFound(RequestRejected):
    status = 404
    code = "not_found"


class Conflict(RequestRejected):
    """Valid on its own, but not in the current state (409)."""

    status = 409
    code = "conflict"


class InjectedFault(RequestRejected):
    """A deliberate 500 from the fault-injection hook (:mod:`camera_service.faults`)."""

    status = 500
    code = "injected_fault"


def camera_not_found(camera_id: str) -> NotFound:
    """Both implementations answer an unknown camera with this exact error."""
    return NotFound(f"no camera {camera_id!r}", code="camera_not_found", camera_id=camera_id)


def rule_not_found(rule_id: str) -> NotFound:
    """Both implementations answer an unknown alert rule with this exact error."""
    return NotFound(f"no alert rule {rule_id!r}", code="alert_rule_not_found", rule_id=rule_id)
