"""The request edge that pages and the API share: one parser for request bodies, one way to serve a
stored file, one answer to conditional requests. Routes translate between HTTP and the services;
what they have in common lives here, so the two edges behave alike.

Conditional requests: a view that can name its version (app/services/documents.py) sends it as
`ETag` with `Last-Modified` and asks every client to revalidate (`Cache-Control: private,
no-cache`); a client that sends the same `If-None-Match` gets 304 and no body. A 304 carries no
new Content-Security-Policy: the browser keeps the headers of the page it holds, whose scripts
carry that page's nonce.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Response, current_app, request
from flask_babel import gettext as _

from app.errors import BadRequest, TooLarge
from app.models import Attachment
from app.services import documents, evidence
from app.storage.names import content_disposition

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


def serve(att: Attachment, *, inline: bool = False) -> Response:
    """The bytes, verified, with headers that keep a browser from running them."""
    reader = evidence.open_content(att)
    inline = inline and evidence.inline_ok(att)
    response = Response(reader, mimetype=att.content_type, direct_passthrough=True)
    response.headers["Content-Length"] = str(att.size)
    response.headers["Content-Disposition"] = content_disposition(att.filename, attachment=not inline)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["ETag"] = f'"{att.sha256}"'
    return response


def not_modified(view_key: tuple) -> Response | None:
    """304 when the client holds this version of the view, else None."""
    tag = documents.etag(view_key)
    if tag not in request.if_none_match:
        return None
    response = current_app.response_class(status=304)
    response.set_etag(tag)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def validated(response: Response, view_key: tuple, modified) -> Response:
    """The response with its validators, to be revalidated by the client on every use."""
    response.set_etag(documents.etag(view_key))
    response.last_modified = modified
    response.headers["Cache-Control"] = "private, no-cache"
    return response
