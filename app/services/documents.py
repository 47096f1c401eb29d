"""What is kept of a report's views, and how a client knows it still has the latest.

A report's JSON document, its workspace page and its PDF are computed from the database. Each is
kept (in this process) under the report's *version*: its change counter and the accounts
generation, which only app/models/changes.py moves (no feature has to remember to invalidate
anything), and the day, because overdue marks follow the calendar. The same version makes the
HTTP validator (`ETag`) of each view, so a client that already holds the latest copy gets a 304
without the server reading anything but the report's row.

Nothing here reads the request: the edge (app/edge.py) asks for the validator and the
body, and answers the client.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from flask_babel import get_locale

from app.models import Report, accounts_generation, utcnow


class Kept:
    """A bounded, thread-safe store of computed values, least recently used out first. Bounded by
    entries and, for large values such as PDFs, by their total size in bytes."""

    def __init__(self, entries: int, max_bytes: int | None = None) -> None:
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._entries = entries
        self._max_bytes = max_bytes
        self._bytes = 0

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            self._items.move_to_end(key)
            return hit[0]

    def put(self, key: Hashable, value: Any, size: int = 0) -> Any:
        if self._max_bytes is not None and size > self._max_bytes:
            return value  # larger than the whole store: served, not kept
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (value, size)
            self._bytes += size
            while len(self._items) > self._entries or (self._max_bytes is not None and self._bytes > self._max_bytes):
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped
        return value

    def get_or_make(self, key: Hashable, make: Callable[[], Any], size: Callable[[Any], int] | None = None) -> Any:
        hit = self.get(key)
        if hit is not None:
            return hit
        value = make()
        return self.put(key, value, size(value) if size else 0)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


def version(report: Report) -> tuple:
    """Everything a view of the report may depend on besides the viewer: the report (its id and
    creation, so a reused id in a fresh database never matches), its change counter, the accounts
    generation (names, roles and companies shown in it) and the day (overdue marks)."""
    return (report.id, report.created_at.isoformat(), report.change_counter, accounts_generation(), utcnow().date().isoformat())


def key(report: Report, kind: str, *vary: Hashable) -> tuple:
    """The key of one view: its kind, the report's version, the language and what else the view
    varies with (the viewer's side, the page's query string...)."""
    return (kind, version(report), str(get_locale()), *vary)


def etag(view_key: tuple) -> str:
    """A strong validator of one view: a digest of its key, never of the server's secrets."""
    return hashlib.sha256(repr(view_key).encode()).hexdigest()[:32]


def last_modified(report: Report):
    """The report's last change, or the start of today if later: overdue marks change at midnight."""
    import datetime as dt

    midnight = dt.datetime.combine(utcnow().date(), dt.time())
    return max(report.updated_at, midnight)


# The kept views of every report. The JSON document is a few tens of kilobytes, PDFs up to a few
# megabytes: the PDF store is bounded by size.
JSON_DOCUMENTS = Kept(entries=1024)
PAGES = Kept(entries=512)
FRAGMENTS = Kept(entries=512)
PDFS = Kept(entries=128, max_bytes=64 * 1024 * 1024)
FINDINGS = Kept(entries=512)


def report_json(view: tuple, report: Report, viewer) -> bytes:
    """The report's JSON document as `viewer` sees it (its cascade links depend on the viewer's
    company, which `view` - a key of `key(report, "json", company id)` - holds)."""
    from app.serialize import as_report, to_json

    return JSON_DOCUMENTS.get_or_make(view, lambda: to_json(as_report(report, viewer)))


def report_pdf(view: tuple, report: Report, layout: str = "standard") -> bytes:
    """The report's PDF in `layout` (standard, or a customer's form) under `view` (a key of
    `key(report, "pdf", layout, ...)`)."""
    from app.services.export import render_pdf
    from app.services.export_forms import render_layout_pdf

    return PDFS.get_or_make(view, lambda: render_pdf(report) if layout == "standard" else render_layout_pdf(report, layout), size=len)
