"""The 8D method in one place: fields (definition), completion rules (rules) and examples.

Everything else - forms, API validation, templates, the PDF - reads from here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, has_app_context

from app.method.definition import (
    BY_CODE,
    CODES,
    DEFAULT_DUE_DAYS,
    DEFAULT_REVIEW_POINTS,
    DISCIPLINES,
    HEADER_BY_NAME,
    HEADER_FIELDS,
    Discipline,
)
from app.method.examples import EXAMPLE_ACTION_UPDATES, EXAMPLE_ACTIONS, EXAMPLE_EVIDENCE, EXAMPLES, HEADER_EXAMPLE
from app.method.fields import clean_values
from app.method.rules import BLOCK, WARN, Finding, GateContext, check_discipline, gate_missing_items

__all__ = [
    "BY_CODE",
    "CODES",
    "DISCIPLINES",
    "HEADER_FIELDS",
    "HEADER_BY_NAME",
    "EXAMPLES",
    "EXAMPLE_ACTIONS",
    "EXAMPLE_ACTION_UPDATES",
    "EXAMPLE_EVIDENCE",
    "HEADER_EXAMPLE",
    "BLOCK",
    "WARN",
    "Discipline",
    "Finding",
    "GateContext",
    "check_discipline",
    "gate_missing_items",
    "clean_values",
    "review_points",
    "due_days",
    "next_code",
    "due_dates",
    "on_save",
    "method_json",
]


def review_points() -> tuple[str, ...]:
    if has_app_context():
        configured = current_app.config.get("REVIEW_POINTS")
        if configured:
            points = tuple(c for c in configured if c in CODES)
            # The closure is always reviewed: only the customer closes an 8D.
            return tuple(sorted(set(points) | {"D8"}, key=CODES.index))
    return DEFAULT_REVIEW_POINTS


def due_days() -> dict[str, int | None]:
    days: dict[str, int | None] = dict(DEFAULT_DUE_DAYS)
    override = current_app.config.get("DUE_DAYS_OVERRIDE", "") if has_app_context() else ""
    for part in filter(None, (p.strip() for p in override.split(","))):
        code, _, n = part.partition("=")
        if code.strip() in days and n.strip().isdigit():
            days[code.strip()] = int(n)
    return days


def due_dates(complaint_date: dt.date) -> dict[str, str]:
    return {
        code: (complaint_date + dt.timedelta(days=n)).isoformat()
        for code, n in due_days().items()
        if n is not None
    }


def next_code(code: str) -> str | None:
    i = CODES.index(code)
    return CODES[i + 1] if i + 1 < len(CODES) else None


# What verifying a cause consists of: changing these does not void the verification.
VERIFICATION_COLUMNS = frozenset({"id", "conclusion", "verified_by", "verified_on"})


def on_save(code: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Rules that act on a save rather than at the gate. Returns notes for the audit trail.

    D4: editing any part of a verified cause (its statement, kind, method, result, evidence,
    contribution ...) resets its conclusion to pending and clears who verified it and when - a
    changed cause has not been verified.
    """
    notes: list[str] = []
    if code == "D4" and "causes" in new:
        before = {r.get("id"): r for r in old.get("causes") or []}
        for row in new["causes"] or []:
            prev = before.get(row.get("id"))
            if prev is None or prev.get("conclusion") != "passed" or row.get("conclusion") != "passed":
                continue
            changed = sorted(k for k in set(prev) | set(row) if k not in VERIFICATION_COLUMNS and _norm(prev.get(k)) != _norm(row.get(k)))
            if changed:
                row["conclusion"] = "pending"
                row.pop("verified_by", None)
                row.pop("verified_on", None)
                notes.append(f"cause {row.get('ref') or row.get('id')} changed after verification ({', '.join(changed)}): reset to pending")
    return notes


def _norm(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def method_json() -> dict:
    points = review_points()
    days = due_days()
    return {
        "header": {"fields": [f.as_json() for f in HEADER_FIELDS], "example": HEADER_EXAMPLE},
        "example_evidence": [
            {"placeholder": pid, "discipline": code, "filename": name, "description": what} for pid, (code, name, what) in EXAMPLE_EVIDENCE.items()
        ],
        "disciplines": [
            {
                "code": d.code,
                "title": str(d.title),
                "purpose": str(d.purpose),
                "review_point": d.code in points,
                "due_days": days.get(d.code),
                "fields": [f.as_json() for f in d.fields],
                "example": _example(d.code),
            }
            for d in DISCIPLINES
        ],
    }


def _example(code: str) -> dict:
    out = dict(EXAMPLES[code])
    if code in EXAMPLE_ACTIONS:
        out["actions"] = EXAMPLE_ACTIONS[code]
    if code in EXAMPLE_ACTION_UPDATES:
        out["action_updates"] = EXAMPLE_ACTION_UPDATES[code]
    return out
