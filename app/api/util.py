"""Request parsing for the API: bodies, ids and pagination that never 5xx on bad input."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, request
from flask_babel import gettext as _
from pydantic import BaseModel
from sqlalchemy import func, select

from app.errors import BadRequest, TooLarge
from app.extensions import db
from app.schemas.base import page_of
from app.serialize import to_json

#: Deeper JSON is refused: nothing the API takes nests beyond a few levels, and deep structures
#: would exhaust the stack of whatever walks them later (validation, audit, serialisation).
MAX_JSON_DEPTH = 32

_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_json(raw: bytes | str) -> Any:
    """The one JSON parser for request input (API bodies, the presence heartbeat, JSON in form
    fields): valid UTF-8, no nesting beyond MAX_JSON_DEPTH (100,000 levels included), and no lone
    surrogates (a `"\ud800"` escape is valid JSON but no text: it would fail wherever the string
    is encoded later) - anything else is BadRequest (400), never a 5xx."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes | bytearray) else raw
        data = json.loads(text)
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise BadRequest(_('The request body is not valid JSON (UTF-8).')) from None
    stack = [(data, 1)]
    while stack:  # iterative: the check itself must not recurse
        value, depth = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise BadRequest(_('The JSON contains an invalid character (a lone UTF-16 surrogate).'))
        elif isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise BadRequest(_('The JSON is nested too deeply (at most %(MAX_JSON_DEPTH)s levels).', MAX_JSON_DEPTH=MAX_JSON_DEPTH))
            items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
            for key, item in items:
                if key is not None:
                    stack.append((key, depth))
                stack.append((item, depth + 1))
    return data


def json_body(required: bool = True) -> dict:
    length = request.content_length
    limit = current_app.config["MAX_JSON_BYTES"]
    if length is not None and length > limit:
        raise TooLarge(_('The request body is too large (at most %(value)s KB).', value=limit // 1024))
    raw = request.get_data(cache=True)
    if len(raw) > limit:
        raise TooLarge(_('The request body is too large (at most %(value)s KB).', value=limit // 1024))
    if not raw.strip():
        if required:
            raise BadRequest(_('A JSON object is required in the request body.'))
        return {}
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise BadRequest(_('The request body must be a JSON object.'))
    return data


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
