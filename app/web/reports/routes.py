"""Pages of the report: dashboard, opening a report, the D0-D8 workspace and its actions.

Thin routes: parse the form, load the report through the policy, call the same services as the
API, commit once, redirect."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app import method, policy
from app.edge import parse_json
from app.errors import BadRequest, Conflict, DomainError, Forbidden, GateNotMet, Invalid
from app.extensions import db
from app.method.definition import HEADER_FIELDS
from app.models import Attachment, AuditEvent, Company, CompanyKind, DisciplineRevision, Report
from app.services import disciplines, figures, report_list, similar, workflow
from app.services import reports as report_service
from app.services import team as team_service
from app.web.reports import bp
from app.web.reports.forms import (
    AdvanceForm,
    DeclineForm,
    ReopenForm,
    ReturnForm,
    ReviewForm,
    TeamAddForm,
    TeamChangeForm,
    values_from_form,
)
from app.web.reports.workspace import workspace

PER_PAGE = 25
MAX_COUNT = 1_000


def _report(report_id: int) -> Report:
    return report_service.get_visible_report(current_user, report_id)


def _report_for_update(report_id: int) -> Report:
    return report_service.get_visible_report(current_user, report_id, for_update=True)


@bp.route("/")
@login_required
def dashboard():
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < len(page) < 7 and int(page) > 0 else 1
    try:
        stmt = report_list.visible_reports(current_user, request.args)
    except BadRequest as exc:  # the API answers 400 with the same message
        flash(exc.message, "danger")
        stmt = report_list.visible_reports(current_user, {})
    # Bounded count: past MAX_COUNT the page says "10,000+" instead of counting every row.
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).limit(MAX_COUNT + 1).subquery()))
    rows = db.session.scalars(stmt.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    suppliers = db.session.scalars(
        select(Company).where(policy.pickable_companies_clause(current_user), Company.kind == CompanyKind.supplier).order_by(Company.name)
    ).all()
    pages = max(1, (total + PER_PAGE - 1) // PER_PAGE)
    figs = figures.dashboard_figures(current_user)
    return render_template("reports/dashboard.html", reports=rows, total=total, total_capped=total > MAX_COUNT, page=page, pages=min(pages, MAX_COUNT // PER_PAGE),
                           suppliers=suppliers, args=request.args, figs=figs)


def party_choices() -> tuple[list[Company], list[Company]]:
    """The customers and suppliers the caller may pick for a new report. The caller's own company
    may take either side (a Tier-1 is its sub-supplier's customer); the others are offered on the
    side their kind usually takes."""
    companies = db.session.scalars(select(Company).where(policy.pickable_companies_clause(current_user), Company.active.is_(True)).order_by(Company.name)).all()
    own = current_user.company_id
    return ([c for c in companies if c.kind == CompanyKind.oem or c.id == own],
            [c for c in companies if c.kind == CompanyKind.supplier or c.id == own])


@bp.route("/reports/new", methods=["GET", "POST"])
@login_required
def new_report():
    if not policy.can_create_report(current_user):
        abort(403)
    oems, suppliers = party_choices()
    errors: dict[str, str] = {}
    values: dict = {}
    if request.method == "POST":
        values, errors = values_from_form(HEADER_FIELDS, request.form)
        data = {k: v for k, v in values.items() if v not in (None, [])}
        for key in ("oem_id", "supplier_id"):
            raw = request.form.get(key, "")
            data[key] = int(raw) if raw.isdigit() and len(raw) < 12 else None
        values.update({k: data[k] for k in ("oem_id", "supplier_id")})
        alike = [] if errors or request.form.get("confirm_similar") else similar.open_like(
            current_user, data["oem_id"], data["supplier_id"], data.get("part_number"), data.get("title"))
        if alike:  # warn before creating a likely duplicate; the form comes back with "open it anyway"
            return render_template("reports/new.html", fields=HEADER_FIELDS, values=values, errors=errors, oems=oems, suppliers=suppliers,
                                   similar_open=alike)
        if not errors:
            try:
                report = report_service.create_report(current_user, data)
                db.session.commit()
                flash(_("Report %(number)s opened. Build the team next (D1), then work through D0.", number=report.number), "success")
                return redirect(url_for("reports.detail", report_id=report.id))
            except Invalid as exc:
                db.session.rollback()
                errors.update(exc.fields)
            except DomainError as exc:
                if isinstance(exc, Forbidden):
                    raise  # 403 from the shared handler, not a flash
                db.session.rollback()
                errors["_"] = exc.message
    elif current_user.company.kind == CompanyKind.oem:
        values["oem_id"] = current_user.company_id
    else:
        values["supplier_id"] = current_user.company_id
    return render_template("reports/new.html", fields=HEADER_FIELDS, values=values, errors=errors, oems=oems, suppliers=suppliers), (422 if errors else 200)


@bp.route("/reports/<int:report_id>/disciplines/<code>", methods=["POST"])
@login_required
def save_discipline(report_id: int, code: str):
    report = _report(report_id)
    if code not in method.CODES:
        abort(404)
    d = method.BY_CODE[code]
    raw_version = request.form.get("base_version", "")
    if not raw_version.isdigit() or len(raw_version) > 9:
        abort(400)
    base_version = int(raw_version)
    submitted, errors = values_from_form(d.fields, request.form)
    if errors:
        flash(_("Some values need correcting - nothing was saved yet."), "danger")
        merged = dict(report.discipline(code).values or {})
        merged.update(submitted)
        return workspace(report, code, values=merged, errors=errors, status=422)
    base = db.session.scalar(
        select(DisciplineRevision.values).where(
            DisciplineRevision.report_id == report.id, DisciplineRevision.code == code, DisciplineRevision.version == base_version
        )
    )
    base = base or {}
    changed = {k: v for k, v in submitted.items() if v != base.get(k) and not (v in (None, []) and base.get(k) in (None, [], ""))}
    return _save(report, code, base_version, changed, submitted)


def _save(report: Report, code: str, base_version: int, changed: dict, submitted: dict):
    try:
        entry, notes = disciplines.save_discipline(current_user, report, code, base_version, changed)
        db.session.commit()
    except Conflict as exc:
        db.session.rollback()
        if "fields" not in exc.details:
            flash(exc.message, "danger")
            return redirect(url_for("reports.detail", report_id=report.id, d=code))
        return render_template(
            "reports/conflict.html",
            report=report,
            discipline=method.BY_CODE[code],
            conflicts=exc.details["fields"],
            version=exc.details["version"],
            yours=changed,
            files=db.session.scalars(select(Attachment).where(Attachment.report_id == report.id).order_by(Attachment.id)).all(),
        ), 409
    except Invalid as exc:
        db.session.rollback()
        flash(_("Some values need correcting - nothing was saved yet."), "danger")
        merged = dict(report.discipline(code).values or {})
        merged.update(submitted)
        return workspace(report, code, values=merged, errors=exc.fields, status=422)
    for note in notes:
        flash(note, "warning")
    if changed:
        flash(_("%(code)s saved (version %(v)s).", code=code, v=entry.version), "success")
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for("reports.detail", report_id=report.id, d=code))


@bp.route("/reports/<int:report_id>/disciplines/<code>/resolve", methods=["POST"])
@login_required
def resolve_conflict(report_id: int, code: str):
    """Second submission after a conflict: the user's choice per field, against the newer version."""
    report = _report_for_update(report_id)
    if code not in method.CODES:
        abort(404)
    raw_version = request.form.get("base_version", "")
    if not raw_version.isdigit() or len(raw_version) > 9:
        abort(400)
    try:
        yours = parse_json(request.form.get("yours", "{}"))
        theirs = parse_json(request.form.get("theirs", "{}"))
    except DomainError:
        abort(400)
    if not isinstance(yours, dict) or not isinstance(theirs, dict):
        abort(400)
    chosen = {}
    for name, mine in yours.items():
        pick = request.form.get(f"pick.{name}")
        if pick == "theirs":
            continue  # keep what is stored
        if pick == "custom" and request.form.get(f"custom.{name}") is not None:
            chosen[name] = request.form.get(f"custom.{name}").replace("\r\n", "\n") or None
        else:
            chosen[name] = mine
    return _save(report, code, int(raw_version), chosen, chosen)


@bp.route("/reports/<int:report_id>/header", methods=["POST"])
@login_required
def save_header(report_id: int):
    report = _report_for_update(report_id)
    submitted, errors = values_from_form(HEADER_FIELDS, request.form)
    if not errors:
        try:
            report_service.update_header(current_user, report, submitted)
            db.session.commit()
            flash(_("Header saved."), "success")
            return redirect(url_for("reports.detail", report_id=report.id, d="D0"))
        except Invalid as exc:
            db.session.rollback()
            errors = exc.fields
    flash(_("Some values need correcting - nothing was saved yet."), "danger")
    header = report_service.header_values(report)
    header.update(submitted)
    return workspace(report, "D0", header_errors=errors, header_values=header, status=422)


def _workflow_step(report_id: int, form_cls, step, success: str):
    report = _report_for_update(report_id)
    form = form_cls()
    if not form.validate_on_submit():
        for field, msgs in form.errors.items():
            for msg in msgs:
                flash(f"{getattr(form, field).label.text}: {msg}" if hasattr(form, field) else msg, "danger")
        return redirect(url_for("reports.detail", report_id=report.id))
    expected = request.form.get("stage")
    if expected and expected != report.stage:
        flash(_("The report moved on to %(stage)s meanwhile; check it before you decide.", stage=report.stage), "warning")
        return redirect(url_for("reports.detail", report_id=report.id))
    try:
        step(report, form)
        db.session.commit()
        flash(success, "success")
    except GateNotMet:
        db.session.rollback()
        flash(_("%(code)s cannot be completed yet; the list shows what is missing.", code=report.stage), "danger")
        return redirect(url_for("reports.detail", report_id=report.id, d=report.stage, gate=1))
    except DomainError as exc:
        if not getattr(exc, "keeps_transaction", False):
            db.session.rollback()
        record = getattr(exc, "record", None)
        if callable(record):  # a failed signature attempt is kept, the user stays on the report
            record()
            db.session.commit()
        elif isinstance(exc, Forbidden):
            raise  # 403 from the shared handler, not a flash
        flash(exc.message, "danger")
    return redirect(url_for("reports.detail", report_id=report.id))


@bp.route("/reports/<int:report_id>/advance", methods=["POST"])
@login_required
def advance(report_id: int):
    return _workflow_step(
        report_id, AdvanceForm, lambda r, f: workflow.advance(current_user, r, f.comment.data), _("The report moved on.")
    )


@bp.route("/reports/<int:report_id>/review", methods=["POST"])
@login_required
def review(report_id: int):
    def step(r, f):
        workflow.review(current_user, r, f.decision.data, f.comment.data, f.password.data, f.return_to.data or None,
                        watch_days=f.watch_days.data or None, watch_criterion=f.watch_criterion.data)

    return _workflow_step(report_id, ReviewForm, step, _("Your decision was recorded."))


@bp.route("/reports/<int:report_id>/decline", methods=["POST"])
@login_required
def decline(report_id: int):
    def step(r, f):
        raw = f.related_report_id.data or ""
        evidence = [int(v) for v in request.form.getlist("evidence") if v.isdigit() and len(v) < 11]
        workflow.decline(current_user, r, f.reason.data, f.comment.data, int(raw) if raw.isdigit() and len(raw) < 11 else None, evidence)

    def form():
        f = DeclineForm()
        f.related_report_id.choices = []
        return f

    return _workflow_step(report_id, form, step, _("The decline was submitted to the customer's quality lead."))


@bp.route("/reports/<int:report_id>/return", methods=["POST"])
@login_required
def return_report(report_id: int):
    return _workflow_step(
        report_id, ReturnForm, lambda r, f: workflow.return_report(current_user, r, f.to.data, f.comment.data), _("The report was sent back.")
    )


@bp.route("/reports/<int:report_id>/reopen", methods=["POST"])
@login_required
def reopen(report_id: int):
    return _workflow_step(
        report_id,
        ReopenForm,
        lambda r, f: workflow.reopen(current_user, r, f.comment.data, f.password.data, f.to.data or None),
        _("The report was reopened; its revision went up."),
    )


@bp.route("/reports/<int:report_id>/team", methods=["POST"])
@login_required
def team_add(report_id: int):
    return _workflow_step(
        report_id,
        TeamAddForm,
        lambda r, f: team_service.add_member(current_user, r, f.user_id.data, f.role.data, f.function.data),
        _("Team member added."),
    )


@bp.route("/reports/<int:report_id>/team/<int:user_id>", methods=["POST"])
@login_required
def team_change(report_id: int, user_id: int):
    return _workflow_step(
        report_id,
        TeamChangeForm,
        lambda r, f: team_service.change_member(current_user, r, user_id, {"role": f.role.data}),
        _("Team role changed."),
    )


@bp.route("/reports/<int:report_id>/team/<int:user_id>/remove", methods=["POST"])
@login_required
def team_remove(report_id: int, user_id: int):
    return _workflow_step(
        report_id, AdvanceForm, lambda r, f: team_service.remove_member(current_user, r, user_id), _("Removed from the team.")
    )


@bp.route("/reports/<int:report_id>/history")
@login_required
def history(report_id: int):
    report = _report(report_id)
    stmt = select(AuditEvent).where(AuditEvent.report_id == report.id)
    code = request.args.get("d", "")
    if code in method.CODES:
        stmt = stmt.where(AuditEvent.discipline == code)
    person = (request.args.get("person") or "").strip()[:200]
    if person:
        stmt = stmt.where(func.lower(AuditEvent.actor_name).like(f"%{person.lower()}%"))
    kind = (request.args.get("kind") or "").strip()[:60]
    if kind:
        stmt = stmt.where(AuditEvent.action.like(f"{kind}%"))
    events = db.session.scalars(stmt.order_by(AuditEvent.seq)).all()
    return render_template("reports/history.html", report=report, events=events, args=request.args)
