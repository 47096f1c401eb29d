"""Pages of learning across reports: the search results (the search box is in every page's header) and the
effectiveness watch of a closed report (its panel on the report page, the quality lead's decision),
similar past 8Ds at D2 and D4, the lessons library with "apply to my line"."""

from __future__ import annotations

import datetime as dt

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app import policy
from app.errors import BadRequest, DomainError, Forbidden
from app.extensions import db
from app.models import EDITING_ROLES, Company, CompanyKind, Report, Status, TeamMember, utcnow
from app.models.search import PARTS
from app.services import effectiveness, similar
from app.services import lessons as lesson_service
from app.services import reports as report_service
from app.services import search as search_service
from app.web.learning import bp
from app.web.learning.forms import LessonApplyForm
from app.web.reports.forms import EffectivenessForm

PER_PAGE = 20


@bp.route("/search")
@login_required
def search():
    args = request.args
    page = args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < len(page) < 7 and int(page) > 0 else 1
    try:
        filters = search_service.check_filters(args.get("supplier_id"), args.get("status"), args.get("part_number"), args.get("discipline"))
    except BadRequest:
        filters = search_service.Filters()  # a hand-made URL with a wrong filter searches without it
    found = search_service.search(current_user, args.get("q", ""), filters, page, PER_PAGE)
    suppliers = db.session.scalars(
        select(Company).where(policy.pickable_companies_clause(current_user), Company.kind == CompanyKind.supplier).order_by(Company.name)
    ).all()
    pages = max(1, (found.total + PER_PAGE - 1) // PER_PAGE)
    parts = [(p, search_service.part_label(p)) for p in PARTS]
    return render_template("learning/search.html", found=found, q=args.get("q", ""), filters=filters, suppliers=suppliers, parts=parts,
                           page=page, pages=pages, args=args)


@bp.app_template_global()
def watch_panel(report):
    """For the report page: its effectiveness watch, the recurrences and the decision form."""
    watch = effectiveness.watch_of(report)
    if watch is None:
        return None
    return {"watch": watch, "recurrences": effectiveness.recurrence_refs(watch), "form": EffectivenessForm(), "due": watch.until <= utcnow().date()}


@bp.route("/reports/<int:report_id>/effectiveness", methods=["POST"])
@login_required
def decide_effectiveness(report_id: int):
    report = report_service.get_visible_report(current_user, report_id, for_update=True)
    form = EffectivenessForm()
    if not form.validate_on_submit():
        for msgs in form.errors.values():
            for msg in msgs:
                flash(msg, "danger")
        return redirect(url_for("reports.detail", report_id=report.id, d="D8"))
    try:
        effectiveness.decide(current_user, report, form.decision.data, form.comment.data, form.password.data)
        db.session.commit()
        flash(_("The fix was confirmed effective; the watch is closed.") if form.decision.data == "effective"
              else _("Not effective: the report is open again at D4 with a new revision."), "success")
    except DomainError as exc:
        if not getattr(exc, "keeps_transaction", False):
            db.session.rollback()
        record = getattr(exc, "record", None)
        if callable(record):  # a failed signature attempt is kept
            record()
            db.session.commit()
        elif isinstance(exc, Forbidden):
            raise
        flash(exc.message, "danger")
    return redirect(url_for("reports.detail", report_id=report.id, d="D8"))


@bp.app_template_global()
def watches_of_user():
    """For the dashboard: the visible reports under watch and those whose watch has ended."""
    return effectiveness.watch_lists(current_user)


@bp.app_template_global()
def similar_panel(report):
    """For D2 and D4 of the report page: similar past 8Ds with why and how they ended."""
    return similar.similar_reports(current_user, report)


def _my_open_reports():
    """Open reports where the user may add actions (a working place on the team): apply targets."""
    stmt = (select(Report).join(TeamMember, (TeamMember.report_id == Report.id) & (TeamMember.user_id == current_user.id))
            .where(policy.visible_reports_clause(current_user), Report.status != Status.closed, TeamMember.role.in_(EDITING_ROLES))
            .order_by(Report.id.desc()).limit(100))
    return [r for r in db.session.scalars(stmt).unique() if policy.can_manage_actions(current_user, r)]


@bp.route("/lessons")
@login_required
def lessons():
    args = request.args
    found = lesson_service.find(current_user, args.get("q", ""), args.get("process", ""), args.get("failure_mode", ""))
    form = LessonApplyForm()
    return render_template("learning/lessons.html", found=found[:200], total=len(found), args=args, form=form, targets=_my_open_reports(),
                           default_due=(utcnow().date() + dt.timedelta(days=30)).isoformat())


@bp.route("/lessons/apply", methods=["POST"])
@login_required
def apply_lesson():
    form = LessonApplyForm()
    back = redirect(url_for("learning.lessons", **request.args))
    if not form.validate_on_submit():
        for msgs in form.errors.values():
            for msg in msgs:
                flash(msg, "danger")
        return back
    report_id, _sep, index = form.lesson.data.partition(":")
    lesson = lesson_service.lesson_of(current_user, report_id, index)
    raw = form.report_id.data or ""
    report = report_service.get_visible_report(current_user, int(raw) if raw.isdigit() and len(raw) < 10 else 0, for_update=True)
    try:
        action = lesson_service.apply_to_line(current_user, lesson, report, form.target.data, form.due_date.data or None)
        db.session.commit()
        flash(_("Read-across %(ref)s added to %(number)s.", ref=action.ref, number=report.number), "success")
    except DomainError as exc:
        db.session.rollback()
        if isinstance(exc, Forbidden):
            raise
        flash(exc.message, "danger")
    return back
