"""Field types of the 8D method and the validation of values sent by forms and the API.

A discipline's values are a flat JSON object: scalars for text/number/date/choice/bool fields,
lists of attachment ids for evidence fields, and lists of row objects for tables. Every table row
carries a stable `id` (assigned by the server when missing) so that rows can be told apart when
two people edit the same table.

An `evidence` field (or table column) claims proof: its value lists the ids of files uploaded to
the same report. Here only the shape is checked; that every id is a live attachment of the report
is checked by the service that saves (it knows the report), and the gates count live files.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from app.errors import BadRequest, Invalid

MAX_TEXT = 20_000
MAX_SHORT = 500
MAX_ROWS = 500
MAX_EVIDENCE = 100  # attachment ids in one evidence value
FIELD_TYPES = ("text", "number", "date", "choice", "bool", "evidence", "table")


@dataclass(frozen=True)
class Choice:
    value: str
    label: Any

    def as_json(self) -> dict:
        return {"value": self.value, "label": str(self.label)}


@dataclass(frozen=True)
class Field:
    name: str
    label: Any
    type: str = "text"
    required: bool = False
    choices: tuple[Choice, ...] = ()
    columns: tuple[Field, ...] = ()
    help: Any = ""
    multiline: bool = True
    min: float | None = None
    max: float | None = None
    key: bool = False  # a short identifier column (e.g. "C1") that other disciplines refer to
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        assert self.type in FIELD_TYPES, self.type

    def as_json(self) -> dict:
        out: dict[str, Any] = {
            "name": self.name,
            "label": str(self.label),
            "type": self.type,
            "required": self.required,
        }
        if self.help:
            out["help"] = str(self.help)
        if self.choices:
            out["choices"] = [c.as_json() for c in self.choices]
        if self.columns:
            out["columns"] = [c.as_json() for c in self.columns]
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        return out

    def column(self, name: str) -> Field | None:
        return next((c for c in self.columns if c.name == name), None)

    def choice_label(self, value: Any) -> str:
        for c in self.choices:
            if c.value == value:
                return str(c.label)
        return "" if value is None else str(value)


def choices(*pairs: tuple[str, Any]) -> tuple[Choice, ...]:
    return tuple(Choice(v, label) for v, label in pairs)


def text(name, label, required=False, multiline=True, **kw) -> Field:
    return Field(name, label, "text", required, multiline=multiline, **kw)


def line(name, label, required=False, **kw) -> Field:
    return Field(name, label, "text", required, multiline=False, **kw)


def number(name, label, required=False, **kw) -> Field:
    return Field(name, label, "number", required, **kw)


def date(name, label, required=False, **kw) -> Field:
    return Field(name, label, "date", required, **kw)


def choice(name, label, options, required=False, **kw) -> Field:
    return Field(name, label, "choice", required, choices=options, **kw)


def boolean(name, label, required=False, **kw) -> Field:
    return Field(name, label, "bool", required, **kw)


def evidence(name, label, required=False, **kw) -> Field:
    """Files that prove a claim: a list of attachment ids of the same report."""
    return Field(name, label, "evidence", required, **kw)


def table(name, label, columns, required=False, **kw) -> Field:
    return Field(name, label, "table", required, columns=tuple(columns), **kw)


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------

def evidence_paths(fields: tuple[Field, ...], values: dict[str, Any]) -> list[tuple[str, Field, list, Field | None, dict | None]]:
    """Every evidence value in `values`: (path, field, ids, column, row) - path as in error
    details ("validation_evidence", "causes[2].evidence"); column and row for table cells."""
    out = []
    for f in fields:
        value = values.get(f.name)
        if f.type == "evidence":
            out.append((f.name, f, list(value or []), None, None))
        elif f.type == "table":
            for i, row in enumerate(value or []):
                for c in f.columns:
                    if c.type == "evidence" and isinstance(row, dict):
                        out.append((f"{f.name}[{i}].{c.name}", f, list(row.get(c.name) or []), c, row))
    return out


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def new_row_id() -> str:
    return secrets.token_hex(4)


def parse_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


class _Errors:
    def __init__(self) -> None:
        self.types: dict[str, str] = {}
        self.values: dict[str, str] = {}


def _clean_scalar(f: Field, value: Any, path: str, errors: _Errors) -> Any:
    """The value of one field of a scalar type, or None with its error noted in `errors`."""
    if value is None:
        return None
    return _CLEANERS[f.type](f, value, path, errors)


def _clean_text(f: Field, value: Any, path: str, errors: _Errors) -> Any:
    if not isinstance(value, str):
        errors.types[path] = "must be a string"
        return None
    limit = MAX_TEXT if f.multiline else MAX_SHORT
    if len(value) > limit:
        errors.values[path] = f"is too long (at most {limit} characters)"
        return None
    if "\x00" in value:
        errors.values[path] = "contains a NUL character"
        return None
    return value


def _clean_number(f: Field, value: Any, path: str, errors: _Errors) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        errors.types[path] = "must be a number"
        return None
    if value != value or value in (float("inf"), float("-inf")):
        errors.values[path] = "must be a finite number"
        return None
    if f.min is not None and value < f.min:
        errors.values[path] = f"must be at least {f.min:g}"
        return None
    if f.max is not None and value > f.max:
        errors.values[path] = f"must be at most {f.max:g}"
        return None
    if abs(value) > 1e12:
        errors.values[path] = "is out of range"
        return None
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _clean_date(f: Field, value: Any, path: str, errors: _Errors) -> Any:
    if not isinstance(value, str):
        errors.types[path] = "must be a date string YYYY-MM-DD"
        return None
    if value == "":
        return None
    parsed = parse_date(value)
    if parsed is None or not (1900 <= parsed.year <= 2200):
        errors.values[path] = "must be a valid date YYYY-MM-DD"
        return None
    return parsed.isoformat()


def _clean_choice(f: Field, value: Any, path: str, errors: _Errors) -> Any:
    if not isinstance(value, str):
        errors.types[path] = "must be a string"
        return None
    if value == "":
        return None
    if value not in {c.value for c in f.choices}:
        errors.values[path] = "must be one of: " + ", ".join(c.value for c in f.choices)
        return None
    return value


def _clean_bool(f: Field, value: Any, path: str, errors: _Errors) -> Any:
    if not isinstance(value, bool):
        errors.types[path] = "must be true or false"
        return None
    return value


def _clean_evidence(f: Field, value: Any, path: str, errors: _Errors) -> Any:
    if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
        errors.types[path] = "must be a list of attachment ids (integers)"
        return None
    if len(value) > MAX_EVIDENCE:
        errors.values[path] = f"lists too many files (at most {MAX_EVIDENCE})"
        return None
    if any(not 0 < v <= 2**31 - 1 for v in value):
        errors.values[path] = "must list ids of attachments of this report"
        return None
    return list(dict.fromkeys(value)) or None  # in order, each once


_CLEANERS = {"text": _clean_text, "number": _clean_number, "date": _clean_date, "choice": _clean_choice, "bool": _clean_bool, "evidence": _clean_evidence}


def _clean_table(f: Field, value: Any, path: str, errors: _Errors) -> list | None:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.types[path] = "must be a list of rows"
        return None
    if len(value) > MAX_ROWS:
        errors.values[path] = f"has too many rows (at most {MAX_ROWS})"
        return None
    rows = []
    seen_ids: set[str] = set()
    for i, row in enumerate(value):
        rpath = f"{path}[{i}]"
        if not isinstance(row, dict):
            errors.types[rpath] = "must be an object keyed by column name"
            continue
        clean: dict[str, Any] = {}
        row_id = row.get("id")
        if row_id is not None and (not isinstance(row_id, str) or not 1 <= len(row_id) <= 40):
            errors.values[f"{rpath}.id"] = "must be a short string"
            continue
        if row_id and row_id not in seen_ids:
            seen_ids.add(row_id)
            clean["id"] = row_id
        for key, cell in row.items():
            if key == "id":
                continue
            col = f.column(key) if isinstance(key, str) else None
            if col is None:
                errors.values[f"{rpath}.{key}"] = "is not a column of this table"
                continue
            cleaned = _clean_scalar(col, cell, f"{rpath}.{key}", errors)
            if cleaned is not None:
                clean[key] = cleaned
        if any(k != "id" for k in clean):  # empty rows are dropped
            rows.append(clean)
    return rows


def assign_row_ids(rows: list[dict], known: list[list[dict]]) -> None:
    """Give rows sent without an `id` the id of an identical known row, or a new one, so that
    integrators who send whole tables keep stable row identities for per-row merging."""
    pool: dict[str, str] = {}
    for candidates in known:
        for r in candidates or []:
            if r.get("id"):
                pool.setdefault(_row_key(r), r["id"])
    used = {r["id"] for r in rows if r.get("id")}
    for r in rows:
        if not r.get("id"):
            rid = pool.get(_row_key(r))
            r["id"] = rid if rid and rid not in used else new_row_id()
            used.add(r["id"])


def _row_key(row: dict) -> str:
    return repr(sorted((k, v) for k, v in row.items() if k != "id"))


def clean_values(fields: tuple[Field, ...], data: Any, what: str = "fields") -> dict[str, Any]:
    """Validate `data` (only the fields being changed) against `fields`.

    Wrong JSON types raise BadRequest (400); values that break a rule or unknown names raise
    Invalid (422). Returns the cleaned values, with blanks normalised to None / [].
    """
    if not isinstance(data, dict):
        raise BadRequest(_("'%(what)s' must be an object", what=what), {"fields": {what: "must be an object"}})
    by_name = {f.name: f for f in fields}
    errors = _Errors()
    out: dict[str, Any] = {}
    for name, value in data.items():
        f = by_name.get(name)
        if f is None:
            errors.values[str(name)] = "is not a field of this discipline"
            continue
        if f.type == "table":
            cleaned = _clean_table(f, value, name, errors)
        else:
            cleaned = _clean_scalar(f, value, name, errors)
            if isinstance(cleaned, str) and f.type == "text" and not cleaned.strip():
                cleaned = None
        if name not in errors.types and not any(k.startswith(name + "[") for k in errors.types):
            out[name] = cleaned
    if errors.types:
        raise BadRequest(_('Some values have the wrong type.'), {"fields": errors.types})
    if errors.values:
        raise Invalid(_('Some values are not valid.'), fields=errors.values)
    return out
