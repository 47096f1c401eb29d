"""Administration (role admin only)."""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from app import policy
from app.api import bp
from app.api.util import created, json_body
from app.errors import BadRequest, Forbidden
from app.extensions import db
from app.services import accounts


def _admin() -> None:
    if not policy.can_administer(current_user):
        raise Forbidden("Administrators only.")


@bp.route("/admin/companies", methods=["POST"])
def admin_create_company():
    _admin()
    data = json_body()
    company = accounts.create_company(current_user, data.get("name"), data.get("kind"))
    db.session.commit()
    return created(company.as_json())


@bp.route("/admin/users", methods=["POST"])
def admin_create_user():
    _admin()
    data = json_body()
    user = accounts.create_user(current_user, data.get("email"), data.get("name"), data.get("company_id"), data.get("role"), data.get("password"))
    db.session.commit()
    return created(user.as_json())


@bp.route("/admin/users/<int:user_id>", methods=["PATCH"])
def admin_update_user(user_id: int):
    _admin()
    data = json_body()
    user = accounts.get_user(user_id)
    if "active" in data and not isinstance(data["active"], bool):
        raise BadRequest("'active' must be true or false.", {"fields": {"active": "must be a boolean"}})
    if "role" in data and not isinstance(data["role"], str):
        raise BadRequest("'role' must be a string.", {"fields": {"role": "must be a string"}})
    if "name" in data and not isinstance(data["name"], str):
        raise BadRequest("'name' must be a string.", {"fields": {"name": "must be a string"}})
    accounts.update_user(current_user, user, role=data.get("role"), active=data.get("active"), name=data.get("name"))
    if "password" in data:
        accounts.set_password(current_user, user, data["password"])
    db.session.commit()
    return jsonify(user.as_json())
