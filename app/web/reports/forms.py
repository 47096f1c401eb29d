"""Forms of the report pages. The discipline form is generated from the method definition:
`f.<field>` for values, `t.<table>.<row>.<column>` for table cells (with `t.<table>.<row>.id`)."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.method.fields import Field

_CELL = re.compile(r"^t\.([a-z0-9_]+)\.(\d{1,4})\.([a-z0-9_]+)$")


def _scalar_from_form(f: Field, raw: str | None, path: str, errors: dict[str, str]) -> Any:
    raw = (raw or "").strip() if f.type != "text" or not f.multiline else (raw or "")
    if f.type == "text":
        return raw.replace("\r\n", "\n") if raw.strip() else None
    if raw == "":
        return None
    if f.type == "number":
        try:
            value = float(raw.replace(",", "."))
        except ValueError:
            errors[path] = str(_l("must be a number"))
            return None
        return int(value) if value.is_integer() else value
    if f.type == "bool":
        if raw in ("yes", "true", "1"):
            return True
        if raw in ("no", "false", "0"):
            return False
        errors[path] = str(_l("choose yes or no"))
        return None
    return raw  # date and choice: validated by clean_values


def _evidence_from_form(raw: list[str], path: str, errors: dict[str, str]) -> list[int] | None:
    """The files picked for an evidence field (checkboxes or a multiple select): attachment ids."""
    ids = []
    for value in raw:
        if not value.isdigit() or len(value) > 10:
            errors[path] = str(_l("must list files of this report"))
            return None
        ids.append(int(value))
    return ids or None


def values_from_form(fields: tuple[Field, ...], form) -> tuple[dict[str, Any], dict[str, str]]:
    """Turn a submitted discipline form into typed values (all fields present on the form)."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    present = set(form.getlist("present"))
    for f in fields:
        if f.name not in present:
            continue
        if f.type == "evidence":
            values[f.name] = _evidence_from_form(form.getlist(f"f.{f.name}"), f.name, errors)
        elif f.type != "table":
            values[f.name] = _scalar_from_form(f, form.get(f"f.{f.name}"), f.name, errors)
    rows: dict[str, dict[int, dict[str, Any]]] = {}
    by_name = {f.name: f for f in fields}
    for key in form.keys():
        m = _CELL.match(key)
        if not m or m.group(1) not in by_name or m.group(1) not in present:
            continue
        table, idx, col = m.group(1), int(m.group(2)), m.group(3)
        row = rows.setdefault(table, {}).setdefault(idx, {})
        if col == "id":
            if form.get(key):
                row["id"] = form.get(key)[:40]
            continue
        column = by_name[table].column(col)
        if column is None:
            continue
        if column.type == "evidence":
            value = _evidence_from_form(form.getlist(key), f"{table}[{idx}].{col}", errors)
        else:
            value = _scalar_from_form(column, form.get(key), f"{table}[{idx}].{col}", errors)
        if value is not None:
            row[col] = value
    for f in fields:
        if f.type == "table" and f.name in present:
            values[f.name] = [r for _, r in sorted(rows.get(f.name, {}).items()) if any(k != "id" for k in r)]
    return values, errors


class AdvanceForm(FlaskForm):
    comment = TextAreaField(_l("Comment (optional)"), validators=[Optional(), Length(max=5000)])


class ReviewForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=[("approve", _l("Approve")), ("reject", _l("Reject"))])
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=5000)])
    return_to = SelectField(_l("On rejection, return to"), choices=[], validate_choice=False)
    password = PasswordField(_l("Your password (electronic signature)"), validators=[Optional(), Length(max=256)])
    watch_days = StringField(_l("Effectiveness watch after closure (days, 0 = none)"), validators=[Optional(), Length(max=4)])
    watch_criterion = TextAreaField(_l("Criterion of the watch"), validators=[Optional(), Length(max=2000)])


class EffectivenessForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=[("effective", _l("Effective")), ("not_effective", _l("Not effective"))])
    comment = TextAreaField(_l("Comment (required when not effective: it is the reason for reopening)"), validators=[Optional(), Length(max=5000)])
    password = PasswordField(_l("Your password (electronic signature)"), validators=[Optional(), Length(max=256)])


class DeclineForm(FlaskForm):
    reason = SelectField(
        _l("Why the complaint is not ours"),
        choices=[
            ("not_our_part", _l("Not our part")),
            ("customer_caused", _l("Caused at the customer")),
            ("no_trouble_found", _l("No trouble found")),
            ("duplicate", _l("Duplicate of another report")),
        ],
    )
    comment = TextAreaField(_l("Comment for the customer's quality lead"), validators=[DataRequired(), Length(max=5000)])
    related_report_id = SelectField(_l("The report it duplicates"), choices=[], validate_choice=False)


class ReturnForm(FlaskForm):
    to = SelectField(_l("Return to"), choices=[], validate_choice=False)
    comment = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=5000)])


class ReopenForm(FlaskForm):
    to = SelectField(_l("Reopen at"), choices=[], validate_choice=False)
    comment = TextAreaField(_l("Reason for reopening"), validators=[DataRequired(), Length(max=5000)])
    password = PasswordField(_l("Your password (electronic signature)"), validators=[DataRequired(), Length(max=256)])


class TeamAddForm(FlaskForm):
    user_id = SelectField(_l("Person"), coerce=int, choices=[], validate_choice=False)
    role = SelectField(
        _l("Role on this report"),
        choices=[("member", _l("Member")), ("leader", _l("Team leader")), ("champion", _l("Champion")), ("viewer", _l("Viewer (read only)"))],
    )
    function = StringField(_l("Function (e.g. process engineering, logistics)"), validators=[Optional(), Length(max=200)])


class TeamChangeForm(FlaskForm):
    role = SelectField(
        _l("Role"),
        choices=[("member", _l("Member")), ("leader", _l("Team leader")), ("champion", _l("Champion")), ("viewer", _l("Viewer (read only)"))],
    )


class CascadeForm(FlaskForm):
    supplier_id = SelectField(_l("Sub-supplier"), coerce=int, choices=[], validate_choice=False)
    title = StringField(_l("Title of the cascaded 8D"), validators=[DataRequired(), Length(max=500)])
    discipline = SelectField(_l("It serves"), choices=[("D4", _l("D4 - the root cause sits at the sub-supplier")),
                                                       ("D5", _l("D5 - so does the corrective action"))])
    part_number = StringField(_l("The sub-supplier's part number"), validators=[Optional(), Length(max=500)])
    description = TextAreaField(_l("Problem description passed on (the sub-supplier sees this, nothing else of this report)"),
                                validators=[Optional(), Length(max=20000)])


class InviteForm(FlaskForm):
    email = StringField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    company_id = SelectField(_l("Company"), coerce=int, choices=[], validate_choice=False)
    role = SelectField(_l("Joins as"), choices=[("engineer", _l("Engineer (team member, edits)")), ("viewer", _l("Viewer (reads only)"))])
