"""Who is calling: a bearer token (no CSRF needed) or the browser session (CSRF required for
writes). Endpoints marked @public need nobody."""

from __future__ import annotations

from functools import wraps

from flask import g, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from app.api import bp
from app.errors import Unauthorized

PUBLIC = set()


def public(view):
    PUBLIC.add(view.__name__)
    return view


@bp.before_request
def authenticate():
    endpoint = (request.endpoint or "").split(".")[-1]
    if endpoint in PUBLIC:  # a stale token must not stop a client from getting a new one
        return None
    authed = current_user.is_authenticated  # runs the loaders (token first, then session)
    if g.get("bad_token"):
        raise Unauthorized("The access token is invalid, expired or revoked.")
    if not authed:
        raise Unauthorized("Authentication required: send 'Authorization: Bearer <token>'.")
    if g.get("api_token") is None and request.method not in ("GET", "HEAD", "OPTIONS"):
        token = request.headers.get("X-CSRFToken") or request.headers.get("X-CSRF-Token")
        try:
            validate_csrf(token)
        except ValidationError as exc:
            raise CSRFError(str(exc)) from None
    return None


def api_login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            raise Unauthorized("Authentication required.")
        return view(*args, **kwargs)

    return wrapper
