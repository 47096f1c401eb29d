"""Pages of learning across reports: the search results (the search box is in every page's header)."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from app import policy
from app.errors import BadRequest
from app.extensions import db
from app.models import Company, CompanyKind
from app.models.search import PARTS
from app.services import search as search_service
from app.web.learning import bp

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
