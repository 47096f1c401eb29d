"""Tokens, who am I, the method, companies and users one may pick."""

from __future__ import annotations

from flask import current_app, g, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from app import method, policy, security_log
from app.api import bp
from app.api.auth import public
from app.api.util import arg_int, created, json_body, paginate
from app.errors import BadRequest, Unauthorized
from app.extensions import db
from app.models import Company, User, iso
from app.services import accounts, login_limits


@bp.route("/tokens", methods=["POST"])
@public
def create_token():
    data = json_body()
    email, password = data.get("email"), data.get("password")
    if not isinstance(email, str) or not isinstance(password, str):
        raise BadRequest("'email' and 'password' must be strings.", {"fields": {"email": "required string", "password": "required string"}})
    # the same per-account budget as the login form, and one per address (database-backed)
    login_limits.spend(login_limits.account_key(email), login_limits.address_key("login", request.remote_addr))
    user = accounts.authenticate(email, password)
    if user is None:
        security_log.event("token", email=email, outcome="failed")
        raise Unauthorized("The e-mail or the password is not correct.")
    raw, token = accounts.issue_token(user, current_app.config["API_TOKEN_DAYS"])
    db.session.commit()
    security_log.event("token", user=user)
    return created({"token": raw, "expires_at": iso(token.expires_at), "token_type": "Bearer"})


@bp.route("/tokens/current", methods=["DELETE"])
def revoke_token():
    token = g.get("api_token")
    if token is None:
        raise BadRequest("This request was not made with a token.")
    accounts.revoke_token(token)
    db.session.commit()
    return "", 204


@bp.route("/me")
def me():
    return jsonify({**current_user.as_json(), "platform_admin": bool(current_user.platform_admin)})


@bp.route("/method")
@public
def method_definition():
    return jsonify(method.method_json())


@bp.route("/companies")
def companies():
    stmt = select(Company).where(policy.pickable_companies_clause(current_user)).order_by(Company.name)
    return paginate(stmt, lambda c: c.as_json())


@bp.route("/users")
def users():
    stmt = select(User).where(policy.listable_users_clause(current_user)).order_by(User.name, User.id)
    company_id = arg_int("company_id")
    if company_id is not None:
        stmt = stmt.where(User.company_id == company_id)
    return paginate(stmt, lambda u: {k: v for k, v in u.as_json().items()})
