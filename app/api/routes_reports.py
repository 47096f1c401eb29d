"""Reports, disciplines, workflow, team, events and export."""

from __future__ import annotations

from flask import current_app, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from app import method, policy
from app.api import bp
from app.api.spec import operation
from app.api.util import arg_code, created, json_body, paginate, respond
from app.edge import not_modified, validated
from app.errors import BadRequest, Forbidden, NotFound
from app.extensions import db
from app.models import AuditEvent, Comment, Report, User
from app.schemas import activity
from app.schemas import reports as shapes
from app.schemas.accounts import User as UserShape
from app.schemas.base import Paging, page_of
from app.schemas.method import Gate
from app.serialize import as_comment, as_discipline, as_event, as_gate, as_report, as_summary, as_team_member, as_user
from app.services import comments as comment_service
from app.services import disciplines, documents, report_list, similar, workflow
from app.services import reports as report_service
from app.services import team as team_service
from app.services.export import export_document


def _report(report_id: int, for_update: bool = False) -> Report:
    return report_service.get_visible_report(current_user, report_id, for_update=for_update)


def _fresh(report_id: int) -> Report:
    db.session.expire_all()
    return _report(report_id)


@operation("Reports the caller may see", "reports", response=page_of(shapes.ReportSummary), query=(shapes.ReportFilter, Paging))
@bp.route("/reports", methods=["GET"])
def list_reports():
    return paginate(report_list.visible_reports(current_user, request.args), as_summary, shapes.ReportSummary)


@operation("Open a report (the creator joins its team as champion)", "reports", ok=201, response=shapes.ReportCreated,
           body=shapes.ReportCreate, errors=(403, 422))
@bp.route("/reports", methods=["POST"])
def create_report():
    report = report_service.create_report(current_user, json_body())
    db.session.commit()
    fresh = _fresh(report.id)
    alike = similar.open_like(current_user, fresh.oem_id, fresh.supplier_id, fresh.part_number, fresh.title, exclude=fresh.id)
    return created(shapes.ReportCreated(**dict(as_report(fresh, current_user)), similar_open=[
        shapes.ReportRefTitled(id=r.id, number=r.number, title=r.title) for r in alike]))


@operation("A report", "reports", response=shapes.Report)
@bp.route("/reports/<int:report_id>", methods=["GET"])
def get_report(report_id: int):
    report = _report(report_id)  # who may see it is decided before any of its content is read
    view = documents.key(report, "json", current_user.company_id)
    return not_modified(view) or validated(current_app.response_class(documents.report_json(view, report, current_user), mimetype="application/json"),
                                           view, documents.last_modified(report))


@operation("Change the report's header values", "reports", response=shapes.Report, body=shapes.ReportHeaderUpdate,
           errors=(403, 409, 422))
@bp.route("/reports/<int:report_id>", methods=["PATCH"])
def update_report_header(report_id: int):
    report = _report(report_id, for_update=True)
    data = json_body()
    report_service.update_header(current_user, report, data)
    db.session.commit()
    return respond(as_report(_fresh(report_id), current_user))


@operation("One discipline", "reports", response=shapes.Discipline)
@bp.route("/reports/<int:report_id>/disciplines/<code>", methods=["GET"])
def get_discipline(report_id: int, code: str):
    report = _report(report_id)
    if code not in method.CODES:
        raise NotFound(_('No discipline %(code)s.', code=repr(code)))
    return respond(as_discipline(report.discipline(code)))


@operation("Save changed fields of a discipline", "reports", response=shapes.DisciplineSaved, body=shapes.DisciplineUpdate,
           errors=(403, 409, 422), description="Fields changed by others since base_version merge silently; a field you send that was changed "
           "after base_version: 409 conflict with details.fields {field: {yours, theirs, base}}, nothing written. Unknown field: 422. "
           "Frozen (under review) or closed: 409.")
@bp.route("/reports/<int:report_id>/disciplines/<code>", methods=["PATCH"])
def patch_discipline(report_id: int, code: str):
    report = _report(report_id)
    if code not in method.CODES:
        raise NotFound(_('No discipline %(code)s.', code=repr(code)))
    data = json_body()
    if "base_version" not in data:
        raise BadRequest(_("'base_version' is required."), {"fields": {"base_version": "is required"}})
    actor = current_user._get_current_object()  # the user itself: a save reads it often, the proxy looks it up each time
    entry, notes = disciplines.save_discipline(actor, report, code, data.get("base_version"), data.get("fields", {}))
    out = as_discipline(entry, shapes.DisciplineSaved, notes=notes)  # from memory, before the commit expires it
    db.session.commit()
    return respond(out)


