"""The "new report" page filled from a customer's complaint record (CSV or JSON upload): the values
are shown in the form for the person to check; the report is opened with the form's own button."""

from __future__ import annotations

from flask import abort, flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import validate_csrf

from app import policy
from app.errors import Invalid
from app.method import HEADER_FIELDS
from app.models import CompanyKind
from app.services.complaint_import import MAX_BYTES, read_complaint
from app.web.reports import bp
from app.web.reports.routes import party_choices


@bp.route("/reports/new/import", methods=["POST"])
@login_required
def import_complaint():
    if not policy.can_create_report(current_user):
        abort(403)
    if request.content_length is not None and request.content_length > 4 * MAX_BYTES:
        abort(413)
    validate_csrf(request.form.get("csrf_token"))
    oems, suppliers = party_choices()
    own = "oem_id" if current_user.company.kind == CompanyKind.oem else "supplier_id"
    values: dict = {own: current_user.company_id}
    errors: dict[str, str] = {}
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        errors["_"] = _("Choose the customer's complaint file (CSV or JSON).")
    else:
        try:
            read, unused = read_complaint(upload.stream.read(MAX_BYTES + 1), upload.filename, oems, suppliers)
            values.update({k: v for k, v in read.items() if v is not None})
            values.setdefault(own, current_user.company_id)
            flash(_("The header was filled from %(file)s. Check the values, then open the report.", file=upload.filename[:100]), "success")
            if unused:
                flash(_("Not used from the file: %(keys)s.", keys=", ".join(unused[:20])), "warning")
        except Invalid as exc:
            errors["_"] = exc.message
    return render_template("reports/new.html", fields=HEADER_FIELDS, values=values, errors=errors, oems=oems, suppliers=suppliers), (422 if errors else 200)
