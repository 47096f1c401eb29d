"""Who is calling: a bearer token (no CSRF needed) or the browser session (CSRF required for
writes). Views marked @public need nobody; the mark is an attribute of the view registered for the
endpoint, so two views of the same name in different modules cannot be mistaken for each other."""

from __future__ import annotations

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from app.api import bp
from app.errors import Unauthorized


def public(view):
    view.public = True
    return view


def is_public(endpoint: str | None) -> bool:
    return bool(getattr(current_app.view_functions.get(endpoint or ""), "public", False))


@bp.before_request
def authenticate():
    if is_public(request.endpoint):  # a stale token must not stop a client from getting a new one
        return None
    authed = current_user.is_authenticated  # runs the loaders (token first, then session)
    if g.get("bad_token"):
        raise Unauthorized(_('The access token is invalid, expired or revoked.'))
    if not authed:
        raise Unauthorized(_("Authentication required: send 'Authorization: Bearer <token>'."))
    if g.get("api_token") is None and request.method not in ("GET", "HEAD", "OPTIONS"):
        token = request.headers.get("X-CSRFToken") or request.headers.get("X-CSRF-Token")
        try:
            validate_csrf(token)
        except ValidationError as exc:
            raise CSRFError(str(exc)) from None
    return None
