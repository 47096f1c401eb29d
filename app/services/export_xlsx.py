"""The whole report as an Excel workbook (openpyxl): the header, the team, one sheet per discipline
with its tables, the actions, the evidence files and the customer's reviews.

Safe to open: every text is written as a text cell - never a formula - and a text that a
spreadsheet would take for one when edited or saved as CSV (starting with =, +, -, @, a tab or
a carriage return, also in their full-width forms) carries Excel's quote prefix, so that it stays
text. Characters XML cannot carry are dropped; cells are cut at Excel's 32,767 characters."""

from __future__ import annotations

import io
import re
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill

from app import method
from app.models import Report
from app.services.export import export_document

CELL_MAX = 32767
FORMULA_START = re.compile(r"^[=+\-@\t\r\uff1d\uff0b\uff0d\uff20]")
BOLD = Font(bold=True)
HEAD_FILL = PatternFill("solid", fgColor="DCE6F1")
WRAP = Alignment(wrap_text=True, vertical="top")


def safe_text(value: Any) -> str:
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    return text[:CELL_MAX]


def put(ws, row: int, col: int, value: Any, bold: bool = False):
    """One cell: numbers and booleans as such, everything else as text that is never a formula."""
    cell = ws.cell(row=row, column=col)
    if isinstance(value, bool):
        cell.value = "yes" if value else "no"
    elif isinstance(value, int | float):
        cell.value = value
    elif value is None:
        cell.value = None
    else:
        if isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = "; ".join(f"{k}: {v}" for k, v in value.items())
        text = safe_text(value)
        cell.value = text
        cell.data_type = "s"  # openpyxl would store a text starting with "=" as a formula
        if FORMULA_START.match(text):
            cell.quotePrefix = True
    cell.alignment = WRAP
    if bold:
        cell.font = BOLD
    return cell


def _header_row(ws, row: int, labels: list[str]) -> None:
    for col, label in enumerate(labels, 1):
        put(ws, row, col, label, bold=True).fill = HEAD_FILL


def _rows(ws, start: int, labels: list[str], rows: list[list[Any]]) -> int:
    _header_row(ws, start, labels)
    for r, values in enumerate(rows, start + 1):
        for c, v in enumerate(values, 1):
            put(ws, r, c, v)
    return start + len(rows) + 2


def _name(code: str, title: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", " ", f"{code} {title}")[:31]


def _files(doc: dict) -> dict[int, str]:
    return {a["id"]: a["filename"] for a in doc["attachments"]}


def _shown(field, value: Any, files: dict[int, str]) -> Any:
    if field.type == "evidence":
        return ", ".join(files.get(i, f"#{i}") for i in value or [])
    return value


def _summary(ws, doc: dict) -> None:
    ws.title = _("Report")
    rows = [
        (_("Report number"), doc["number"]), (_("Title"), doc["title"]), (_("Status"), doc["status"]), (_("Stage"), doc["stage"]),
        (_("Outcome"), doc.get("outcome")), (_("Revision"), doc["revision"]), (_("Customer"), doc["oem"]["name"]), (_("Supplier"), doc["supplier"]["name"]),
        (_("Opened"), doc.get("created_at")), (_("Closed"), doc.get("closed_at")),
    ]
    for f in method.HEADER_FIELDS:
        if f.name == "title":
            continue
        value = doc["header"].get(f.name)
        if f.type == "table":
            value = "; ".join(", ".join(f"{k}: {v}" for k, v in row.items() if v not in (None, "")) for row in value or [])
        rows.append((str(f.label), value))
    rows += [(_("Due %(code)s", code=code), due) for code, due in (doc.get("due") or {}).items()]
    rows += [("Exported", doc["exported_at"]), ("Content SHA-256", doc["content_sha256"])]
    for r, (label, value) in enumerate(rows, 1):
        put(ws, r, 1, label, bold=True)
        put(ws, r, 2, value)
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 34, 90


def _discipline(wb, doc: dict, d, files: dict[int, str]) -> None:
    ws = wb.create_sheet(_name(d.code, str(d.title)))
    entry = doc["disciplines"][d.code]
    values = entry.get("fields") or {}
    put(ws, 1, 1, f"{d.code} {d.title}", bold=True)
    put(ws, 2, 1, _("Version %(n)s", n=entry.get("version")))
    row = 4
    for f in d.fields:
        if f.type == "table":
            continue
        put(ws, row, 1, str(f.label), bold=True)
        put(ws, row, 2, _shown(f, values.get(f.name), files))
        row += 1
    for f in d.fields:
        if f.type != "table":
            continue
        row += 1
        put(ws, row, 1, str(f.label), bold=True)
        table = [[_shown(c, r.get(c.name), files) for c in f.columns] for r in values.get(f.name) or []]
        row = _rows(ws, row + 1, [str(c.label) for c in f.columns], table)
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 34, 80


def render_xlsx(report: Report) -> bytes:
    doc = export_document(report)
    files = _files(doc)
    wb = Workbook()
    _summary(wb.active, doc)
    team = wb.create_sheet(_("Team"))
    _rows(team, 1, [_("Name"), _("Company"), _("Side"), _("Function"), _("Role"), _("E-mail")],
          [[m["name"], m["company"]["name"], _("customer") if m["company"]["kind"] == "oem" else _("supplier"), m.get("function"), m["role"], m["email"]]
           for m in doc["team"]])
    for d in method.DISCIPLINES:
        _discipline(wb, doc, d, files)
    actions = wb.create_sheet(_("Actions"))
    _rows(actions, 1, [_("Ref."), _("Kind"), _("Discipline"), _("Title"), _("Description"), _("Owner"), _("Due"), _("Status"), _("Location"), _("Causes"), _("Pre-verification"),
                       _("Implemented on"), _("Target"), _("Verification"), _("Verified by"), _("Evidence")],
          [[a["ref"], a["kind"], a["discipline"], a["title"], a.get("description"), a["owner"]["name"], a.get("due_date"), a["status"],
            a.get("location"), a.get("causes"), a.get("pre_verification"), a.get("implemented_on"), a.get("target"), a.get("verification"),
            (a.get("verified_by") or {}).get("name"),
            ", ".join(files.get(i, f"#{i}") for key in ("evidence", "pre_verification_evidence", "implementation_evidence") for i in a.get(key) or [])]
           for a in doc["actions"]])
    evidence = wb.create_sheet(_("Evidence"))
    _rows(evidence, 1, [_("File"), _("Discipline"), _("Bytes"), _("SHA-256"), _("Uploaded"), _("Withdrawn")],
          [[a["filename"], a.get("discipline"), a.get("size"), a.get("sha256"), a.get("uploaded_at"), a.get("withdrawn_reason") if a.get("withdrawn") else None]
           for a in doc["attachments"]])
    reviews = wb.create_sheet(_("Reviews"))
    _rows(reviews, 1, [_("Stage"), _("Kind"), _("Requested"), _("Decision"), _("Decided by"), _("Decided at"), _("Comment"), _("Signed by"), _("Meaning"), _("Signed content SHA-256")],
          [[r["stage"], r.get("kind"), r.get("requested_at"), r.get("decision"), (r.get("decided_by") or {}).get("name"), r.get("decided_at"),
            r.get("comment"), (r.get("signature") or {}).get("signed_by"), (r.get("signature") or {}).get("meaning"),
            (r.get("signature") or {}).get("content_hash")] for r in doc["reviews"]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
