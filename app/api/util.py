"""The API's side of the request edge: query arguments, pagination and responses that never 5xx on
bad input. Bodies are parsed by app/edge.py, the same parser as the pages'."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, current_app, request
from flask_babel import gettext as _
from pydantic import BaseModel
from sqlalchemy import func, select

from app.edge import json_body, parse_json  # noqa: F401 - the API's routes take them from here
from app.errors import BadRequest
from app.extensions import db
from app.schemas.base import page_of
from app.serialize import to_json


def arg_int(name: str, default: int | None = None, minimum: int = 1, maximum: int = 2**31 - 1) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    if not raw.isdigit() or len(raw) > 12:
        raise BadRequest(_("'%(name)s' must be a positive integer.", name=name), {"fields": {name: "must be a positive integer"}})
    return max(minimum, min(int(raw), maximum))


def arg_code(name: str) -> str | None:
    """A discipline code from the query string (D0-D8), or None when absent."""
    from app.method import CODES

    value = request.args.get(name)
    if not value:
        return None
    if value not in CODES:
        raise BadRequest(_("'%(name)s' must be one of D0-D8.", name=name), {"fields": {name: "unknown discipline"}})
    return value


def respond(shape: BaseModel, status: int = 200) -> Response:
    """A shape of app/schemas/ as the JSON response."""
    return current_app.response_class(to_json(shape), status=status, mimetype="application/json")


def created(shape: BaseModel) -> Response:
    return respond(shape, 201)


def paginate(stmt, serialize: Callable[[Any], BaseModel], item: type[BaseModel]) -> Response:
    """One page of `stmt` in the list envelope, each row made an `item` by `serialize`."""
    page = arg_int("page", 1)
    per_page = arg_int("per_page", 50, maximum=200)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique().all()
    return respond(page_of(item)(items=[serialize(x) for x in rows], page=page, per_page=per_page, total=total))
