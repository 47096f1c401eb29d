"""The D0-D8 workspace page: what it shows of a report and one discipline, and the caches that
spare a repeated view its render (kept under the report's version, see app/services/documents.py)."""

from __future__ import annotations

from flask import current_app, g, make_response, render_template, request, session
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import func, select

from app import method, policy
from app.edge import not_modified, validated
from app.extensions import db
from app.models import Attachment, AuditEvent, Comment, Report, Status, User, utcnow
from app.services import comments as comment_service
from app.services import disciplines, documents, workflow
from app.services import reports as report_service
from app.services.action_queries import actions_query
from app.web.reports import bp
from app.web.reports.forms import AdvanceForm, DeclineForm, ReopenForm, ReturnForm, ReviewForm, TeamAddForm, TeamChangeForm
from app.web.reports.tiers import tier_panel


def discipline_fragment(report: Report, code: str, entry, values: dict, errors: dict, editable: bool, files: list | None = None) -> Markup:
    """The discipline's fields as a form or as read-only tables - the costliest part of the page.
    With the stored values (no errors, nothing retyped) it depends only on the discipline's
    version and the report's files (the evidence pickers list them), so it is rendered once per
    version, set of files and language and reused (no CSRF token inside)."""
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
    return documents.FRAGMENTS.get_or_make(documents.key(report, "fragment", code, editable, hash(signature)), render)


def _step_forms(report: Report, code: str) -> dict:
    """The forms of the workflow's steps and of the team, with the choices this user has."""
    team_form = TeamAddForm()
    eligible = []
    if code == "D1" and policy.can_manage_team(current_user, report):
        on_team = {m.user_id for m in report.team}
        users = db.session.scalars(select(User).where(policy.listable_users_clause(current_user, report)).order_by(User.name)).all()
        eligible = [u for u in users if u.id not in on_team]
        team_form.user_id.choices = [(u.id, f"{u.name} - {u.company.name} ({u.email})") for u in eligible]
    earlier = [c for c in method.CODES if method.CODES.index(c) < method.CODES.index(report.stage)]
    return_form = ReturnForm()
    return_form.to.choices = [(c, f"{c} {method.BY_CODE[c].title}") for c in reversed(earlier)]
    review_form = ReviewForm()
    review_form.return_to.choices = [(c, f"{c} {method.BY_CODE[c].title}") for c in reversed(method.CODES[: method.CODES.index(report.stage) + 1])]
    reopen_form = ReopenForm()
    reopen_form.to.choices = [(c, f"{c} {method.BY_CODE[c].title}") for c in reversed(method.CODES)]
    return {"advance_form": AdvanceForm(), "review_form": review_form, "return_form": return_form, "reopen_form": reopen_form,
            "team_form": team_form, "team_change_form": TeamChangeForm(), "eligible": eligible}


def _decline(report: Report, code: str) -> dict:
    """Reports of the same two companies (a related report, a duplicate) and the decline form."""
    same_parties = []
    if code == "D0" or (report.status == Status.open and policy.can_decline(current_user, report)):
        same_parties = db.session.scalars(
            select(Report).where(Report.oem_id == report.oem_id, Report.supplier_id == report.supplier_id, Report.id != report.id,
                                 policy.visible_reports_clause(current_user)).order_by(Report.id.desc()).limit(200)
        ).all()
    decline_form = DeclineForm()
    decline_form.related_report_id.choices = [("", "—")] + [(str(r.id), f"{r.number} · {r.title[:60]}") for r in same_parties]
    return {"same_parties": same_parties, "decline_form": decline_form,
            "decline_open": report.status == Status.open and report.stage in workflow.DECLINE_STAGES}


def _activity(report: Report, code: str) -> dict:
    """Comments on the discipline, comment counts per discipline, the latest events, the actions."""
    comments = db.session.scalars(select(Comment).where(Comment.report_id == report.id, Comment.discipline == code).order_by(Comment.id)).all()
    counts = db.session.execute(select(Comment.discipline, func.count()).where(Comment.report_id == report.id, Comment.withdrawn_at.is_(None))
                                .group_by(Comment.discipline)).all()
    last_events = db.session.scalars(select(AuditEvent).where(AuditEvent.report_id == report.id).order_by(AuditEvent.id.desc()).limit(8)).all()
    return {"comments": comments, "comment_counts": dict(counts), "last_events": last_events,
            "report_actions": db.session.scalars(actions_query(current_user, {"report_id": str(report.id)})).unique().all(),
            "edit_window_open": lambda c: (utcnow() - c.created_at).total_seconds() < 15 * 60}


def workspace(report: Report, code: str | None, *, values=None, errors=None, status=200, header_errors=None, header_values=None, show_gate=False):
    """The workspace page of `code` (the report's stage if none), with retyped values and their
    errors when a save needs correcting; (html, status)."""
    code = code if code in method.CODES else report.stage
    findings = report_service.findings(report)
    entry = report.discipline(code)
    files = db.session.scalars(select(Attachment).where(Attachment.report_id == report.id).order_by(Attachment.discipline, Attachment.id)).all()
    shown = values if values is not None else entry.values
    # What the customer's reviewer should see before deciding: the warnings of what is submitted.
    review_warnings = [(c, f.message) for c in method.CODES[: method.CODES.index(report.stage) + 1] for f in findings[c] if f.level == method.WARN
                       and "past its due date" not in f.message] if report.status == Status.in_review else []
    html = render_template(
        "reports/detail.html", report=report, code=code, discipline=method.BY_CODE[code], entry=entry, values=shown or {}, errors=errors or {},
        discipline_html=lambda editable: discipline_fragment(report, code, entry, shown, errors or {}, editable, files),
        findings=findings, header=report_service.header_values(report) if header_values is None else header_values,
        header_errors=header_errors or {}, frozen=policy.report_is_frozen(report, code), show_gate=show_gate and report.status == Status.open,
        attachments=sorted((a for a in files if a.discipline == code), key=lambda a: a.id), files=files,
        evidence_claims=disciplines.evidence_claims(report, code), pending=report.pending_review, review_warnings=review_warnings,
        **_step_forms(report, code), **_decline(report, code), **_activity(report, code), tiers=tier_panel(report, code),
    )
    return html, status


@bp.route("/reports/<int:report_id>")
@login_required
def detail(report_id: int):
    """The workspace. A page is kept per browser session and report version (app/services/
    documents.py), and its version is the page's ETag: a report nobody changed meanwhile is
    answered with 304 or the kept page, not a render. What depends on the clock beyond the day
    (the edit windows of one's own comments) is part of the key. Pages with messages to show are
    neither kept nor answered with 304."""
    report = report_service.get_visible_report(current_user, report_id)
    if not session.get("sid") or session.get("_flashes"):
        return workspace(report, request.args.get("d"), show_gate=request.args.get("gate") == "1")
    view = documents.key(report, "page", session["sid"], current_user.id, current_user.role.value, request.full_path,
                         comment_service.open_edit_windows(current_user, report.id))
    unchanged = not_modified(view)
    if unchanged is not None:
        return unchanged
    hit = documents.PAGES.get(view)
    if hit is not None:
        html, nonce = hit
        page, status = html.replace(nonce, g.csp_nonce), 200
    else:
        page, status = workspace(report, request.args.get("d"), show_gate=request.args.get("gate") == "1")
        if status != 200:
            return page, status
        documents.PAGES.put(view, (page, g.csp_nonce))
    return validated(make_response(page, status), view, documents.last_modified(report))
