"""A customer's complaint record (CSV or JSON, as the customer's system exports it) read into the
header of a new report. Nothing is stored: the values fill the "new report" form, the person checks
them and opens the report as usual (the header is validated there, as for typed values).

Accepted: JSON - one object (or a list with one), keys being the header's field names or labels;
CSV - either two columns (field, value) or a row of field names above one row of values, separated
by comma, semicolon or tab, in UTF-8 (with or without BOM) or Windows-1252. Keys are matched
loosely (case, spaces, punctuation) and with the usual names of complaint systems; the parties are
matched by company name among the companies the person may pick. Unknown keys are reported back."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from typing import Any

from flask_babel import gettext as _

from app.errors import Invalid
from app.method import HEADER_FIELDS
from app.models import Company

MAX_BYTES = 256 * 1024
# Names complaint systems use for the header's fields (after normalising: lowercase, letters and digits).
SYNONYMS = {
    "complaintno": "complaint_ref", "complaintnumber": "complaint_ref", "complaintid": "complaint_ref", "claimno": "complaint_ref",
    "claimnumber": "complaint_ref", "qnno": "complaint_ref", "qn": "complaint_ref", "reference": "complaint_ref", "subject": "title",
    "partno": "part_number", "partnumber": "part_number", "supplierpartno": "part_number", "materialno": "part_number",
    "partdescription": "part_name", "customerpartnumber": "customer_part_no", "oempartno": "customer_part_no",
    "plant": "oem_plant", "customerplant": "oem_plant", "supplierplant": "supplier_plant", "lot": "lots", "lots": "lots", "batch": "lots",
    "batches": "lots", "serialnumbers": "lots", "detected": "detected_on", "detectiondate": "detected_on", "date": "detected_on",
    "complaintdate": "detected_on", "detectedat": "detected_at", "location": "detected_at", "type": "complaint_type",
    "defecttype": "complaint_type", "quantity": "qty_complained", "qty": "qty_complained", "defectivequantity": "qty_complained",
    "nokquantity": "qty_complained", "deliveredquantity": "qty_delivered", "returnedquantity": "qty_returned",
    "returndate": "part_return_date", "repeat": "repeat_failure", "customer": "oem", "oem": "oem", "customername": "oem",
    "supplier": "supplier", "suppliername": "supplier",
}
BY_NAME = {f.name: f for f in HEADER_FIELDS if f.name not in ("related_report_id",)}


def _norm(key: Any) -> str:
    return re.sub(r"[^a-z0-9]+", "", str(key).lower())


def _field_for(key: Any) -> str | None:
    n = _norm(key)
    for f in BY_NAME.values():
        if n in (_norm(f.name), _norm(str(f.label))):
            return f.name
    return SYNONYMS.get(n)


def _date(raw: str) -> str | None:
    raw = raw.strip()[:30]
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%Y/%m/%d", "%d.%m.%y", "%Y%m%d"):
        try:
            return dt.datetime.strptime(raw[:10] if fmt == "%Y-%m-%d" else raw, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def _lots(value: Any) -> list[dict]:
    if isinstance(value, list):
        rows = []
        for item in value[:200]:
            if isinstance(item, dict):
                lot = item.get("lot_or_serial") or item.get("lot") or item.get("serial") or item.get("batch")
                rows.append({"lot_or_serial": str(lot)[:200] if lot else None, "qty": _number(item.get("qty") or item.get("quantity"))})
            else:
                rows += _lots(str(item))
        return [r for r in rows if r["lot_or_serial"]]
    rows = []
    for part in re.split(r"[;,\n]+", str(value)):
        m = re.match(r"^\s*(.+?)\s*(?:\((\d+)\)|x\s*(\d+)|:\s*(\d+))?\s*$", part)
        if m and m.group(1).strip():
            qty = next((g for g in m.groups()[1:] if g), None)
            rows.append({"lot_or_serial": m.group(1).strip()[:200], "qty": int(qty) if qty else None})
    return rows[:200]


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return value
    try:
        number = float(str(value).strip().replace(" ", "").replace(",", "."))
    except ValueError:
        return None
    return int(number) if number.is_integer() else number


def _typed(name: str, value: Any) -> Any:
    f = BY_NAME[name]
    if value is None or value == "":
        return None
    if f.type == "table":
        return _lots(value)
    if f.type == "number":
        return _number(value)
    if f.type == "bool":
        text = str(value).strip().lower()
        return True if text in ("yes", "true", "1", "y", "ja", "x") else False if text in ("no", "false", "0", "n", "nein") else None
    if f.type == "date":
        return _date(str(value))
    if f.type == "choice":
        n = _norm(value)
        return next((c.value for c in f.choices if n in (_norm(c.value), _norm(str(c.label)))), None)
    return str(value).strip()[:5000] or None


def _records(data: bytes, filename: str) -> dict[str, Any]:
    if len(data) > MAX_BYTES:
        raise Invalid(_("The complaint file is too large (at most %(n)s KB).", n=MAX_BYTES // 1024), fields={"file": "is too large"})
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    if filename.lower().endswith(".json") or text.lstrip().startswith(("{", "[")):
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            raise Invalid(_("The complaint file is not valid JSON."), fields={"file": "is not valid JSON"}) from None
        if isinstance(doc, list) and len(doc) == 1:
            doc = doc[0]
        if not isinstance(doc, dict):
            raise Invalid(_("The JSON file must hold one complaint (an object)."), fields={"file": "must be one JSON object"})
        return doc
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = [r for r in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in r)][:500]
    if not rows:
        raise Invalid(_("The complaint file is empty."), fields={"file": "is empty"})
    if len(rows) >= 2 and len(rows[0]) > 2 or (len(rows) == 2 and sum(_field_for(c) is not None for c in rows[0]) >= 2):
        return dict(zip(rows[0], rows[1], strict=False))
    return {r[0]: (r[1] if len(r) > 1 else "") for r in rows}


def _company(name: Any, companies: list[Company]) -> int | None:
    n = _norm(name)
    if not n:
        return None
    exact = [c for c in companies if _norm(c.name) == n]
    loose = [c for c in companies if n in _norm(c.name) or _norm(c.name) in n]
    found = exact or loose
    return found[0].id if len(found) == 1 else None


def read_complaint(data: bytes, filename: str, oems: list[Company], suppliers: list[Company]) -> tuple[dict[str, Any], list[str]]:
    """Header values (and oem_id/supplier_id when a company matched) and the keys not used."""
    record = _records(data, filename or "")
    values: dict[str, Any] = {}
    unused: list[str] = []
    for key, raw in list(record.items())[:200]:
        name = _field_for(key)
        if name == "oem":
            values["oem_id"] = _company(raw, oems)
            continue
        if name == "supplier":
            values["supplier_id"] = _company(raw, suppliers)
            continue
        if name is None or name not in BY_NAME:
            unused.append(str(key)[:60])
            continue
        value = _typed(name, raw if not isinstance(raw, dict) else json.dumps(raw))
        if value is None or value == []:
            if raw not in (None, ""):
                unused.append(str(key)[:60])
            continue
        values[name] = value
    if not any(k in values for k in BY_NAME):
        raise Invalid(_("No field of the complaint header was found in the file."), fields={"file": "has no known field"})
    return {k: v for k, v in values.items() if v is not None}, unused
