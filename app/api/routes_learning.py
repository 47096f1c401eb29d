"""Learning across reports: full-text search, similar past 8Ds, the lessons library and the effectiveness watch."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from app.api import bp
from app.api.spec import operation
from app.api.util import arg_int, created, json_body, respond
from app.errors import BadRequest
from app.extensions import db
from app.schemas import learning as shapes
from app.schemas import reports as report_shapes
from app.schemas.actions import Action
from app.schemas.base import Paging, page_of
from app.serialize import as_action, as_report
from app.services import effectiveness, similar
from app.services import lessons as lesson_service
from app.services import reports as report_service
from app.services import search as search_service


@operation("Full-text search in the reports the caller may see", "learning", response=page_of(shapes.SearchHit),
           query=(shapes.SearchQuery, Paging),
           description="Every word must occur (English stemming); one hit per report, best first, with the part it was found in and a "
                       "snippet (HTML, matching words in <mark>). Only reports the caller may see are searched. `total` counts up to 1,000 reports "
                       "(as the report list's page does): 1000 means 1,000 or more.")
@bp.route("/search", methods=["GET"])
def search():
    args = request.args
    filters = search_service.check_filters(args.get("supplier_id"), args.get("status"), args.get("part_number"), args.get("discipline"))
    page, per_page = arg_int("page", 1), arg_int("per_page", 20, maximum=200)
    found = search_service.search(current_user, args.get("q", ""), filters, page, per_page)
    items = [shapes.SearchHit(report_id=h.report_id, number=h.number, title=h.title, discipline=h.discipline, snippet=str(h.snippet),
                              status=h.status, supplier=h.supplier, part_number=h.part_number) for h in found.items]
    return respond(page_of(shapes.SearchHit)(items=items, total=found.total, page=found.page, per_page=found.per_page))


@operation("Decide the effectiveness watch (the customer's quality lead, signed with the password)", "workflow", response=report_shapes.Report,
           body=shapes.EffectivenessDecision, errors=(403, 409, 422, 429),
           description="effective closes the watch (from its last day on, or at once after a recurrence); not_effective needs a comment "
                       "and reopens the report at D4 with a new revision. No watch running: 409 (rule no_watch); before the end: 409 "
                       "(rule watch_running). A wrong password: 403 (recorded); too many: 429.")
@bp.route("/reports/<int:report_id>/effectiveness", methods=["POST"])
def decide_effectiveness(report_id: int):
    report = report_service.get_visible_report(current_user, report_id, for_update=True)
    data = json_body()
    effectiveness.decide(current_user, report, data.get("decision"), data.get("comment"), data.get("password"))
    db.session.commit()
    db.session.expire_all()
    return respond(as_report(report_service.get_visible_report(current_user, report_id)))


@operation("Similar past 8Ds: visible reports like this one, with why and how they ended", "learning", response=shapes.SimilarList,
           description="Same part number or part family, failure-mode words of the title, similar D4 cause text; best first (up to 10).")
@bp.route("/reports/<int:report_id>/similar", methods=["GET"])
def similar_reports(report_id: int):
    report = report_service.get_visible_report(current_user, report_id)
    items = [shapes.SimilarReport(id=s.report.id, number=s.report.number, title=s.report.title, status=s.report.status.value, score=float(s.score),
                                  reasons=s.reasons, outcome=shapes.SimilarOutcome(causes=s.causes, corrective_actions=s.corrective_actions,
                                                                                   outcome=s.report.outcome))
             for s in similar.similar_reports(current_user, report)]
    return respond(shapes.SimilarList(items=items))


@operation("The lessons learned (D7) of the reports the caller may see", "learning", response=page_of(shapes.LessonItem),
           query=(shapes.LessonQuery, Paging))
@bp.route("/lessons", methods=["GET"])
def lessons():
    args = request.args
    page, per_page = arg_int("page", 1), arg_int("per_page", 50, maximum=200)
    found = lesson_service.find(current_user, args.get("q", ""), args.get("process", ""), args.get("failure_mode", ""))
    items = [shapes.LessonItem(report_id=x.report_id, number=x.number, title=x.title, supplier=x.supplier, part_number=x.part_number, index=x.index,
                               lesson=x.lesson, category=x.category, tags=x.tags) for x in found[(page - 1) * per_page:page * per_page]]
    return respond(page_of(shapes.LessonItem)(items=items, total=len(found), page=page, per_page=per_page))


@operation("Apply a lesson to my line: a read-across preventive action in a report of the caller's choice", "learning", ok=201,
           response=Action, body=shapes.LessonApply, errors=(403, 409, 422))
@bp.route("/lessons/<int:report_id>/<int:index>/apply", methods=["POST"])
def apply_lesson(report_id: int, index: int):
    data = json_body()
    lesson = lesson_service.lesson_of(current_user, report_id, index)
    target_id = data.get("report_id")
    if isinstance(target_id, bool) or not isinstance(target_id, int):
        raise BadRequest("'report_id' must be an integer.", {"fields": {"report_id": "must be a report id"}})
    report = report_service.get_visible_report(current_user, target_id, for_update=True)
    action = lesson_service.apply_to_line(current_user, lesson, report, data.get("target"), data.get("due_date"))
    db.session.commit()
    return created(as_action(action))
