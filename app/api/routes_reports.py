"""Reports, disciplines, workflow, team, events and export."""

from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user
from sqlalchemy import func, or_, select

from app import method, policy
from app.api import bp
from app.api.util import arg_code, created, json_body, paginate
from app.db import late_writes
from app.errors import BadRequest, Forbidden, NotFound
from app.extensions import db
from app.models import AuditEvent, Comment, Report, Status, User
from app.serialize import comment_json, discipline_json, event_json, report_json, report_summary
from app.services import comments as comment_service
from app.services import reports as report_service
from app.services import team as team_service
from app.services import workflow
from app.services.export import export_document


def _report(report_id: int, for_update: bool = False) -> Report:
    return report_service.get_visible_report(current_user, report_id, for_update=for_update)


def _fresh(report_id: int) -> Report:
    db.session.expire_all()
    return _report(report_id)


@bp.route("/reports", methods=["GET"])
def list_reports():
    stmt = select(Report).where(policy.visible_reports_clause(current_user))
    args = request.args
    status = args.get("status")
    if status:
        if status not in {s.value for s in Status}:
            raise BadRequest("'status' must be open, in_review or closed.", {"fields": {"status": "unknown status"}})
        stmt = stmt.where(Report.status == Status(status))
    stage = arg_code("stage")
    if stage:
        stmt = stmt.where(Report.stage == stage)
    for key, column in (("supplier_id", Report.supplier_id), ("oem_id", Report.oem_id)):
        value = args.get(key)
        if value:
            if not value.isdigit() or len(value) > 9:
                raise BadRequest(f"'{key}' must be an integer.", {"fields": {key: "must be an integer"}})
            stmt = stmt.where(column == int(value))
    overdue = args.get("overdue")
    if overdue in ("true", "1"):
        stmt = stmt.where(report_service.overdue_clause())
    q = (args.get("q") or "").strip()[:200]
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(func.lower(Report.title).like(like), func.lower(Report.number).like(like),
                              func.lower(Report.part_number).like(like), func.lower(Report.complaint_ref).like(like)))
    return paginate(stmt.order_by(Report.updated_at.desc(), Report.id.desc()), report_summary)


@bp.route("/reports", methods=["POST"])
def create_report():
    report = report_service.create_report(current_user, json_body())
    db.session.commit()
    return created(report_json(_fresh(report.id)))


@bp.route("/reports/<int:report_id>", methods=["GET"])
def get_report(report_id: int):
    report = _report(report_id)  # who may see it is decided before any of its content is read
    return jsonify(report_json(report))


@bp.route("/reports/<int:report_id>", methods=["PATCH"])
def update_report_header(report_id: int):
    report = _report(report_id, for_update=True)
    data = json_body()
    report_service.update_header(current_user, report, data)
    db.session.commit()
    return jsonify(report_json(_fresh(report_id)))


@bp.route("/reports/<int:report_id>/disciplines/<code>", methods=["GET"])
def get_discipline(report_id: int, code: str):
    report = _report(report_id)
    if code not in method.CODES:
        raise NotFound(f"No discipline {code!r}.")
    return jsonify(discipline_json(report.discipline(code)))


@bp.route("/reports/<int:report_id>/disciplines/<code>", methods=["PATCH"])
@late_writes  # the report is locked inside save_discipline, after the values are checked
def patch_discipline(report_id: int, code: str):
    report = _report(report_id)
    if code not in method.CODES:
        raise NotFound(f"No discipline {code!r}.")
    data = json_body()
    if "base_version" not in data:
        raise BadRequest("'base_version' is required.", {"fields": {"base_version": "is required"}})
    actor = current_user._get_current_object()  # the user itself: a save reads it often, the proxy looks it up each time
    entry, notes = report_service.save_discipline(actor, report, code, data.get("base_version"), data.get("fields", {}))
    out = discipline_json(entry)  # from memory, before the commit expires it
    db.session.commit()
    out["notes"] = notes
    return jsonify(out)


@bp.route("/reports/<int:report_id>/gate", methods=["GET"])
def gate(report_id: int):
    report = _report(report_id)
    found = report_service.findings(report)
    return jsonify({
        "stage": report.stage,
        "missing": [f.message for f in found[report.stage] if f.level == method.BLOCK],
        "disciplines": {code: [f.as_json() for f in items] for code, items in found.items()},
    })


@bp.route("/reports/<int:report_id>/advance", methods=["POST"])
def advance(report_id: int):
    report = _report(report_id, for_update=True)
    data = json_body(required=False)
    workflow.advance(current_user, report, data.get("comment"), data.get("stage"))
    db.session.commit()
    return jsonify(report_json(_fresh(report_id)))


@bp.route("/reports/<int:report_id>/review", methods=["POST"])
def review(report_id: int):
    report = _report(report_id, for_update=True)
    data = json_body()
    workflow.review(current_user, report, data.get("decision"), data.get("comment"), data.get("password"), data.get("return_to"), data.get("stage"))
    db.session.commit()
    return jsonify(report_json(_fresh(report_id)))


