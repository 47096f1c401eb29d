"""Administration, two levels (docs/api.md "Wave 2"): a company admin manages the users of their own
company - another company's users and companies answer 404; a platform admin (granted on the
command line only) creates companies and manages any account."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_login import current_user

from app import policy
from app.api import bp
from app.api.spec import operation
from app.api.util import created, json_body, respond
from app.errors import BadRequest, Forbidden
from app.extensions import db
from app.schemas.accounts import AdminUser, Company, CompanyCreate, UserCreate, UserUpdate
from app.serialize import as_admin_user, as_company
from app.services import accounts


def _admin() -> None:
    if not policy.can_administer(current_user):
        raise Forbidden(_('Administrators only.'))


def _no_platform_grant(data: dict) -> None:
    if data.get("platform_admin"):
        raise Forbidden(_('Platform administration is granted on the command line only (flask user platform-admin).'))


@operation("Create a company (platform admin)", "admin", ok=201, response=Company, body=CompanyCreate, errors=(403, 409, 422),
           description="Platform administrators only; a company admin gets 403.")
@bp.route("/admin/companies", methods=["POST"])
def admin_create_company():
    _admin()
    if not policy.can_create_company(current_user):
        raise Forbidden(_('Only platform administrators create companies.'))
    data = json_body()
    company = accounts.create_company(current_user, data.get("name"), data.get("kind"))
    db.session.commit()
    return created(as_company(company))


@operation("Create a user (company admin: of their company; platform admin: of any)", "admin", ok=201, response=AdminUser,
           body=UserCreate, errors=(403, 404, 409, 422),
           description="A company admin creates users of their own company only: another company_id is 404, like a company that does not exist.")
@bp.route("/admin/users", methods=["POST"])
def admin_create_user():
    _admin()
    data = json_body()
    _no_platform_grant(data)
    user = accounts.create_user(current_user, data.get("email"), data.get("name"), data.get("company_id"), data.get("role"), data.get("password"))
    db.session.commit()
    return created(as_admin_user(user))


@operation("Change a user's role, name, password or active flag (admin)", "admin", response=AdminUser, body=UserUpdate, errors=(403, 422),
           description="A company admin changes users of their own company only (another company's user: 404) and no platform admin's "
           "account (403); platform admins change any account.")
@bp.route("/admin/users/<int:user_id>", methods=["PATCH"])
def admin_update_user(user_id: int):
    _admin()
    user = accounts.get_user(user_id)
    accounts.check_can_manage(current_user, user)
    data = json_body()
    _no_platform_grant(data)
    if "active" in data and not isinstance(data["active"], bool):
        raise BadRequest(_("'active' must be true or false."), {"fields": {"active": "must be a boolean"}})
    if "role" in data and not isinstance(data["role"], str):
        raise BadRequest(_("'role' must be a string."), {"fields": {"role": "must be a string"}})
    if "name" in data and not isinstance(data["name"], str):
        raise BadRequest(_("'name' must be a string."), {"fields": {"name": "must be a string"}})
    accounts.update_user(current_user, user, role=data.get("role"), active=data.get("active"), name=data.get("name"))
    if "password" in data:
        accounts.set_password(current_user, user, data["password"])
    db.session.commit()
    return respond(as_admin_user(user))
