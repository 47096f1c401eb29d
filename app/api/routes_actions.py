"""Actions: containment, corrective, preventive (API.md, "Actions")."""

from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user


from app.api import bp
from app.api.util import created, json_body, paginate
from app.extensions import db
from app.models import Action, iso
from app.serialize import user_ref
from app.services import actions as action_service
from app.services import notifications
from app.services import reports as report_service
from app.services.action_queries import actions_query, is_overdue


def action_json(a: Action) -> dict:
    return {
        "id": a.id,
        "report_id": a.report_id,
        "report_number": a.report.number,
        "kind": a.kind.value,
        "discipline": a.discipline,
        "title": a.title,
        "description": a.description,
        "owner_id": a.owner_id,
        "owner": user_ref(a.owner),
        "due_date": iso(a.due_date),
        "overdue": is_overdue(a),
        "cause": a.cause,
        "cause_ref": a.cause_ref,
        "location": a.location,
        "qty_suspect": a.qty_suspect,
        "qty_checked": a.qty_checked,
        "qty_nok": a.qty_nok,
        "status": a.status.value,
        "verification": a.verification,
        "verified_by": user_ref(a.verified_by),
        "verified_at": iso(a.verified_at),
        "cancel_reason": a.cancel_reason,
        "removed_at": iso(a.removed_at),
        "removed_by": user_ref(a.removed_by),
        "version": a.version,
        "created_at": iso(a.created_at),
        "updated_at": iso(a.updated_at),
        "warnings": action_service.warnings_for(a),
    }


@bp.route("/reports/<int:report_id>/actions", methods=["POST"])
def create_action(report_id: int):
    report = report_service.get_visible_report(current_user, report_id, for_update=True)
    action = action_service.create_action(current_user, report, json_body())
    db.session.commit()
    notifications.wake()
    return created(action_json(action))


@bp.route("/reports/<int:report_id>/actions", methods=["GET"])
def report_actions(report_id: int):
    report = report_service.get_visible_report(current_user, report_id)
    args = request.args.to_dict()
    args["report_id"] = str(report.id)
    return paginate(actions_query(current_user, args), action_json)


@bp.route("/actions", methods=["GET"])
def list_actions():
    return paginate(actions_query(current_user, request.args), action_json)


@bp.route("/actions/<int:action_id>", methods=["GET"])
def get_action(action_id: int):
    return jsonify(action_json(action_service.get_action(current_user, action_id)))


@bp.route("/actions/<int:action_id>", methods=["PATCH"])
def update_action(action_id: int):
    action = action_service.get_action(current_user, action_id, for_update=True)
    action_service.update_action(current_user, action, json_body())
    db.session.commit()
    notifications.wake()
    return jsonify(action_json(action))



