"""`GET /healthz` for load balancers, container health checks and the process manager: 200
`{"status": "ok"}` when the database answers a query, else 503. No login, no details (docs/api.md,
"Health"): what is wrong goes to the log, not to whoever asks."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()  # nothing to keep; hands the connection back at once
    except SQLAlchemyError as exc:
        current_app.logger.warning("healthz: the database does not answer: %s", type(exc).__name__)
        try:
            db.session.rollback()
        except SQLAlchemyError:
            pass
        response = jsonify({"status": "unavailable"})
        response.status_code = 503
    else:
        response = jsonify({"status": "ok"})
    response.headers["Cache-Control"] = "no-store"
    return response
