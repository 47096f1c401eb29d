"""GET /api/v1/openapi.json: the API described as OpenAPI 3.1 (public)."""

from __future__ import annotations

from flask import jsonify

from app.api import bp
from app.api.auth import public
from app.api.openapi import build_spec


@bp.route("/openapi.json", methods=["GET"])
@public
def openapi_spec():
    return jsonify(build_spec())
