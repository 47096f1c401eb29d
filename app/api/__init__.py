"""The JSON API v1 (docs/api.md): same services as the pages underneath."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from app.api import (  # noqa: E402,F401
    auth,
    routes_actions,
    routes_admin,
    routes_evidence,
    routes_kpis,
    routes_learning,
    routes_openapi,
    routes_reports,
    routes_session,
    routes_tiers,
    routes_webhooks,
)
