"""Password reset by e-mail: a signed link that expires and works once (it is bound to the
current password hash, so using it - or any other password change - invalidates it). The key is
in the link's fragment (/password/reset#<key>), which no server or proxy ever receives or logs."""

from __future__ import annotations

import hashlib

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app import notify
from app.models import User, is_id
from app.services import accounts

SALT = "password-reset"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def max_age() -> int:
    return int(current_app.config.get("PASSWORD_RESET_MINUTES", 60)) * 60


def make_token(user: User) -> str:
    return _serializer().dumps({"u": user.id, "f": _fingerprint(user)})


def request_reset(email: str) -> None:
    """Queue the mail if the address belongs to an active user; say nothing either way."""
    user = accounts.find_user_by_email(email)
    if user is None or not user.active:
        return
    token = make_token(user)
    notify.enqueue("account.password_reset", "account", None, [user], _l("Reset your 8D Workbench password"), "password_reset",
                   {"minutes": max_age() // 60}, link=f"/password/reset#{token}", mandatory=True)


def user_for_token(token: str) -> User | None:
    from app.extensions import db

    try:
        data = _serializer().loads(token, max_age=max_age())
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict):
        return None
    user = db.session.get(User, data.get("u")) if is_id(data.get("u")) else None
    if user is None or not user.active or data.get("f") != _fingerprint(user):
        return None  # used already (the password changed), or the account was closed
    return user
