"""The method (GET /method), the gate's findings - and the schemas of the values the method
defines, generated from app/method/ so that they cannot drift from it: the report header and the
fields of each discipline, by field type, length, range and choice."""

from typing import Annotated, Any

from pydantic import Field, WithJsonSchema

from app.method.definition import DISCIPLINES, HEADER_FIELDS
from app.method.fields import FIELD_TYPES, MAX_EVIDENCE, MAX_ROWS, MAX_SHORT, MAX_TEXT
from app.method.fields import Field as MethodFieldDef
from app.method.rules import BLOCK, WARN
from app.schemas.base import ID, Code, Shape, absent, one_of, ref


class Choice(Shape):
    value: str
    label: str


class MethodField(Shape):
    name: str
    label: str
    type: one_of(FIELD_TYPES)
    required: bool
    help: str = absent()
    choices: list[Choice] = absent()
    columns: list["MethodField"] = absent("for tables: the columns, same shape")
    min: float = absent()
    max: float = absent()


class MethodHeader(Shape):
    fields: list[MethodField]
    example: Annotated[dict[str, Any], WithJsonSchema({"allOf": [ref("ReportHeader")]})]


class ExampleEvidence(Shape):
    placeholder: ID = Field(description="the id that stands for this file in the examples")
    discipline: Code
    filename: str
    description: str


class MethodDiscipline(Shape):
    code: Code
    title: str
    purpose: str
    review_point: bool
    due_days: int | None
    fields: list[MethodField]
    example: dict[str, Any] = Field(
        description="a complete, realistic set of values (see <code>Fields); 'actions': bodies for POST /reports/{id}/actions (owner: a "
        "team role to replace by owner_id; verifier, verification: the verified step by someone other than the owner); "
        "'action_updates': PATCH /actions/{id} bodies by ref"
    )


class Method(Shape):
    header: MethodHeader
    example_evidence: list[ExampleEvidence] = Field(
        description="the files the examples' evidence ids stand for: upload them and put their ids in place of the placeholders"
    )
    disciplines: list[MethodDiscipline]


class Finding(Shape):
    level: one_of([BLOCK, WARN])
    message: str


class Gate(Shape):
    stage: Code
    missing: list[str] = Field(description="what blocks advancing from the current stage")
    disciplines: dict[str, list[Finding]] = Field(
        description="findings per discipline code, D0-D8",
        json_schema_extra=lambda s: s.update(required=list(c.code for c in DISCIPLINES)),
    )


# ------------------------------------------------------------- value schemas from the method
def _nullable(schema: dict) -> dict:
    out = dict(schema)
    out["type"] = [out["type"], "null"]
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def value_schema(f: MethodFieldDef) -> dict:
    """What a value of one method field looks like (app/method/fields.py clean_values)."""
    if f.type == "text":
        out: dict[str, Any] = {"type": "string", "maxLength": MAX_TEXT if f.multiline else MAX_SHORT}
    elif f.type == "number":
        out = {"type": "number", **({"minimum": f.min} if f.min is not None else {}), **({"maximum": f.max} if f.max is not None else {})}
    elif f.type == "date":
        out = {"type": "string", "format": "date", "description": 'YYYY-MM-DD ("" clears the date)'}
    elif f.type == "choice":
        out = {"type": "string", "enum": [c.value for c in f.choices] + [""], "description": 'one of the choices ("" clears the choice)'}
    elif f.type == "bool":
        out = {"type": "boolean"}
    elif f.type == "evidence":
        out = {"type": "array", "items": {"type": "integer", "minimum": 1}, "maxItems": MAX_EVIDENCE,
               "description": "ids of live (not withdrawn) attachments of the same report; another report's or a withdrawn file: 422"}
    elif f.type == "table":
        columns = {"id": {"type": "string", "minLength": 1, "maxLength": 40, "description": "stable row id, assigned by the server when missing"}}
        columns.update({c.name: value_schema(c) for c in f.columns})
        row = {"type": "object", "properties": columns, "additionalProperties": False}
        out = {"type": "array", "items": row, "maxItems": MAX_ROWS, "description": "rows keyed by column name"}
    else:  # pragma: no cover - FIELD_TYPES is closed
        raise AssertionError(f.type)
    if f.required:
        out["description"] = (out.get("description", "") + " (required for completion)").strip()
    return _nullable(out)


def values_schema(fields: tuple[MethodFieldDef, ...], description: str) -> dict:
    return {"type": "object", "description": description, "properties": {f.name: value_schema(f) for f in fields}, "additionalProperties": False}


def header_properties() -> dict[str, dict]:
    return values_schema(HEADER_FIELDS, "")["properties"]


def method_components(discipline: dict) -> dict[str, dict]:
    """ReportHeader, <code>Fields and <code>Discipline (the generic Discipline with its values)."""
    out = {"ReportHeader": values_schema(HEADER_FIELDS, "The report's header values (the 'header' of GET /method).")}
    for d in DISCIPLINES:
        out[f"{d.code}Fields"] = values_schema(d.fields, f"The values of {d.code} (its 'fields' in GET /method).")
        out[f"{d.code}Discipline"] = {**discipline, "properties": {**discipline["properties"], "fields": ref(f"{d.code}Fields")}}
    return out
