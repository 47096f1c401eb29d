"""Pages of the report: dashboard, opening a report, the D0-D8 workspace and its actions.

Thin routes: parse the form, load the report through the policy, call the same services as the
API, commit once, redirect."""

from __future__ import annotations

import threading
from collections import OrderedDict

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import func, or_, select

from app import method, policy
from app.api.util import parse_json
from app.db import late_writes
from app.errors import Conflict, DomainError, Forbidden, GateNotMet, Invalid
from app.extensions import db
from app.method.definition import HEADER_FIELDS
from app.models import Attachment, AuditEvent, Comment, Company, CompanyKind, DisciplineRevision, Report, Status, User, utcnow
from app.services import figures, similar, workflow
from app.services import reports as report_service
from app.services import team as team_service
from app.services.action_queries import actions_query
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

PER_PAGE = 25
MAX_COUNT = 1_000


def _report(report_id: int) -> Report:
    return report_service.get_visible_report(current_user, report_id)


def _report_for_update(report_id: int) -> Report:
    return report_service.get_visible_report(current_user, report_id, for_update=True)


def report_list_query(user, args):
    stmt = select(Report).where(policy.visible_reports_clause(user))
    status = args.get("status", "")
    if status in {s.value for s in Status}:
        stmt = stmt.where(Report.status == Status(status))
    stage = args.get("stage", "")
    if stage in method.CODES:
        stmt = stmt.where(Report.stage == stage)
    for key, column in (("supplier_id", Report.supplier_id), ("oem_id", Report.oem_id)):
        value = args.get(key, "")
        if value.isdigit() and len(value) < 10:
            stmt = stmt.where(column == int(value))
    q = (args.get("q") or "").strip()[:200]
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Report.title).like(like),
                func.lower(Report.number).like(like),
                func.lower(Report.part_number).like(like),
                func.lower(Report.complaint_ref).like(like),
            )
        )
    return stmt