@bp.route("/reports/<int:report_id>/decline", methods=["POST"])
def decline(report_id: int):
    report = _report(report_id, for_update=True)
    data = json_body()
    workflow.decline(current_user, report, data.get("reason"), data.get("comment"), data.get("related_report_id"), data.get("evidence"))
    db.session.commit()
    return jsonify(report_json(_fresh(report_id)))


@bp.route("/reports/<int:report_id>/return", methods=["POST"])
def return_report(report_id: int):
    report = _report(report_id, for_update=True)
    data = json_body()
    workflow.return_report(current_user, report, data.get("to"), data.get("comment"))
    db.session.commit()
    return jsonify(report_json(_fresh(report_id)))


@bp.route("/reports/<int:report_id>/reopen", methods=["POST"])
def reopen(report_id: int):
    report = _report(report_id, for_update=True)
    data = json_body()
    workflow.reopen(current_user, report, data.get("comment"), data.get("password"), data.get("to"))
    db.session.commit()
    return jsonify(report_json(_fresh(report_id)))


# ------------------------------------------------------------------------------------------ team
@bp.route("/reports/<int:report_id>/team", methods=["GET"])
def list_team(report_id: int):
    report = _report(report_id)
    items = [m.as_json() for m in report.team]
    return jsonify({"items": items, "page": 1, "per_page": len(items), "total": len(items)})


@bp.route("/reports/<int:report_id>/team", methods=["POST"])
def add_team_member(report_id: int):
    report = _report(report_id, for_update=True)
    data = json_body()
    member = team_service.add_member(current_user, report, data.get("user_id"), data.get("role", "member"), data.get("function"))
    db.session.commit()
    return created(member.as_json())


@bp.route("/reports/<int:report_id>/team/<int:user_id>", methods=["PATCH"])
def change_team_member(report_id: int, user_id: int):
    report = _report(report_id, for_update=True)
    member = team_service.change_member(current_user, report, user_id, json_body())
    db.session.commit()
    return jsonify(member.as_json())


@bp.route("/reports/<int:report_id>/team/<int:user_id>", methods=["DELETE"])
def remove_team_member(report_id: int, user_id: int):
    report = _report(report_id, for_update=True)
    team_service.remove_member(current_user, report, user_id)
    db.session.commit()
    return "", 204


@bp.route("/reports/<int:report_id>/users", methods=["GET"])
def eligible_users(report_id: int):
    """People who may join this report's team (search with ?q= by name or e-mail)."""
    report = _report(report_id)
    if not policy.can_manage_team(current_user, report):
        raise Forbidden("Only the team leader, the champion or an administrator can change the team.")
    stmt = select(User).where(policy.listable_users_clause(current_user, report))
    q = (request.args.get("q") or "").strip().lower()[:200]
    if q:
        stmt = stmt.where(or_(func.lower(User.name).like(f"%{q}%"), func.lower(User.email).like(f"%{q}%")))
    return paginate(stmt.order_by(User.name, User.id), lambda u: u.as_json())


# ------------------------------------------------------------------------------- history, export
@bp.route("/reports/<int:report_id>/events", methods=["GET"])
def events(report_id: int):
    report = _report(report_id)
    stmt = select(AuditEvent).where(AuditEvent.report_id == report.id)
    code = arg_code("discipline")
    if code:
        stmt = stmt.where(AuditEvent.discipline == code)
    return paginate(stmt.order_by(AuditEvent.seq), event_json)


@bp.route("/reports/<int:report_id>/export", methods=["GET"])
def export(report_id: int):
    report = _report(report_id)
    if not policy.can_export(current_user, report):
        raise NotFound("No such report.")
    response = jsonify(export_document(report))
    response.headers["Content-Disposition"] = f'attachment; filename="{report.number}.json"'
    return response


# -------------------------------------------------------------------------------------- comments
@bp.route("/reports/<int:report_id>/comments", methods=["GET"])
def list_comments(report_id: int):
    report = _report(report_id)
    stmt = select(Comment).where(Comment.report_id == report.id)
    code = arg_code("discipline")
    if code:
        stmt = stmt.where(Comment.discipline == code)
    return paginate(stmt.order_by(Comment.id), comment_json)


@bp.route("/reports/<int:report_id>/comments", methods=["POST"])
def add_comment(report_id: int):
    report = _report(report_id, for_update=True)
    data = json_body()
    comment, _mentions = comment_service.add_comment(current_user, report, data.get("discipline"), data.get("body"))
    db.session.commit()
    return created(comment_json(comment))


@bp.route("/comments/<int:comment_id>", methods=["PATCH"])
def edit_comment(comment_id: int):
    comment, report = comment_service.get_comment(current_user, comment_id)
    data = json_body()
    comment_service.edit_comment(current_user, comment, report, data.get("body"))
    db.session.commit()
    return jsonify(comment_json(comment))


@bp.route("/comments/<int:comment_id>", methods=["DELETE"])
def withdraw_comment(comment_id: int):
    comment, report = comment_service.get_comment(current_user, comment_id)
    comment_service.withdraw_comment(current_user, comment, report)
    db.session.commit()
    return "", 204
