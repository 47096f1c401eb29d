"""Pages of multi-tier 8Ds and invitations on the report workspace: the cascade form and the
panel of cascades, the invitation form and list. The same services as the API underneath."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app import policy
from app.errors import DomainError, Forbidden
from app.extensions import db
from app.models import Company, Invitation, Report
from app.services import cascades, invitations
from app.services import reports as report_service
from app.web.flow import commit_or_flash
from app.web.reports import bp
from app.web.reports.forms import AdvanceForm, CascadeForm, InviteForm


def tier_panel(report: Report, code: str) -> dict:
    """What the workspace shows of cascades and invitations, by the viewer's side."""
    user = current_user
    panel: dict = {"parent": report.parent if policy.can_see_parent(user, report) else None,
                   "children": cascades.children(report), "full": policy.sees_cascade_content(user, report)}
    if policy.can_cascade(user, report) and report.status.value != "closed":
        form = CascadeForm()
        targets = db.session.scalars(select(Company).where(policy.cascade_targets_clause(report)).order_by(Company.name)).all()
        form.supplier_id.choices = [(c.id, c.name) for c in targets]
        panel["cascade_form"] = form
    if code == "D1" and policy.can_invite(user, report) and report.status.value != "closed":
        form = InviteForm()
        form.company_id.choices = [(c.id, c.name) for c in (report.supplier, report.oem) if policy.may_invite_into(report, c)]
        panel["invite_form"] = form if form.company_id.choices else None
        panel["invite_closed"] = [c.name for c in (report.supplier, report.oem) if not c.allow_invitations]
    if code == "D1" and policy.can_manage_invitations(user, report):
        panel["invitations"] = invitations.list_for(user, report)
        panel["revoke_form"] = AdvanceForm()
    return panel


@bp.route("/reports/<int:report_id>/cascade", methods=["POST"])
@login_required
def cascade(report_id: int):
    report = report_service.get_visible_report(current_user, report_id, for_update=True)
    form = CascadeForm()
    if not policy.can_cascade(current_user, report):
        raise Forbidden(_("Only the supplier's team leader or champion can cascade a report to a sub-supplier."))
    if not form.validate_on_submit():
        flash(_("The cascade needs a sub-supplier and a title."), "danger")
        return redirect(url_for("reports.detail", report_id=report.id))
    data = {"supplier_id": form.supplier_id.data, "title": form.title.data, "discipline": form.discipline.data,
            "description": form.description.data or None, "part_number": form.part_number.data or None}
    try:
        child = cascades.cascade(current_user, report, data)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        if isinstance(exc, Forbidden):
            raise
        flash(exc.message, "danger")
        return redirect(url_for("reports.detail", report_id=report_id))
    flash(_("Cascaded 8D %(number)s opened with %(supplier)s. Build its team next (D1): invite the sub-supplier's people by e-mail.",
            number=child.number, supplier=child.supplier.name), "success")
    return redirect(url_for("reports.detail", report_id=child.id, d="D1"))


@bp.route("/reports/<int:report_id>/invitations", methods=["POST"])
@login_required
def invite(report_id: int):
    report = report_service.get_visible_report(current_user, report_id, for_update=True)
    form = InviteForm()
    if not policy.can_invite(current_user, report):
        raise Forbidden(_("Only the team leader or the champion can invite people."))
    if not form.validate_on_submit():
        flash(_("An invitation needs an e-mail address and a name."), "danger")
        return redirect(url_for("reports.detail", report_id=report.id, d="D1"))
    data = {"email": form.email.data, "name": form.name.data, "company_id": form.company_id.data, "role": form.role.data}
    joined = {}

    def step():
        joined["value"] = invitations.invite(current_user, report, data)[1]

    if commit_or_flash(step, _("Invitation sent to %(email)s; the link works once, for 7 days.", email=form.email.data)) and joined.get("value"):
        flash(_("%(email)s has an account already and joined the team at once.", email=form.email.data), "info")
    return redirect(url_for("reports.detail", report_id=report_id, d="D1"))


@bp.route("/reports/<int:report_id>/invitations/<int:invitation_id>/revoke", methods=["POST"])
@login_required
def invitation_revoke(report_id: int, invitation_id: int):
    inv, report = report_service.get_visible_child(current_user, Invitation, invitation_id, "No such invitation.")
    form = AdvanceForm()
    if report.id != report_id or not form.validate_on_submit():
        flash(_("The form expired; try again."), "danger")
        return redirect(url_for("reports.detail", report_id=report_id, d="D1"))
    commit_or_flash(lambda: invitations.revoke(current_user, inv, report), _("Invitation revoked: its link no longer works."))
    return redirect(url_for("reports.detail", report_id=report.id, d="D1"))