@operation("What the completion rules find, per discipline", "workflow", response=Gate)
@bp.route("/reports/<int:report_id>/gate", methods=["GET"])
def gate(report_id: int):
    report = _report(report_id)
    return respond(as_gate(report, report_service.findings(report)))


@operation("Advance to the next discipline, or ask for the review", "workflow", response=shapes.Report, body=shapes.Advance,
           body_required=False, errors=(403, 409), description="409 gate_not_met with details.missing when the rules do not hold.")
@bp.route("/reports/<int:report_id>/advance", methods=["POST"])
def advance(report_id: int):
    report = _report(report_id, for_update=True)
    data = json_body(required=False)
    workflow.advance(current_user, report, data.get("comment"), data.get("stage"))
    db.session.commit()
    return respond(as_report(_fresh(report_id), current_user))


@operation("Approve (signed with the password) or reject the stage under review", "workflow", response=shapes.Report,
           body=shapes.ReviewDecision, errors=(403, 409, 422, 429),
           description="The OEM's quality lead only (else 403). A wrong password: 403 (recorded); too many: 429.")
@bp.route("/reports/<int:report_id>/review", methods=["POST"])
def review(report_id: int):
    report = _report(report_id, for_update=True)
    data = json_body()
    workflow.review(current_user, report, data.get("decision"), data.get("comment"), data.get("password"), data.get("return_to"), data.get("stage"),
                    data.get("watch_days"), data.get("watch_criterion"))
    db.session.commit()
    return respond(as_report(_fresh(report_id), current_user))


@operation("Ask the customer to decline the complaint (supplier's leader or champion, D0-D4)", "workflow", response=shapes.Report,
           body=shapes.Decline, errors=(403, 409, 422),
           description="Not our part, customer-caused, no trouble found or a duplicate (related_report_id of the same two companies), with a "
           "comment and evidence. The report waits for the customer's quality lead (POST .../review: approve with the password closes it, "
           "outcome declined; reject with a comment lets the work go on). Not open or past D4: 409 (rule decline_not_allowed).")
@bp.route("/reports/<int:report_id>/decline", methods=["POST"])
def decline(report_id: int):
    report = _report(report_id, for_update=True)
    data = json_body()
    workflow.decline(current_user, report, data.get("reason"), data.get("comment"), data.get("related_report_id"), data.get("evidence"))
    db.session.commit()
    return respond(as_report(_fresh(report_id), current_user))


@operation("Send an open report back to an earlier discipline", "workflow", response=shapes.Report, body=shapes.Return,
           errors=(403, 409, 422))
@bp.route("/reports/<int:report_id>/return", methods=["POST"])
def return_report(report_id: int):
    report = _report(report_id, for_update=True)
    data = json_body()
    workflow.return_report(current_user, report, data.get("to"), data.get("comment"))
    db.session.commit()
    return respond(as_report(_fresh(report_id), current_user))


@operation("Reopen a closed report (quality lead, with the password)", "workflow", response=shapes.Report, body=shapes.Reopen,
           errors=(403, 409, 422, 429))
@bp.route("/reports/<int:report_id>/reopen", methods=["POST"])
def reopen(report_id: int):
    report = _report(report_id, for_update=True)
    data = json_body()
    workflow.reopen(current_user, report, data.get("comment"), data.get("password"), data.get("to"))
    db.session.commit()
    return respond(as_report(_fresh(report_id), current_user))


# ------------------------------------------------------------------------------------------ team
@operation("The report's team (all on one page)", "team", response=page_of(shapes.TeamMember))
@bp.route("/reports/<int:report_id>/team", methods=["GET"])
def list_team(report_id: int):
    report = _report(report_id)
    items = [as_team_member(m) for m in report.team]
    return respond(page_of(shapes.TeamMember)(items=items, page=1, per_page=len(items), total=len(items)))


@operation("Add a member (leader, champion or admin)", "team", ok=201, response=shapes.TeamMember, body=shapes.TeamMemberCreate,
           errors=(403, 409, 422))
@bp.route("/reports/<int:report_id>/team", methods=["POST"])
def add_team_member(report_id: int):
    report = _report(report_id, for_update=True)
    data = json_body()
    member = team_service.add_member(current_user, report, data.get("user_id"), data.get("role", "member"), data.get("function"))
    db.session.commit()
    return created(as_team_member(member))


@operation("Change a member's role or function", "team", response=shapes.TeamMember, body=shapes.TeamMemberUpdate,
           errors=(403, 409, 422))
