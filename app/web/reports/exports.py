"""Downloads of a whole report: the PDF in the standard layout or in the layout a customer
prescribes (?layout=vda|g8d), and the Excel workbook. Who may export: policy.can_export."""

from __future__ import annotations

from flask import Response, abort, request
from flask_login import current_user, login_required

from app import policy
from app.edge import not_modified, validated
from app.services import documents
from app.services.reports import get_visible_report
from app.web.reports import bp


@bp.route("/reports/<int:report_id>/export.pdf")
@login_required
def export_pdf(report_id: int):
    from app.services.export_forms import LAYOUT_NAMES

    layout = request.args.get("layout") or "standard"
    if layout not in LAYOUT_NAMES:
        abort(400)
    report = get_visible_report(current_user, report_id)
    if not policy.can_export(current_user, report):
        abort(404)
    view = documents.key(report, "pdf", layout, current_user.company_id)
    unchanged = not_modified(view)
    if unchanged is not None:
        return unchanged
    suffix = "" if layout == "standard" else f"-{layout}"
    return validated(Response(documents.report_pdf(view, report, layout), mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{report.number}-rev{report.revision}{suffix}.pdf"',
        "X-Content-Type-Options": "nosniff",
    }), view, documents.last_modified(report))


@bp.route("/reports/<int:report_id>/export.xlsx")
@login_required
def export_xlsx(report_id: int):
    """The whole report as an Excel workbook; every text a text cell, never a formula."""
    from app.services.export_xlsx import render_xlsx

    report = get_visible_report(current_user, report_id)
    if not policy.can_export(current_user, report):
        abort(404)
    return Response(render_xlsx(report), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", headers={
        "Content-Disposition": f'attachment; filename="{report.number}-rev{report.revision}.xlsx"',
        "X-Content-Type-Options": "nosniff",
    })
