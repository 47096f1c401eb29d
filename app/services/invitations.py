"""Invitations: a report's leader or champion invites a person of one of the report's two
companies by e-mail (when that company allows it). The link /invitations/<token> is signed with
the app's key, works once and for 7 days; only a SHA-256 hash of its key is stored. The invitee
sets a name and a password (the policy of every account) and joins the company and the team. An
e-mail that already has an account of that company joins the team at once."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from app import policy
from app.errors import BadRequest, Conflict, Forbidden, Gone, Invalid, NotFound
from app.extensions import db
from app.models import INVITATION_DAYS, Company, Invitation, Report, Role, Status, TeamMember, TeamRole, User, is_id, utcnow
from app.models.accounts import hash_token
from app.services import accounts, audit

SALT = "invitation"
ROLES = {"engineer": TeamRole.member, "viewer": TeamRole.viewer}


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def link_token(key: str) -> str:
    """The link's token: the random key, signed (a forged or altered link is refused unread)."""
    return _signer().dumps(key)


def _key(token: Any) -> str | None:
    if not isinstance(token, str) or not 0 < len(token) <= 300:
        return None
    try:
        key = _signer().loads(token)
    except BadSignature:
        return None
    return key if isinstance(key, str) else None


def _text(data: dict, name: str, limit: int) -> str:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"'{name}' must be a string.", {"fields": {name: "must be a string"}})
    value = (value or "").strip()
    if not value or len(value) > limit:
        raise Invalid(_("Some values are missing or too long."), fields={name: f"is required (at most {limit} characters)"})
    return value


def _check_body(report: Report, data: Any) -> tuple[str, str, Company, str]:
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    company_id = data.get("company_id")
    if isinstance(company_id, bool) or not isinstance(company_id, int):
        raise BadRequest("'company_id' must be an integer id.", {"fields": {"company_id": "must be an integer id"}})
    role = data.get("role")
    if not isinstance(role, str):
        raise BadRequest("'role' must be a string.", {"fields": {"role": "must be a string"}})
    email = accounts.normalise_email(data.get("email"))
    name = _text(data, "name", 200)
    if role not in ROLES:
        raise Invalid(_("Invite as engineer or viewer."), fields={"role": "must be engineer or viewer"})
    company = db.session.get(Company, company_id) if is_id(company_id) else None
    if company is None or company.id not in (report.oem_id, report.supplier_id):
        raise Invalid(_("Invite people of the report's customer or supplier only."), fields={"company_id": "is not a company of this report"})
    return email, name, company, role


def invite(actor: User, report: Report, data: Any) -> tuple[Invitation, bool]:
    """(the invitation, whether an existing account joined the team at once)."""
    if not policy.can_invite(actor, report):
        raise Forbidden(_("Only the team leader or the champion can invite people."))
    email, name, company, role = _check_body(report, data)
    if not policy.may_invite_into(report, company):
        raise Forbidden(_("%(company)s does not allow invitations; ask its administrator.", company=company.name))
    if report.status == Status.closed:
        raise Conflict(_("The report is closed."), {"rule": "closed"})
    now = utcnow()
    for old in db.session.scalars(select(Invitation).where(Invitation.report_id == report.id, Invitation.email == email,
                                                         Invitation.used_at.is_(None), Invitation.revoked_at.is_(None))):
        old.revoked_at = now  # a new link replaces the one sent before
    key = secrets.token_urlsafe(32)
    inv = Invitation(report_id=report.id, company_id=company.id, email=email, name=name, role=Role(role), token_hash=hash_token(key),
                     created_at=now, created_by_id=actor.id, expires_at=now + dt.timedelta(days=INVITATION_DAYS))
    inv.company, inv.report = company, report
    db.session.add(inv)
    existing = db.session.scalar(select(User).where(User.email == email))
    audit.record("invitation.created", actor, report, discipline="D1",
                 changes={"invitation": [None, email], "company": [None, company.name], "role": [None, role]})
    if existing is not None:
        if existing.company_id != company.id or not existing.active or not policy.may_join_team(existing, report):
            raise Invalid(_("This e-mail address belongs to an account that cannot join this team."),
                          fields={"email": "has an account that cannot join this team"})
        from app.services import team as team_service

        team_service.add_member(actor, report, existing.id, ROLES[role].value)
        inv.used_at, inv.user_id = now, existing.id
        db.session.flush()
        return inv, True
    db.session.flush()
    from app.notify.invitations import invitation_mail

    invitation_mail(inv, actor, f"/invitations/{link_token(key)}")
    return inv, False


