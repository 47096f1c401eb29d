"""Actions: containment, corrective, preventive (API.md, "Actions")."""

from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from app.api import bp
from app.api.util import created, json_body, paginate
from app.extensions import db
from app.serialize import action_json
from app.services import actions as action_service
from app.services import notifications
from app.services import reports as report_service
from app.services.action_queries import actions_query


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



