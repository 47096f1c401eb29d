"""Conditional requests, the one place pages and the API answer them.

A view that can name its version (app/services/documents.py) sends it as `ETag` with
`Last-Modified`, and asks every client to revalidate (`Cache-Control: private, no-cache`): a client
that sends the same `If-None-Match` gets 304 and no body. A 304 carries no new Content-Security-
Policy: the browser keeps the headers of the page it holds, whose scripts carry that page's nonce.
"""

from __future__ import annotations

from flask import Response, current_app, request

from app.services import documents


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
