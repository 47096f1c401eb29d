"""Domain errors raised by services and the policy; one handler maps them to HTML or JSON."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class BadRequest(DomainError):
    status = 400
    code = "bad_request"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class TooLarge(DomainError):
    status = 413
    code = "too_large"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class GateNotMet(DomainError):
    """The current discipline's completion rules do not hold; details.missing lists what is missing."""

    status = 409
    code = "gate_not_met"

    def __init__(self, message: str, missing: list[str]):
        super().__init__(message, {"missing": missing})
        self.missing = missing


class Gone(DomainError):
    """A link that worked once and no longer does: used, revoked or expired (HTTP 410)."""

    status = 410
    code = "gone"


class Unavailable(DomainError):
    """A service the request needs (the evidence store, the database) does not answer for the
    moment. Nothing was changed; the client may try again (HTTP 503)."""

    status = 503
    code = "unavailable"


class Invalid(DomainError):
    """Values that break a rule: details.fields maps field -> message, or details.rule names it."""

    status = 422
    code = "invalid"

    def __init__(self, message: str, fields: dict[str, str] | None = None, rule: str | None = None):
        details: dict[str, Any] = {}
        if fields:
            details["fields"] = fields
        if rule:
            details["rule"] = rule
        super().__init__(message, details)
        self.fields = fields or {}
