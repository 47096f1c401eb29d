from flask import Blueprint

bp = Blueprint("reports", __name__)

from app.web.reports import live, routes  # noqa: E402,F401
