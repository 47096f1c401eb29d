"""Actions: containment, corrective, preventive (docs/api.md, "Actions")."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from app.api import bp
from app.api.spec import operation
from app.api.util import created, json_body, paginate, respond
from app.extensions import db
from app.schemas.actions import Action, ActionCreate, ActionFilter, ActionUpdate
from app.schemas.base import Paging, page_of
from app.serialize import as_action
from app.services import actions as action_service
from app.services import reports as report_service
from app.services.action_queries import actions_query


@operation("Add an action (team members)", "actions", ok=201, response=Action, body=ActionCreate, errors=(403, 409, 422))
@bp.route("/reports/<int:report_id>/actions", methods=["POST"])
def create_action(report_id: int):
    report = report_service.get_visible_report(current_user, report_id, for_update=True)
    action = action_service.create_action(current_user, report, json_body())
    db.session.commit()
    return created(as_action(action))


@operation("The report's actions", "actions", response=page_of(Action), query=(ActionFilter, Paging))
@bp.route("/reports/<int:report_id>/actions", methods=["GET"])
def report_actions(report_id: int):
    report = report_service.get_visible_report(current_user, report_id)
    args = request.args.to_dict()
    args["report_id"] = str(report.id)
    return paginate(actions_query(current_user, args), as_action, Action)


@operation("Actions of the reports the caller may see, e.g. ?owner=me&overdue=true", "actions", response=page_of(Action),
           query=(ActionFilter, Paging))
@bp.route("/actions", methods=["GET"])
def list_actions():
    return paginate(actions_query(current_user, request.args), as_action, Action)


@operation("An action", "actions", response=Action)
@bp.route("/actions/<int:action_id>", methods=["GET"])
def get_action(action_id: int):
    return respond(as_action(action_service.get_action(current_user, action_id)))


@operation("Change an action, step its status or lift a containment", "actions", response=Action, body=ActionUpdate, errors=(403, 409, 422),
           description="409 conflict when `version` is not the current one (or the report is closed); an illegal status step, "
           "a missing verification or reason: 422.")
@bp.route("/actions/<int:action_id>", methods=["PATCH"])
def update_action(action_id: int):
    action = action_service.get_action(current_user, action_id, for_update=True)
    action_service.update_action(current_user, action, json_body())
    db.session.commit()
    return respond(as_action(action))