@bp.route("/reports/<int:report_id>/team/<int:user_id>", methods=["PATCH"])
def change_team_member(report_id: int, user_id: int):
    report = _report(report_id, for_update=True)
    member = team_service.change_member(current_user, report, user_id, json_body())
    db.session.commit()
    return respond(as_team_member(member))


@operation("Remove a member", "team", ok=204, errors=(403, 409, 422))
@bp.route("/reports/<int:report_id>/team/<int:user_id>", methods=["DELETE"])
def remove_team_member(report_id: int, user_id: int):
    report = _report(report_id, for_update=True)
    team_service.remove_member(current_user, report, user_id)
    db.session.commit()
    return "", 204


@operation("People who may join this report's team", "team", response=page_of(UserShape), query=(shapes.UserSearch, Paging),
           errors=(403,))
@bp.route("/reports/<int:report_id>/users", methods=["GET"])
def eligible_users(report_id: int):
    """People who may join this report's team (search with ?q= by name or e-mail)."""
    report = _report(report_id)
    if not policy.can_manage_team(current_user, report):
        raise Forbidden(_('Only the team leader, the champion or an administrator can change the team.'))
    stmt = select(User).where(policy.listable_users_clause(current_user, report))
    q = (request.args.get("q") or "").strip().lower()[:200]
    if q:
        stmt = stmt.where(or_(func.lower(User.name).like(f"%{q}%"), func.lower(User.email).like(f"%{q}%")))
    return paginate(stmt.order_by(User.name, User.id), as_user, UserShape)


# ------------------------------------------------------------------------------- history, export
@operation("The audit trail, oldest first", "history", response=page_of(activity.Event), query=(shapes.DisciplineFilter, Paging))
@bp.route("/reports/<int:report_id>/events", methods=["GET"])
def events(report_id: int):
    report = _report(report_id)
    stmt = select(AuditEvent).where(AuditEvent.report_id == report.id)
    code = arg_code("discipline")
    if code:
        stmt = stmt.where(AuditEvent.discipline == code)
    return paginate(stmt.order_by(AuditEvent.seq), as_event, activity.Event)


@operation("The whole report as one JSON document", "history", response=activity.ReportExport)
@bp.route("/reports/<int:report_id>/export", methods=["GET"])
def export(report_id: int):
    report = _report(report_id)
    if not policy.can_export(current_user, report):
        raise NotFound(_('No such report.'))
    response = respond(activity.ReportExport.model_validate(export_document(report)))
    response.headers["Content-Disposition"] = f'attachment; filename="{report.number}.json"'
    return response


# -------------------------------------------------------------------------------------- comments
@operation("The report's comments, oldest first", "comments", response=page_of(activity.Comment),
           query=(shapes.DisciplineFilter, Paging))
@bp.route("/reports/<int:report_id>/comments", methods=["GET"])
def list_comments(report_id: int):
    report = _report(report_id)
    stmt = select(Comment).where(Comment.report_id == report.id)
    code = arg_code("discipline")
    if code:
        stmt = stmt.where(Comment.discipline == code)
    return paginate(stmt.order_by(Comment.id), as_comment, activity.Comment)


@operation("Comment on a discipline (team members)", "comments", ok=201, response=activity.Comment, body=activity.CommentCreate,
           errors=(403, 422))
@bp.route("/reports/<int:report_id>/comments", methods=["POST"])
def add_comment(report_id: int):
    report = _report(report_id, for_update=True)
    data = json_body()
    comment, _mentions = comment_service.add_comment(current_user, report, data.get("discipline"), data.get("body"))
    db.session.commit()
    return created(as_comment(comment))


@operation("Edit one's own comment (within 15 minutes)", "comments", response=activity.Comment, body=activity.CommentUpdate,
           errors=(403, 409, 422), description="409 when withdrawn or after the edit window (details.rule: edit_window).")
@bp.route("/comments/<int:comment_id>", methods=["PATCH"])
def edit_comment(comment_id: int):
    comment, report = comment_service.get_comment(current_user, comment_id)
    data = json_body()
    comment_service.edit_comment(current_user, comment, report, data.get("body"))
    db.session.commit()
    return respond(as_comment(comment))


@operation("Withdraw a comment (author or admin; the audit trail keeps it)", "comments", ok=204, errors=(403,))
@bp.route("/comments/<int:comment_id>", methods=["DELETE"])
def withdraw_comment(comment_id: int):
    comment, report = comment_service.get_comment(current_user, comment_id)
    comment_service.withdraw_comment(current_user, comment, report)
    db.session.commit()
    return "", 204
