"""The KPI page, its CSV and the monthly review handout (PDF) of one supplier. Thin: the figures
come from app/services/kpis.py, the same as GET /api/v1/kpis."""

from __future__ import annotations

import csv
import io

from flask import Response, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app import policy
from app.errors import DomainError
from app.extensions import db
from app.models import Company, Report, utcnow
from app.services import kpis
from app.web.actions.routes import csv_safe
from app.web.kpis import bp
from app.web.kpis.views import charts_for


def _figures(args) -> tuple[dict | None, str | None]:
    try:
        period = kpis.parse_period(args.get("from"), args.get("to"))
        return kpis.compute(current_user, period, kpis.parse_id("supplier_id", args.get("supplier_id")),
                            kpis.parse_id("oem_id", args.get("oem_id"))), None
    except DomainError as e:
        return None, str(e)


@bp.route("/kpis")
@login_required
def index():
    data, error = _figures(request.args)
    if data is None:
        data = kpis.compute(current_user, kpis.parse_period(None, None))
    suppliers = db.session.execute(
        select(Company.id, Company.name).where(Company.id.in_(select(Report.supplier_id).where(policy.visible_reports_clause(current_user))))
        .order_by(Company.name)).all()
    return render_template("kpis/index.html", data=data, error=error, args=request.args, suppliers=suppliers,
                           figures=kpis.FIGURES, definitions=kpis.DEFINITIONS, rates=kpis.RATES, charts=charts_for(data),
                           month=utcnow().strftime("%Y-%m")), 200 if error is None else 400


@bp.route("/kpis.csv")
@login_required
def export_csv():
    data, error = _figures(request.args)
    if data is None:
        abort(400, error)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["scope", "supplier_id", "supplier", "month", *kpis.FIGURES])
    for row in data["suppliers"]:
        writer.writerow([csv_safe(v) for v in ("supplier", row["supplier"]["id"], row["supplier"]["name"],
                                                f"{data['period']['first']}..{data['period']['last']}", *(_cell(row[f]) for f in kpis.FIGURES))])
    for row in data["months"]:
        writer.writerow([csv_safe(v) for v in ("month", "", "", row["month"], *(_cell(row[f]) for f in kpis.FIGURES))])
    return Response(out.getvalue(), mimetype="text/csv", headers={"Content-Disposition": 'attachment; filename="kpis.csv"'})


def _cell(value) -> str:
    return "" if value is None else str(value)


@bp.route("/kpis/<int:supplier_id>/review.pdf")
@login_required
def review_pdf(supplier_id: int):
    from app.services.export import render_html_pdf
    from app.services.kpi_review import review_data

    # the policy first: an invisible supplier costs the same statements as a missing one
    if not policy.can_view_supplier_figures(current_user, supplier_id):
        abort(404)
    supplier = db.session.get(Company, supplier_id)
    if supplier is None:
        abort(404)
    month = request.args.get("month") or utcnow().strftime("%Y-%m")
    if not kpis.MONTH.match(month):
        abort(400, _("The month must be given as YYYY-MM."))
    data = review_data(current_user, supplier, month)
    html = render_template("pdf/kpi_review.html", d=data, figures=kpis.FIGURES, definitions=kpis.DEFINITIONS, rates=kpis.RATES,
                           charts=charts_for({"months": data["trend"], "suppliers": [data["figures"]] if data["figures"] else []}))
    return Response(render_html_pdf(html), mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="kpi-review-{supplier.id}-{month}.pdf"', "X-Content-Type-Options": "nosniff"})
