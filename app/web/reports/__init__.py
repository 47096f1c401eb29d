from flask import Blueprint

bp = Blueprint("reports", __name__)

from app.web.reports import evidence, live, routes, tiers  # noqa: E402,F401