@bp.route("/")
@login_required
def dashboard():
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < len(page) < 7 and int(page) > 0 else 1
    stmt = report_list_query(current_user, request.args)
    # Bounded count: past MAX_COUNT the page says "10,000+" instead of counting every row.
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).limit(MAX_COUNT + 1).subquery()))
    rows = db.session.scalars(stmt.order_by(Report.updated_at.desc(), Report.id.desc()).limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    suppliers = db.session.scalars(
        select(Company).where(policy.pickable_companies_clause(current_user), Company.kind == CompanyKind.supplier).order_by(Company.name)
    ).all()
    pages = max(1, (total + PER_PAGE - 1) // PER_PAGE)
    figs = figures.dashboard_figures(current_user)
    return render_template("reports/dashboard.html", reports=rows, total=total, total_capped=total > MAX_COUNT, page=page, pages=min(pages, MAX_COUNT // PER_PAGE),
                           suppliers=suppliers, args=request.args, figs=figs)


@bp.route("/reports/new", methods=["GET", "POST"])
@login_required
def new_report():
    if not policy.can_create_report(current_user):
        abort(403)
    companies = db.session.scalars(select(Company).where(policy.pickable_companies_clause(current_user), Company.active.is_(True)).order_by(Company.name)).all()
    oems = [c for c in companies if c.kind == CompanyKind.oem]
    suppliers = [c for c in companies if c.kind == CompanyKind.supplier]
    errors: dict[str, str] = {}
    values: dict = {}
    if request.method == "POST":
        from flask_wtf.csrf import validate_csrf

        validate_csrf(request.form.get("csrf_token"))
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


_FRAGMENTS: OrderedDict[tuple, Markup] = OrderedDict()
_FRAGMENTS_LOCK = threading.Lock()


def discipline_fragment(report: Report, code: str, entry, values: dict, errors: dict, editable: bool, files: list | None = None) -> Markup:
    """The discipline's fields as a form or as read-only tables - the costliest part of the page.
    With the stored values (no errors, nothing retyped) it depends only on the discipline's
    version and the report's files (the evidence pickers list them), so it is rendered once per
    version, set of files and language and reused (no CSRF token inside)."""
    from flask_babel import get_locale

    macros = current_app.jinja_env.get_template("macros/fields.html").module
    files = files or []

    def render() -> Markup:
        if editable:
            return Markup("").join(macros.field(f, values, errors, files=files) for f in method.BY_CODE[code].fields)
        return Markup("").join(Markup('<h3 class="h6 mt-3">{}</h3>').format(f.label) + macros.show(f, values.get(f.name), files)
                               for f in method.BY_CODE[code].fields)

    if errors or values is not entry.values:
        return render()
    signature = tuple((a.id, a.withdrawn_at is not None, a.filename) for a in files)
    key = (report.id, report.created_at, code, entry.version, editable, str(get_locale()), hash(signature))
    with _FRAGMENTS_LOCK:
        hit = _FRAGMENTS.get(key)
        if hit is not None:
            _FRAGMENTS.move_to_end(key)
            return hit
    html = render()
    with _FRAGMENTS_LOCK:
        _FRAGMENTS[key] = html
        while len(_FRAGMENTS) > 256:
            _FRAGMENTS.popitem(last=False)
    return html


def _workspace(report: Report, code: str | None, *, values=None, errors=None, status=200, header_errors=None, header_values=None, show_gate=False):
    code = code if code in method.CODES else report.stage
    findings = report_service.findings(report)
    entry = report.discipline(code)
    team_form = TeamAddForm()
    on_team = {m.user_id for m in report.team}
    eligible = []
    if code == "D1" and policy.can_manage_team(current_user, report):
        eligible = db.session.scalars(
            select(User).where(policy.listable_users_clause(current_user, report)).order_by(User.name)
        ).all()
        eligible = [u for u in eligible if u.id not in on_team]
        team_form.user_id.choices = [(u.id, f"{u.name} - {u.company.name} ({u.email})") for u in eligible]
    earlier = [c for c in method.CODES if method.CODES.index(c) < method.CODES.index(report.stage)]
    return_form = ReturnForm()
    return_form.to.choices = [(c, f"{c} {method.BY_CODE[c].title}") for c in reversed(earlier)]
    review_form = ReviewForm()
    review_form.return_to.choices = [(c, f"{c} {method.BY_CODE[c].title}") for c in reversed(method.CODES[: method.CODES.index(report.stage) + 1])]
    reopen_form = ReopenForm()
    reopen_form.to.choices = [(c, f"{c} {method.BY_CODE[c].title}") for c in reversed(method.CODES)]
    comments = db.session.scalars(
        select(Comment).where(Comment.report_id == report.id, Comment.discipline == code).order_by(Comment.id)
    ).all()
    files = db.session.scalars(select(Attachment).where(Attachment.report_id == report.id).order_by(Attachment.discipline, Attachment.id)).all()
    same_parties = []
    if code == "D0" or (report.status == Status.open and policy.can_decline(current_user, report)):
        same_parties = db.session.scalars(
            select(Report).where(Report.oem_id == report.oem_id, Report.supplier_id == report.supplier_id, Report.id != report.id,
                                 policy.visible_reports_clause(current_user)).order_by(Report.id.desc()).limit(200)
        ).all()
    decline_form = DeclineForm()
    decline_form.related_report_id.choices = [("", "—")] + [(str(r.id), f"{r.number} · {r.title[:60]}") for r in same_parties]
    pending = report.pending_review
    # What the customer's reviewer should see before deciding: the warnings of what is submitted.
    review_warnings = [(c, f.message) for c in method.CODES[: method.CODES.index(report.stage) + 1] for f in findings[c] if f.level == method.WARN
                       and "past its due date" not in f.message] if report.status == Status.in_review else []
    comment_counts = dict(
        db.session.execute(
            select(Comment.discipline, func.count()).where(Comment.report_id == report.id, Comment.withdrawn_at.is_(None)).group_by(Comment.discipline)
        ).all()
    )
    last_events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.report_id == report.id).order_by(AuditEvent.id.desc()).limit(8)
    ).all()
    return (
        render_template(
            "reports/detail.html",
            report=report,
            code=code,
            discipline=method.BY_CODE[code],
            entry=entry,
            values=values if values is not None else (entry.values or {}),
            errors=errors or {},
            discipline_html=lambda editable: discipline_fragment(report, code, entry, values if values is not None else entry.values, errors or {}, editable,
                                                                 files),
            findings=findings,
            header=report_service.header_values(report) if header_values is None else header_values,
            header_errors=header_errors or {},
            advance_form=AdvanceForm(),
            review_form=review_form,
            return_form=return_form,
            reopen_form=reopen_form,
            team_form=team_form,
            team_change_form=TeamChangeForm(),
            eligible=eligible,
            last_events=last_events,
            frozen=policy.report_is_frozen(report, code),
            show_gate=show_gate and report.status == Status.open,
            comments=comments,
            attachments=sorted((a for a in files if a.discipline == code), key=lambda a: a.id),
            files=files,
            evidence_claims=report_service.evidence_claims(report, code),
            same_parties=same_parties,
            decline_form=decline_form,
            decline_open=report.status == Status.open and report.stage in workflow.DECLINE_STAGES,
            pending=pending,
            review_warnings=review_warnings,
            report_actions=db.session.scalars(actions_query(current_user, {"report_id": str(report.id)})).unique().all(),
            comment_counts=comment_counts,
            edit_window_open=lambda c: (utcnow() - c.created_at).total_seconds() < 15 * 60,
        ),
        status,
    )


@bp.route("/reports/<int:report_id>")
@login_required
def detail(report_id: int):
    """The workspace. Rendered pages are kept per browser session and report version: viewing a
    report again that nobody changed meanwhile costs two small queries, not a render. Any change
    to the report bumps its change counter and so misses the cache; pages with messages to show
    are never cached."""
    from flask import g, session
    from flask_babel import get_locale

    report = _report(report_id)
    key = (session.get("sid"), current_user.id, current_user.role.value, report.id, report.created_at, report.change_counter, report.status.value,
           report.stage, request.full_path, str(get_locale()), utcnow().date())
    cacheable = session.get("sid") and not session.get("_flashes")
    if cacheable:
        with _PAGES_LOCK:
            hit = _PAGES.get(key)
            if hit is not None:
                _PAGES.move_to_end(key)
        if hit is not None:
            html, nonce = hit
            return html.replace(nonce, g.csp_nonce)
    page, status = _workspace(report, request.args.get("d"), show_gate=request.args.get("gate") == "1")
    if cacheable and status == 200:
        with _PAGES_LOCK:
            _PAGES[key] = (page, g.csp_nonce)
            while len(_PAGES) > 512:
                _PAGES.popitem(last=False)
    return page, status


_PAGES: OrderedDict[tuple, tuple[str, str]] = OrderedDict()
_PAGES_LOCK = threading.Lock()


@bp.route("/reports/<int:report_id>/disciplines/<code>", methods=["POST"])
@login_required
@late_writes  # the report is locked inside save_discipline, after the values are checked
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
        return _workspace(report, code, values=merged, errors=errors, status=422)
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
        entry, notes = report_service.save_discipline(current_user, report, code, base_version, changed)
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
        return _workspace(report, code, values=merged, errors=exc.fields, status=422)
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
    return _workspace(report, "D0", header_errors=errors, header_values=header, status=422)


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


@bp.route("/reports/<int:report_id>/export.pdf")
@login_required
def export_pdf(report_id: int):
    from flask import Response

    from app.services.export import render_pdf

    report = _report(report_id)
    if not policy.can_export(current_user, report):
        abort(404)
    pdf = render_pdf(report)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{report.number}-rev{report.revision}.pdf"',
        "X-Content-Type-Options": "nosniff",
    })