def list_for(actor: User, report: Report) -> list[Invitation]:
    if not policy.can_manage_invitations(actor, report):
        raise Forbidden(_("Only the team leader, the champion or an administrator can see the invitations."))
    return list(db.session.scalars(select(Invitation).where(Invitation.report_id == report.id).order_by(Invitation.id)))


def revoke(actor: User, inv: Invitation, report: Report) -> None:
    if not policy.can_manage_invitations(actor, report):
        raise Forbidden(_("Only the team leader, the champion or an administrator can revoke invitations."))
    if inv.state != "pending":
        raise Conflict(_("This invitation is %(state)s already.", state=inv.state), {"rule": inv.state})
    inv.revoked_at = utcnow()
    audit.record("invitation.revoked", actor, report, discipline="D1", changes={"invitation": [inv.email, None]})


def pending(token: Any) -> Invitation:
    """The invitation of a link, if it can still be used: unknown or forged -> NotFound; used,
    revoked or expired (the app's clock) -> Gone."""
    key = _key(token)
    inv = db.session.scalar(select(Invitation).where(Invitation.token_hash == hash_token(key))) if key else None
    if inv is None:
        raise NotFound(_("No such invitation."))
    if inv.state != "pending" or inv.report.status == Status.closed:
        raise Gone(_("This invitation link was used, revoked or has expired; ask for a new one."), {"state": inv.state})
    return inv


def accept(token: Any, data: Any) -> User:
    """The invitee's account (new), on the company and the report's team; the link is used up."""
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    inv = pending(token)
    if db.session.scalar(select(User.id).where(User.email == inv.email)):
        raise Conflict(_("An account with this e-mail address exists already: sign in instead."), {"fields": {"email": "already exists"}})
    password = data.get("password")
    user = accounts.create_user(None, inv.email, data.get("name"), inv.company_id, inv.role.value, password)
    report = inv.report
    role = ROLES[inv.role.value]
    db.session.add(TeamMember(report_id=report.id, user_id=user.id, role=role))
    inv.used_at, inv.user_id = utcnow(), user.id
    audit.record("invitation.accepted", user, report, discipline="D1", changes={"invitation": [inv.email, None]})
    audit.record("team.added", user, report, discipline="D1", changes={"member": [None, user.email], "role": [None, role.value]},
                 comment="joined by invitation")
    db.session.flush()
    db.session.expire(report, ["team"])
    return user


def set_allow_invitations(actor: User, company: Company, value: Any) -> Company:
    if not policy.can_configure_company(actor, company):
        raise NotFound(_("No such company."))
    if not isinstance(value, bool):
        raise BadRequest("'allow_invitations' must be true or false.", {"fields": {"allow_invitations": "must be a boolean"}})
    if company.allow_invitations != value:
        audit.record("company.settings_changed", actor, changes={"allow_invitations": [company.allow_invitations, value]}, company_id=company.id)
        company.allow_invitations = value
    return company


def add_suppliers(actor: User, company: Company, supplier_ids: Any) -> None:
    """Supplier links of `company` (platform admins): the companies it buys from."""
    if not isinstance(supplier_ids, list) or any(isinstance(i, bool) or not isinstance(i, int) for i in supplier_ids):
        raise BadRequest("'supplier_ids' must be a list of company ids.", {"fields": {"supplier_ids": "must be a list of integer ids"}})
    if not policy.can_create_company(actor):
        raise Forbidden(_("Only platform administrators record which companies supply which."))
    for supplier_id in supplier_ids:
        supplier = db.session.get(Company, supplier_id) if is_id(supplier_id) else None
        if supplier is None:
            raise Invalid(_("No such company."), fields={"supplier_ids": f"{supplier_id} is not a company"})
        accounts.link_supplier(actor, company, supplier)


def supplier_ids(company: Company) -> list[int]:
    from app.models import SupplierLink

    return list(db.session.scalars(select(SupplierLink.supplier_id).where(SupplierLink.customer_id == company.id).order_by(SupplierLink.supplier_id)))
