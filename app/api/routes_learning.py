"""Learning across reports: full-text search (more to come: similar reports, lessons, the watch)."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from app.api import bp
from app.api.spec import operation
from app.api.util import arg_int, respond
from app.schemas import learning as shapes
from app.schemas.base import Paging, page_of
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
