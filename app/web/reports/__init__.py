from flask import Blueprint

bp = Blueprint("reports", __name__)

from app.web.pictures import report_pictures  # noqa: E402
from app.web.reports import complaint, evidence, exports, live, routes, tiers, workspace  # noqa: E402,F401

bp.add_app_template_global(report_pictures, "report_pictures")
