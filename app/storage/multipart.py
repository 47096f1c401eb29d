"""A streaming reader of multipart/form-data request bodies for evidence uploads.

Werkzeug's form parser is general and pure Python (about 120-350 MB/s here) and spools every file
into a temporary file that the store would then read, hash and write a second time. This reader
looks for the part boundary with `bytearray.find` in windows of 3 MiB and pushes the bytes of
each file part straight into a `BlobWriter` of the store (SHA-256 + temporary file in the store's
tmp area): one pass over the bytes, never more than its two windows in memory, whatever the size.

It knows nothing of Flask: `parse()` takes a `readinto(memoryview) -> int` callable (0 at the end
of the body), the boundary, and a factory of writers. Problems of the request as a whole raise
`MultipartError` (malformed, cut off, too many parts) or `BodyTooLarge`; every temporary file is
removed then. Problems of a single file (empty, too large, not an accepted type) are left to the
store's `publish()`, so that one bad file among several costs only itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask_babel import gettext as _
from werkzeug.http import parse_options_header

from app.storage.base import BlobWriter, StagedBlob

WINDOW = 3 << 20  # bytes read from the client at a time (two such buffers take turns)
MAX_HEADER_BLOCK = 16 * 1024  # headers of one part
MAX_PREAMBLE = 64 * 1024
MAX_FIELD = 64 * 1024  # a non-file field (descriptions are at most 2,000 characters)
MAX_PARTS = 100


class MultipartError(ValueError):
    """The body is not well-formed multipart/form-data, or it ended early."""


class BodyTooLarge(Exception):
    """More bytes arrived than the request may have."""


@dataclass
class FilePart:
    name: str
    filename: str
    content_type: str
    staged: StagedBlob


@dataclass
class Form:
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: list[FilePart] = field(default_factory=list)

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else default

    def files_named(self, name: str) -> list[FilePart]:
        return [f for f in self.files if f.name == name]

    def discard(self) -> None:
        """Remove the temporary files not published (publishing removes its own)."""
        for f in self.files:
            f.staged.discard()


class _Window:
    """The bytes received and not yet consumed: buf[start:end]. Two buffers take turns, so the
    bytes handed to a writer stay intact while the next ones are received (the writer hashes a
    chunk on a helper thread until its next write)."""

    def __init__(self, readinto: Callable[[memoryview], int], size: int, max_body: int | None) -> None:
        self._buffers = [bytearray(size), bytearray(size)]
        self._turn = 0
        self.buf = self._buffers[0]
        self.view = memoryview(self.buf)
        self.start = self.end = 0
        self.total = 0
        self._readinto = readinto
        self._max_body = max_body

    def fill(self) -> bool:
        """Read more bytes after the unconsumed ones; False at the end of the body."""
        rest = self.view[self.start:self.end]  # small: a partial boundary or header block
        if len(rest) == len(self.buf):
            raise MultipartError(_('A part header is too long.'))
        self._turn ^= 1
        self.buf = self._buffers[self._turn]
        self.view = memoryview(self.buf)
        self.view[: len(rest)] = rest
        self.start, self.end = 0, len(rest)
        n = self._readinto(self.view[self.end:])
        if not n:
            return False
        self.end += n
        self.total += n
        if self._max_body is not None and self.total > self._max_body:
            raise BodyTooLarge()
        return True

    def find(self, needle: bytes, start: int | None = None) -> int:
        return self.buf.find(needle, self.start if start is None else start, self.end)

    def need(self, n: int, what: str) -> None:
        while self.end - self.start < n:
            if not self.fill():
                raise MultipartError(_('The upload ended early (%(what)s); was the connection cut?', what=what))


def boundary_of(content_type: str | None) -> bytes:
    mimetype, options = parse_options_header(content_type or "")
    boundary = options.get("boundary", "")
    if mimetype != "multipart/form-data":
        raise MultipartError(_('Send the file as multipart/form-data.'))
    # RFC 2046 allows 70 characters; clients exceed it (Werkzeug's test client does, now and then),
    # and a longer boundary costs nothing here: accept up to 200 ASCII characters.
    if not boundary or len(boundary) > 200 or not boundary.isascii():
        raise MultipartError(_('The multipart/form-data boundary is missing or invalid.'))
    return boundary.encode("ascii")


def _headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    lines: list[str] = []
    for line in block.decode("utf-8", "replace").split("\r\n"):
        if line[:1] in (" ", "\t") and lines:
            lines[-1] += " " + line.strip()
        elif line:
            lines.append(line)
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep:
            raise MultipartError(_('A part header is malformed.'))
        headers[name.strip().lower()] = value.strip()
    return headers


def parse(readinto: Callable[[memoryview], int], boundary: bytes, new_writer: Callable[[], BlobWriter], *,
          max_body: int | None = None, window: int = WINDOW, max_parts: int = MAX_PARTS, max_field: int = MAX_FIELD) -> Form:
    """Read the whole body; file parts end up as fsynced, hashed temporary files (`FilePart.staged`).
    The caller publishes or discards them (`Form.discard()`)."""
    parser = _Parser(_Window(readinto, window, max_body), boundary, new_writer, max_parts, max_field)
    try:
        parser.run()
    except BaseException:
        if parser.writer is not None:
            parser.writer.abort()
        parser.form.discard()
        raise
    return parser.form


class _Parser:
    def __init__(self, w: _Window, boundary: bytes, new_writer: Callable[[], BlobWriter], max_parts: int, max_field: int) -> None:
        self.w = w
        self.dash_boundary = b"--" + boundary
        self.delimiter = b"\r\n--" + boundary
        self.new_writer = new_writer
        self.max_parts = max_parts
        self.max_field = max_field
        self.form = Form()
        self.writer: BlobWriter | None = None

    def run(self) -> None:
        self._preamble()
        parts = 0
        while True:
            w = self.w
            w.need(2, "after a boundary")
            if w.buf[w.start:w.start + 2] == b"--":
                return  # the close delimiter; an epilogue is ignored
            while (eol := w.find(b"\r\n")) < 0:
                if w.end - w.start > 256 or not w.fill():
                    raise MultipartError(_('The multipart/form-data body is malformed (a boundary line).'))
            if w.buf[w.start:eol].strip(b" \t"):
                raise MultipartError(_('The multipart/form-data body is malformed (a boundary line).'))
            w.start = eol  # keep the CRLF: a part without headers starts with CRLF CRLF
            parts += 1
            if parts > self.max_parts:
                raise MultipartError(_('Too many parts in one upload (at most %(max_parts)s).', max_parts=self.max_parts))
            self._part(self._part_headers())

    def _preamble(self) -> None:
        w = self.w
        seen = 0
        while True:
            i = w.find(self.dash_boundary)
            if i >= 0 and (i == w.start and seen == 0 or w.buf[i - 2:i] == b"\r\n"):
                w.start = i + len(self.dash_boundary)
                return
            keep = len(self.dash_boundary) + 2
            if w.end - w.start > keep:
                seen += w.end - keep - w.start
                w.start = w.end - keep
            if seen > MAX_PREAMBLE or not w.fill():
                raise MultipartError(_('The multipart/form-data body has no parts.'))

    def _part_headers(self) -> dict[str, str]:
        w = self.w
        while (end := w.find(b"\r\n\r\n")) < 0:
            if w.end - w.start > MAX_HEADER_BLOCK:
                raise MultipartError(_('A part header is too long.'))
            if not w.fill():
                raise MultipartError(_('The upload ended early (in a part header); was the connection cut?'))
        if end - w.start > MAX_HEADER_BLOCK:
            raise MultipartError(_('A part header is too long.'))
        headers = _headers(bytes(w.buf[w.start + 2:end]))
        w.start = end + 4
        return headers

    def _part(self, headers: dict[str, str]) -> None:
        kind, options = parse_options_header(headers.get("content-disposition", ""))
        name = options.get("name")
        if kind != "form-data" or name is None:
            raise MultipartError(_('Every part needs a Content-Disposition: form-data header with a name.'))
        is_file = "filename" in options
        value = bytearray()
        if is_file:
            self.writer = self.new_writer()
        w, delimiter = self.w, self.delimiter
        keep = len(delimiter) - 1
        w.need(len(self.dash_boundary), "in a part")
        # An empty part whose header block's last CRLF doubles as the delimiter's (Werkzeug's encoder).
        empty = w.buf.startswith(self.dash_boundary, w.start)
        if empty:
            w.start += len(self.dash_boundary)
        while not empty:
            i = w.find(delimiter)
            stop = i if i >= 0 else w.end - keep
            if stop > w.start:
                chunk = w.view[w.start:stop]
                if self.writer is not None:
                    self.writer.write(chunk)
                else:
                    value += chunk
                    if len(value) > self.max_field:
                        raise MultipartError(_('The form field %(name)s is too long.', name=repr(name)))
                w.start = stop
            if i >= 0:
                w.start = i + len(delimiter)
                break
            if not w.fill():
                raise MultipartError(_('The upload ended early; was the connection cut? Nothing was stored.'))
        if self.writer is not None:
            staged = self.writer.finish()
            self.writer = None
            self.form.files.append(FilePart(name, options.get("filename") or "", headers.get("content-type", ""), staged))
        else:
            self.form.fields.setdefault(name, []).append(value.decode("utf-8", "replace"))
