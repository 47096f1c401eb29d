"""Tokens, who am I, the method, companies and users one may pick."""

from __future__ import annotations

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_babel import refresh as force_locale_refresh
from flask_login import current_user
from sqlalchemy import select

from app import method, policy, security_log
from app.api import bp
from app.api.auth import public
from app.api.spec import operation
from app.api.util import arg_int, created, json_body, paginate, respond
from app.errors import BadRequest, Unauthorized
from app.extensions import db
from app.models import Company, User, iso
from app.schemas.accounts import Company as CompanyShape
from app.schemas.accounts import Me, MeUpdate, Token, TokenRequest, UserFilter
from app.schemas.accounts import User as UserShape
from app.schemas.base import Paging, page_of
from app.schemas.method import Method
from app.serialize import as_company, as_me, as_user
from app.services import accounts, login_limits


@operation("Get an access token", "session", ok=201, response=Token, body=TokenRequest, errors=(429,),
           description="Wrong credentials: 401. Too many tries: 429.")
@bp.route("/tokens", methods=["POST"])
@public
def create_token():
    data = json_body()
    email, password = data.get("email"), data.get("password")
    if not isinstance(email, str) or not isinstance(password, str):
        raise BadRequest(_("'email' and 'password' must be strings."), {"fields": {"email": "required string", "password": "required string"}})
    # the same per-account budget as the login form, and one per address (database-backed)
    login_limits.spend(login_limits.account_key(email), login_limits.address_key("login", request.remote_addr))
    user = accounts.authenticate(email, password)
    if user is None:
        security_log.event("token", email=email, outcome="failed")
        raise Unauthorized(_('The e-mail or the password is not correct.'))
    raw, token = accounts.issue_token(user, current_app.config["API_TOKEN_DAYS"])
    db.session.commit()
    security_log.event("token", user=user)
    return created(Token(token=raw, expires_at=iso(token.expires_at), token_type="Bearer"))


@operation("Revoke the token of this request", "session", ok=204, description="400 when the request was not made with a token.")
@bp.route("/tokens/current", methods=["DELETE"])
def revoke_token():
    token = g.get("api_token")
    if token is None:
        raise BadRequest(_('This request was not made with a token.'))
    accounts.revoke_token(token)
    db.session.commit()
    return "", 204


@operation("Who am I", "session", response=Me)
@bp.route("/me")
def me():
    return respond(as_me(current_user))


@operation("Change my own settings (language)", "session", response=Me, body=MeUpdate, errors=(422,),
           description="`language`: en, de or zh - pages, API errors and mails to this user are written in it; "
                       "null: the browser's Accept-Language decides. Unknown language: 422.")
@bp.route("/me", methods=["PATCH"])
def update_me():
    data = json_body()
    if "language" in data:
        accounts.set_language(current_user, data["language"])
    db.session.commit()
    force_locale_refresh()
    return respond(as_me(current_user))


@operation("The 8D method: disciplines, fields and examples", "method", response=Method)
@bp.route("/method")
@public
def method_definition():
    return respond(Method.model_validate(method.method_json()))


@operation("Companies the caller may pick as report parties", "session", response=page_of(CompanyShape), query=(Paging,))
@bp.route("/companies")
def companies():
    stmt = select(Company).where(policy.pickable_companies_clause(current_user)).order_by(Company.name)
    return paginate(stmt, as_company, CompanyShape)


@operation("Users the caller may put on a team", "session", response=page_of(UserShape), query=(UserFilter, Paging))
@bp.route("/users")
def users():
    stmt = select(User).where(policy.listable_users_clause(current_user)).order_by(User.name, User.id)
    company_id = arg_int("company_id")
    if company_id is not None:
        stmt = stmt.where(User.company_id == company_id)
    return paginate(stmt, as_user, UserShape)
