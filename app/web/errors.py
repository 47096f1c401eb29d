"""One error handler: domain errors and HTTP errors become JSON (docs/api.md) under /api/, friendly
pages elsewhere. A refused request changes nothing: the session is rolled back first - except
for a wrong signature password, raised before any change, whose claimed attempt is committed with
its record (services/workflow.py)."""

from __future__ import annotations

from flask import current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from app import security_log
from app.errors import DomainError
from app.extensions import db

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    503: "unavailable",
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def json_error(status: int, code: str, message: str, details: dict | None = None):
    response = jsonify({"error": code, "message": message, "details": details or {}})
    response.status_code = status
    return response


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # pragma: no cover - a broken connection must not hide the real error
        current_app.logger.exception("rollback failed")


def _user():
    from flask_login import current_user

    try:
        return current_user if current_user.is_authenticated else None
    except Exception:  # pragma: no cover
        return None


def answer(status: int, code: str, message: str, details: dict | None = None):
    """The one translation of a refusal for the client: JSON per docs/api.md for the API and for
    clients that ask for JSON, the error page for a browser."""
    if wants_json():
        return json_error(status, code, message, details or {})
    return render_template("errors/error.html", status=status, message=message, details=details or {}), status


def domain_error(exc: DomainError):
    if not getattr(exc, "keeps_transaction", False):
        _rollback()
    if exc.status in (403, 429):
        what = "denied" if exc.status == 403 else getattr(exc, "log_event", "locked")
        security_log.event(what, user=_user(), outcome=str(exc.status), detail=exc.message)
    record = getattr(exc, "record", None)
    if callable(record):  # a failed signature attempt is kept although the request failed
        record()
        db.session.commit()
    return answer(exc.status, exc.code, exc.message, exc.details)


def csrf_error(exc: CSRFError):
    _rollback()
    message = _("The form has expired or did not come from this site. Reload the page and try again.")
    return answer(400, "bad_request", message, {"csrf": exc.description} if wants_json() else {})


def _http_message(status: int, exc: HTTPException) -> str:
    messages = {
        400: _("The request could not be understood."),
        401: _("Please sign in."),
        403: _("You do not have permission to do this."),
        404: _("This page does not exist, or you do not have access to it."),
        405: _("This method is not allowed here."),
        413: _("The upload is too large (at most %(mb)s MB).", mb=current_app.config["MAX_UPLOAD_MB"]),
        429: _("Too many attempts. Please wait a minute and try again."),
    }
    return messages.get(status, exc.description or exc.name)


def http_error(exc: HTTPException):
    _rollback()
    status = exc.code or 500
    if status in (403, 429):
        security_log.event("denied" if status == 403 else "rate_limited", user=_user(), outcome=str(status))
    message = _http_message(status, exc)
    if wants_json():
        response = json_error(status, HTTP_CODES.get(status, "error"), message)
        if status == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response
    return answer(status, HTTP_CODES.get(status, "error"), message)


def database_away(exc: Exception):
    """The database does not answer (restarting, failing over, connection cut): 503, so that
    proxies and clients know to try again. The transaction was not committed."""
    _rollback()
    current_app.logger.error("database unavailable on %s %s: %s", request.method, request.path, str(exc).splitlines()[0][:300])
    message = _("The database does not answer at the moment. Nothing was saved; please try again in a moment.")
    try:  # the page's layout may itself need the database (the signed-in user)
        return answer(503, "unavailable", message)
    except Exception:  # noqa: BLE001
        _rollback()
        return f"<!doctype html><title>503</title><p>{escape(message)}</p>", 503, {"Content-Type": "text/html; charset=utf-8"}


def unexpected(exc: Exception):
    _rollback()
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return answer(500, "internal_error", _("Something went wrong on our side. Nothing was saved; please try again."))


def register(app) -> None:
    for error, handler in ((DomainError, domain_error), (CSRFError, csrf_error), (HTTPException, http_error),
                           (OperationalError, database_away), (InterfaceError, database_away), (Exception, unexpected)):
        app.register_error_handler(error, handler)
