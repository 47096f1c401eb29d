"""How a request finds its user: a browser session (checked against the server-side session
record on every request) or an API bearer token."""

from __future__ import annotations

from flask import current_app, g, request, session
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager

from app.models import utcnow
from app.services import accounts


def configure_login(login_manager: LoginManager) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str):
        if not str(user_id).isdigit():
            return None
        if request.headers.get("Authorization", "").lower().startswith("bearer "):
            return None  # an explicit token wins over a cookie that happens to come along
        now = int(utcnow().timestamp())
        seen = session.get("seen")
        idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
        if not isinstance(seen, int) or now - seen > idle:
            accounts.end_session(session.get("sid"))  # idle timeout
            from app.extensions import db

            db.session.commit()
            session.clear()
            return None
        user = accounts.session_user(session.get("sid"), int(user_id), max_age_seconds=current_app.config["PERMANENT_SESSION_LIFETIME"])
        if user is not None and now - seen > 60:
            session["seen"] = now
        return user

    @login_manager.request_loader
    def load_user_from_token(req):
        header = req.headers.get("Authorization", "")
        if not header.lower().startswith("bearer "):
            return None
        found = accounts.token_user(header[7:].strip())
        if found is None:
            g.bad_token = True
            return None
        user, token = found
        g.api_token = token
        return user

