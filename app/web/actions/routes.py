"""Action pages: my actions, the filtered list across visible reports (with CSV export), one
action with its status steps, and creating an action from a discipline."""

from __future__ import annotations

import csv
import io

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app import policy
from app.errors import DomainError, Forbidden
from app.extensions import db
from app.method.definition import LOCATIONS
from app.models import ActionKind, ActionStatus, Company, utcnow
from app.services import actions as action_service
from app.services import reports as report_service
from app.services.action_queries import actions_query, is_overdue
from app.web.actions import bp

PER_PAGE = 50
CLAIM_LABELS = {
    "evidence": _l("Proof that it was done and works"),
    "pre_verification_evidence": _l("Pre-verification (D5)"),
    "implementation_evidence": _l("Implementation (D6)"),
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value) -> str:
    """Neutralise spreadsheet formula injection: a cell starting with = + - @ is prefixed with '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


TEXT_KEYS = ("title", "description", "due_date", "cause", "location", "verification", "reason", "kind", "ref", "introduced_on", "effective_from",
             "pre_verification", "error_proofing", "target")
INT_KEYS = ("owner_id", "qty_suspect", "qty_checked", "qty_nok", "version", "effective_pct")


def _form_to_data(form) -> dict:
    """Only what the form holds (a field left out is not changed); empty inputs clear a value."""
    data: dict = {}
    for key in TEXT_KEYS:
        if key in form:
            data[key] = form.get(key, "").strip()
    for key in INT_KEYS:
        raw = form.get(key, "").strip()
        if key in form:
            data[key] = int(raw) if raw.isdigit() and len(raw) < 10 else (None if raw == "" else raw)
    if "causes_present" in form:
        data["causes"] = [c.strip() for c in form.getlist("causes") if c.strip()]
    if form.get("status"):
        data["status"] = form["status"]
    if form.get("implemented_on", "").strip():
        data["implemented_on"] = form["implemented_on"].strip()
    if form.get("lift") == "now":
        data["removed_at"] = utcnow().isoformat() + "Z"
    return data


def _back(default: str) -> str:
    """Back to the discipline page the inline form was on (a path of this site only)."""
    back = request.form.get("back", "")
    return back if back.startswith("/reports/") and "//" not in back and "\\" not in back else default


@bp.route("/actions/mine")
@login_required
def mine():
    args = request.args.to_dict()
    args["owner"] = "me"
    args.setdefault("status", "active")
    rows = db.session.scalars(actions_query(current_user, args).limit(500)).unique().all()
    return render_template("actions/list.html", actions=rows, mine=True, args=args, companies=[], total=len(rows), page=1, pages=1)


@bp.route("/actions")
@login_required
def index():
    stmt = actions_query(current_user, request.args)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).limit(1_001).subquery()))
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 10**6 else 1
    rows = db.session.scalars(stmt.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).unique().all()
    companies = db.session.scalars(select(Company).where(policy.pickable_companies_clause(current_user)).order_by(Company.name)).all()
    return render_template("actions/list.html", actions=rows, mine=False, args=request.args, companies=companies,
                           total=total, page=page, pages=min(20, max(1, (total + PER_PAGE - 1) // PER_PAGE)))


@bp.route("/actions.csv")
@login_required
def export_csv():
    rows = db.session.scalars(actions_query(current_user, request.args).limit(50_000)).unique().all()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["report", "kind", "title", "owner", "owner_company", "due_date", "status", "overdue", "cause", "location", "verification"])
    for a in rows:
        writer.writerow([csv_safe(v) for v in (a.report.number, a.kind.value, a.title, a.owner.name, a.owner.company.name, a.due_date.isoformat(),
                                                 a.status.value, "yes" if is_overdue(a) else "no", a.cause, a.location, a.verification)])
    return Response(out.getvalue(), mimetype="text/csv", headers={"Content-Disposition": 'attachment; filename="actions.csv"'})


@bp.route("/reports/<int:report_id>/actions", methods=["GET"])
@login_required
def report_actions(report_id: int):
    report = report_service.get_visible_report(current_user, report_id)
    rows = db.session.scalars(actions_query(current_user, {"report_id": str(report.id)})).unique().all()
    groups: dict = {}
    for a in rows:
        groups.setdefault((a.discipline, a.kind.value), {}).setdefault(", ".join(a.causes or []) or a.location or a.cause or "", []).append(a)
    return render_template("actions/report.html", report=report, groups=sorted(groups.items()))


@bp.route("/reports/<int:report_id>/actions", methods=["POST"])
@login_required
def create(report_id: int):
    report = report_service.get_visible_report(current_user, report_id, for_update=True)
    data = _form_to_data(request.form)
    back = request.form.get("d") or report.stage
    try:
        action = action_service.create_action(current_user, report, data)
        db.session.commit()
        flash(_("Action added and assigned to %(name)s.", name=action.owner.name), "success")
        for w in action_service.warnings_for(action):
            flash(w, "warning")
    except DomainError as exc:
        if isinstance(exc, Forbidden):
            raise  # 403 from the shared handler, not a flash
        db.session.rollback()
        flash(exc.message, "danger")
        for field, msg in (exc.details.get("fields") or {}).items():
            flash(f"{field}: {msg}", "warning")
    return redirect(url_for("reports.detail", report_id=report.id, d=back, _anchor="actions"))


@bp.route("/actions/<int:action_id>", methods=["GET", "POST"])
@login_required
def detail(action_id: int):
    action = action_service.get_action(current_user, action_id, for_update=request.method == "POST")
    errors: dict = {}
    if request.method == "POST":
        data = _form_to_data(request.form)
        here = url_for("actions.detail", action_id=action.id)
        try:
            action_service.update_action(current_user, action, data)
            db.session.commit()
            flash(_("Action %(ref)s saved.", ref=action.ref), "success")
            back = _back(here)
            return redirect(back + (f"#action-{action.id}" if back != here else ""))
        except DomainError as exc:
            if isinstance(exc, Forbidden):
                raise  # 403 from the shared handler, not a flash
            db.session.rollback()
            flash(exc.message, "danger")
            errors = exc.details.get("fields") or {}
            for field, msg in errors.items():
                flash(f"{field}: {msg}" if isinstance(msg, str) else field, "warning")
            if request.form.get("back"):
                return redirect(_back(here))
            action = action_service.get_action(current_user, action_id)
    report = action.report
    steps = sorted(s.value for s in action_service.STEPS[action.status])
    team = [m.user for m in report.team if m.role.value != "viewer"]
    causes = (report.discipline("D4").values or {}).get("causes") or []
    from app.models import Attachment

    attachments = db.session.scalars(select(Attachment).where(Attachment.action_id == action.id).order_by(Attachment.id)).all()
    claims = [(name, CLAIM_LABELS[name]) for name in action_service.claims_of(action)]
    live = {a.id for a in attachments if not a.withdrawn_at}
    return render_template("actions/detail.html", action=action, report=report, steps=steps, team=team, causes=causes, attachments=attachments,
                           locations=LOCATIONS, errors=errors, can_manage=policy.can_manage_actions(current_user, report),
                           claims=claims, live=live, ActionKind=ActionKind, ActionStatus=ActionStatus), (422 if errors else 200)



