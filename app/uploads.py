"""Evidence uploads read from the request body as it arrives (page form and API alike).

`read_upload()` runs the streaming multipart reader (app/storage/multipart.py) over the raw body:
file parts go straight into the store's temporary files while SHA-256 is computed, so a 200 MB
file passes through memory 3 MiB at a time and is written once. The caller publishes each file
(`store.publish`, in services/evidence.py) and discards what is left (`Form.discard()`).

The body is read through gunicorn's socket when the request came through gunicorn with a
Content-Length (gunicorn's own reader hands out the body in 1 KiB steps, which caps an upload at a
few hundred MB/s); any other server, and chunked bodies, go through the WSGI input stream.

No database access happens while the body is read: callers end their transaction first, so a
slow upload never holds a lock that other users' saves wait for.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator

from flask import Request, current_app, request
from flask_babel import gettext as _

from app.errors import BadRequest, TooLarge
from app.extensions import db
from app.services import evidence
from app.services import reports as report_service
from app.storage import get_store
from app.storage.multipart import BodyTooLarge, Form, MultipartError, boundary_of, parse


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
    fast = _gunicorn_readinto(request.environ)
    if fast is not None:
        return fast
    stream = request.stream  # Werkzeug's stream, limited to Content-Length / MAX_CONTENT_LENGTH

    def readinto(view: memoryview) -> int:
        try:
            return stream.readinto(view) or 0
        except OSError as exc:  # the client's connection, not the store (its errors are the server's)
            raise MultipartError(_('the connection was lost. Nothing was stored.')) from exc

    return readinto


def _gunicorn_readinto(environ: dict) -> Callable[[memoryview], int] | None:
    """Read a Content-Length body straight from gunicorn's socket, keeping gunicorn's count of the
    bytes left (`LengthReader.length`) right so that keep-alive and the next request work."""
    body = environ.get("wsgi.input")
    reader = getattr(body, "reader", None)
    unreader = getattr(reader, "unreader", None)
    sock = getattr(unreader, "sock", None)
    body_buf = getattr(body, "buf", None)
    if (type(reader).__name__ != "LengthReader" or sock is None or not isinstance(getattr(reader, "length", None), int)
            or not isinstance(body_buf, io.BytesIO) or body_buf.tell()
            or not isinstance(getattr(unreader, "buf", None), io.BytesIO)):
        return None
    received = unreader.buf.getvalue()  # bytes gunicorn took off the socket with the headers
    pending = memoryview(received[: reader.length])
    unreader.buf = io.BytesIO()
    unreader.buf.write(received[len(pending):])  # a pipelined next request stays gunicorn's

    def readinto(view: memoryview) -> int:
        nonlocal pending
        want = min(len(view), reader.length)
        if want <= 0:
            return 0
        if pending:
            n = min(want, len(pending))
            view[:n] = pending[:n]
            pending = pending[n:]
        else:
            try:
                n = sock.recv_into(view, want)
            except OSError as exc:  # the client's connection, not the store (its errors are the server's)
                raise MultipartError(_('the connection was lost. Nothing was stored.')) from exc
            if n == 0:
                return 0
        reader.length -= n
        return n

    return readinto
