"""Multi-tier 8Ds and invitations (docs/api.md "Wave 2 / Tiers and invitations"): cascade a report to
a sub-supplier; invite people by e-mail, list and revoke invitations, accept one (public: the
link is the key); a company's invitation setting."""

from __future__ import annotations

from flask_login import current_user

from app import policy
from app.api import bp
from app.api.auth import public
from app.api.spec import operation
from app.api.util import created, json_body, respond
from app.errors import Forbidden, NotFound
from app.extensions import db
from app.models import Company, Invitation, is_id, iso
from app.schemas import reports as report_shapes
from app.schemas import tiers
from app.schemas.accounts import AdminUser
from app.serialize import as_admin_user, as_company, as_report
from app.services import cascades, invitations
from app.services import reports as report_service


def as_invitation(inv: Invitation, joined: bool | None = None) -> tiers.Invitation:
    extra = {"joined": joined} if joined is not None else {}
    return tiers.Invitation(id=inv.id, email=inv.email, expires_at=iso(inv.expires_at), name=inv.name, company=as_company(inv.company),
                            role=inv.role.value, state=inv.state, created_at=iso(inv.created_at),
                            created_by=inv.created_by.name if inv.created_by else None, **extra)


@operation("Cascade the report to a sub-supplier (the supplier's leader or champion)", "tiers", ok=201, response=report_shapes.Report,
           body=tiers.CascadeCreate, errors=(403, 409, 422),
           description="Opens a linked child 8D whose customer is this report's supplier and whose supplier is supplier_id; the caller is "
           "its champion. It starts with `description` as its D2 customer's description - nothing else of this report is passed on. "
           "Closed report: 409.")
@bp.route("/reports/<int:report_id>/cascade", methods=["POST"])
def cascade(report_id: int):
    report = report_service.get_visible_report(current_user, report_id, for_update=True)
    child = cascades.cascade(current_user, report, json_body())
    db.session.commit()
    db.session.expire_all()
    return created(as_report(report_service.get_visible_report(current_user, child.id), current_user))


@operation("Invite a person of one of the report's companies by e-mail (leader or champion)", "tiers", ok=201, response=tiers.Invitation,
           body=tiers.InvitationCreate, errors=(403, 409, 422),
           description="The company must allow invitations (else 403). The mail carries the link /invitations/{token}: signed, single-use, "
           "valid for 7 days. An e-mail that has an account of that company joins the team at once (joined: true, no link).")
@bp.route("/reports/<int:report_id>/invitations", methods=["POST"])
def create_invitation(report_id: int):
    report = report_service.get_visible_report(current_user, report_id, for_update=True)
    inv, joined = invitations.invite(current_user, report, json_body())
    db.session.commit()
    return created(as_invitation(inv, joined))


@operation("The report's invitations (leader, champion or an admin of its companies)", "tiers",
           response=tiers.InvitationList, errors=(403,))
@bp.route("/reports/<int:report_id>/invitations", methods=["GET"])
def list_invitations(report_id: int):
    report = report_service.get_visible_report(current_user, report_id)
    items = [as_invitation(i) for i in invitations.list_for(current_user, report)]
    return respond(tiers.InvitationList(items=items, total=len(items)))


@operation("Revoke an invitation", "tiers", ok=204, errors=(403, 409), description="Used, revoked or expired already: 409.")
@bp.route("/invitations/<int:invitation_id>", methods=["DELETE"])
def revoke_invitation(invitation_id: int):
    inv, report = report_service.get_visible_child(current_user, Invitation, invitation_id, "No such invitation.")
    invitations.revoke(current_user, inv, report)
    db.session.commit()
    return "", 204


@operation("Accept an invitation: choose a name and password (public; the link is the key)", "tiers", ok=201, response=AdminUser,
           body=tiers.InvitationAccept, errors=(409, 410, 422),
           description="Creates the account (the invitation's e-mail, company and role) and puts it on the report's team. "
           "Unknown or altered link: 404; used, revoked or expired: 410; password policy as for every account: 422.")
@bp.route("/invitations/<token>", methods=["POST"])
@public
def accept_invitation(token: str):
    data = json_body()
    user = invitations.accept(token, data)
    db.session.commit()
    return created(as_admin_user(user))


@operation("A company's settings: invitations by e-mail (its admin), supplier links (platform admin)", "admin",
           response=tiers.CompanySettingsShape, body=tiers.CompanySettings, errors=(403, 422),
           description="A company admin changes allow_invitations of their own company (another company: 404); supplier_ids (platform "
           "admins only, else 403) adds the companies it buys from - where its 8Ds may cascade.")
@bp.route("/admin/companies/<int:company_id>", methods=["PATCH"])
def admin_company_settings(company_id: int):
    if not policy.can_administer(current_user):
        raise Forbidden("Administrators only.")
    company = db.session.get(Company, company_id) if is_id(company_id) else None
    if company is None or not policy.can_configure_company(current_user, company):
        raise NotFound("No such company.")
    data = json_body()
    if "allow_invitations" in data:
        invitations.set_allow_invitations(current_user, company, data.get("allow_invitations"))
    if "supplier_ids" in data:
        invitations.add_suppliers(current_user, company, data.get("supplier_ids"))
    db.session.commit()
    return respond(as_company_settings(company))


def as_company_settings(company: Company) -> tiers.CompanySettingsShape:
    return tiers.CompanySettingsShape(id=company.id, name=company.name, allow_invitations=company.allow_invitations,
                                      supplier_ids=invitations.supplier_ids(company))
