from flask import Blueprint

bp = Blueprint("kpis", __name__)

from app.web.kpis import routes  # noqa: E402,F401
