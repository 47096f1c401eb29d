from flask import Blueprint

bp = Blueprint("reports", __name__)

from app.web.reports import complaint, evidence, exports, live, routes, workspace  # noqa: E402,F401
