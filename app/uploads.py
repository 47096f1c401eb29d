"""Evidence uploads read from the request body as it arrives (page form and API alike).

`read_upload()` runs the streaming multipart reader (app/storage/multipart.py) over the raw body:
file parts go straight into the store's temporary files while SHA-256 is computed, so a 200 MB
file passes through memory 3 MiB at a time and is written once. The caller publishes each file
(`store.publish`, in services/evidence.py) and discards what is left (`Form.discard()`).

The body is read through WSGI's public interface only (`wsgi.input`, via Werkzeug's stream), so
any WSGI server serves uploads. Its speed is the server's: gunicorn's `wsgi.input` hands out the
body in 1 KiB steps (bench/RESULTS.md, "Uploads through the public interface").

No database access happens while the body is read: callers end their transaction first, so a
slow upload never holds a lock that other users' saves wait for.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from flask import Request, current_app, request
from flask_babel import gettext as _

from app.errors import BadRequest, TooLarge
from app.extensions import db
from app.services import evidence
from app.services import reports as report_service
from app.storage import get_store
from app.storage.multipart import BodyTooLarge, Form, MultipartError, boundary_of, parse

READ_STEP = 1024 * 1024  # bytes asked of the server at once (its buffers hold about this much)


@contextlib.contextmanager
def streamed_upload(user, report_id: int) -> Iterator[Form]:
    """An evidence upload to a report, for the API and the page alike: 404/403/409 before a byte of
    the body is read, the body read with no transaction open, and whatever was not published
    removed afterwards. The caller locks the report again (`for_update`) to add the rows."""
    evidence.check_can_upload(user, report_service.get_visible_report(user, report_id))
    db.session.commit()  # no transaction (and no lock) stays open while the body arrives
    form = read_upload(request, evidence.max_bytes())
    try:
        yield form
    finally:
        form.discard()


def _too_large() -> TooLarge:
    return TooLarge(_("The upload is too large (at most %(mb)s MB).", mb=current_app.config["MAX_UPLOAD_MB"]))


def read_upload(request: Request, max_file_bytes: int) -> Form:
    """The request's fields and staged files. BadRequest (400) for a malformed or cut-off body,
    TooLarge (413) for a body over the limit - with every temporary file removed."""
    max_body = current_app.config.get("MAX_CONTENT_LENGTH")
    if max_body is not None and request.content_length is not None and request.content_length > max_body:
        raise _too_large()
    try:
        boundary = boundary_of(request.headers.get("Content-Type"))
    except MultipartError:
        raise BadRequest(_("Send the file as multipart/form-data in the field 'file'."), {"fields": {"file": "is required"}}) from None
    store = get_store(current_app)
    try:
        return parse(_body_readinto(request), boundary, lambda: store.writer(max_file_bytes), max_body=max_body)
    except BodyTooLarge:
        raise _too_large() from None
    except MultipartError as exc:
        raise BadRequest(_("The upload could not be read: %(reason)s", reason=str(exc))) from None


def _body_readinto(request: Request) -> Callable[[memoryview], int]:
    """The body through the server's public interface: WSGI's `wsgi.input`, read by Werkzeug's
    stream up to Content-Length (or to the end of a chunked body the server terminates), in steps
    of at most READ_STEP so that the server's own buffers stay small."""
    stream = request.stream

    def readinto(view: memoryview) -> int:
        try:
            return stream.readinto(view[:READ_STEP]) or 0
        except OSError as exc:  # the client's connection, not the store (its errors are the server's)
            raise MultipartError(_('the connection was lost. Nothing was stored.')) from exc

    return readinto
