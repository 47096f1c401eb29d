"""Working together on the report page: comments, presence heartbeats and the live poll."""

from __future__ import annotations

from flask import abort, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.edge import json_body
from app.extensions import db
from app.models import AuditEvent, iso, utcnow
from app.services import comments as comment_service
from app.services import presence as presence_service
from app.services import reports as report_service
from app.web.flow import commit_or_flash
from app.web.reports import bp


@bp.route("/reports/<int:report_id>/comments", methods=["POST"])
@login_required
def comment_add(report_id: int):
    report = report_service.get_visible_report(current_user, report_id, for_update=True)
    discipline = request.form.get("discipline", "")
    commit_or_flash(lambda: comment_service.add_comment(current_user, report, discipline, request.form.get("body", "")), _("Comment added."))
    return redirect(url_for("reports.detail", report_id=report.id, d=discipline if discipline in report_service.method.CODES else None, _anchor="comments"))


@bp.route("/reports/<int:report_id>/comments/<int:comment_id>/edit", methods=["POST"])
@login_required
def comment_edit(report_id: int, comment_id: int):
    comment, report = comment_service.get_comment(current_user, comment_id)
    if report.id != report_id:
        abort(404)
    commit_or_flash(lambda: comment_service.edit_comment(current_user, comment, report, request.form.get("body", "")), _("Comment updated."))
    return redirect(url_for("reports.detail", report_id=report.id, d=comment.discipline, _anchor="comments"))


@bp.route("/reports/<int:report_id>/comments/<int:comment_id>/withdraw", methods=["POST"])
@login_required
def comment_withdraw(report_id: int, comment_id: int):
    comment, report = comment_service.get_comment(current_user, comment_id)
    if report.id != report_id:
        abort(404)
    commit_or_flash(lambda: comment_service.withdraw_comment(current_user, comment, report), _("Comment withdrawn; the history keeps it."), "info")
    return redirect(url_for("reports.detail", report_id=report.id, d=comment.discipline, _anchor="comments"))


@bp.route("/reports/<int:report_id>/presence", methods=["POST"])
@login_required
def presence_beat(report_id: int):
    report = report_service.get_visible_report(current_user, report_id)
    data = json_body(required=False)  # the API's parser and body limit: 400, never a 5xx
    presence_service.heartbeat(current_user, report, data.get("discipline"), data.get("editing"))
    db.session.commit()
    return "", 204


@bp.route("/reports/<int:report_id>/live")
@login_required
def live(report_id: int):
    """Cheap poll (every ~2 s): the report's change counter, the last change and who is here.
    Works across processes and on both databases: the counter lives in the report row."""
    report = report_service.get_visible_report(current_user, report_id)
    since = request.args.get("since", "")
    last = db.session.scalar(
        select(AuditEvent).where(AuditEvent.report_id == report.id).order_by(AuditEvent.seq.desc()).limit(1)
    )
    body = {
        "counter": report.change_counter,
        "changed": since.isdigit() and int(since) != report.change_counter,
        "status": report.status.value,
        "stage": report.stage,
        "presence": presence_service.present(report, exclude=current_user),
        "last_change": None,
    }
    if last is not None:
        body["last_change"] = {
            "action": last.action,
            "discipline": last.discipline,
            "actor": last.actor_name,
            "actor_id": last.actor_id,
            "company": last.actor_company,
            "at": iso(last.at),
            "seconds_ago": max(0, int((utcnow() - last.at).total_seconds())),
        }
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response



