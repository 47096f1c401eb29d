"""Request parsing for the API: bodies, ids and pagination that never 5xx on bad input."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, jsonify, request
from sqlalchemy import func, select

from app.errors import BadRequest, TooLarge
from app.extensions import db


def json_body(required: bool = True) -> dict:
    length = request.content_length
    limit = current_app.config["MAX_JSON_BYTES"]
    if length is not None and length > limit:
        raise TooLarge(f"The request body is too large (at most {limit // 1024} KB).")
    raw = request.get_data(cache=True)
    if len(raw) > limit:
        raise TooLarge(f"The request body is too large (at most {limit // 1024} KB).")
    if not raw.strip():
        if required:
            raise BadRequest("A JSON object is required in the request body.")
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise BadRequest("The request body is not valid JSON (UTF-8).") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    return data


def arg_int(name: str, default: int | None = None, minimum: int = 1, maximum: int = 2**31 - 1) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    if not raw.isdigit() or len(raw) > 12:
        raise BadRequest(f"'{name}' must be a positive integer.", {"fields": {name: "must be a positive integer"}})
    return max(minimum, min(int(raw), maximum))


def arg_code(name: str) -> str | None:
    """A discipline code from the query string (D0-D8), or None when absent."""
    from app.method import CODES

    value = request.args.get(name)
    if not value:
        return None
    if value not in CODES:
        raise BadRequest(f"'{name}' must be one of D0-D8.", {"fields": {name: "unknown discipline"}})
    return value


def paginate(stmt, serialize) -> Any:
    page = arg_int("page", 1)
    per_page = arg_int("per_page", 50, maximum=200)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique().all()
    return jsonify({"items": [serialize(x) for x in items], "page": page, "per_page": per_page, "total": total})


def created(payload: dict):
    response = jsonify(payload)
    response.status_code = 201
    return response
