"""The JSON API v1 as an OpenAPI 3.1 document, served at GET /api/v1/openapi.json.

One `Op` per route in OPERATIONS below. Adding a route to the API means adding one entry there:
tests/test_openapi.py fails for any /api/v1 rule of the app that has no entry (and for any entry
without a rule), checks path parameters against the rule's converters, `security: []` against
@public, and validates real responses against the schemas here. Enumerations (roles, statuses,
discipline codes) and the schemas of discipline values are generated from the code (app.models,
app.method), so they cannot drift from it.

Response schemas list every field the serializers emit (app/serialize.py, the models' as_json);
objects are open (API.md: fields may be added), the tests close them to catch undocumented ones.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from app import method
from app.method.definition import DISCIPLINES, HEADER_FIELDS, LOCATIONS
from app.method.fields import FIELD_TYPES, MAX_ROWS, MAX_SHORT, MAX_TEXT, Field
from app.method.rules import BLOCK, WARN
from app.models import ActionKind, ActionStatus, CompanyKind, Role, Status, TeamRole
from app.services.workflow import DECLINE_REASONS

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1"
JSON = "application/json"


# ------------------------------------------------------------------------------ schema helpers
def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict) -> dict:
    if "$ref" in schema or "type" not in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    out = dict(schema)
    types = out["type"] if isinstance(out["type"], list) else [out["type"]]
    out["type"] = [*types, "null"]
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


def string(description: str = "", fmt: str | None = None, enum: list | None = None, **kw: Any) -> dict:
    out: dict[str, Any] = {"type": "string", **kw}
    if fmt:
        out["format"] = fmt
    if enum is not None:
        out["enum"] = list(enum)
    if description:
        out["description"] = description
    return out


def integer(description: str = "", **kw: Any) -> dict:
    out: dict[str, Any] = {"type": "integer", **kw}
    if description:
        out["description"] = description
    return out


def boolean(description: str = "") -> dict:
    return {"type": "boolean", "description": description} if description else {"type": "boolean"}


def array(items: dict, description: str = "", **kw: Any) -> dict:
    out: dict[str, Any] = {"type": "array", "items": items, **kw}
    if description:
        out["description"] = description
    return out


def obj(properties: dict, required: list[str] | None = None, description: str = "", **kw: Any) -> dict:
    """An object; by default every property is required (the serializers always emit them)."""
    out: dict[str, Any] = {"type": "object", "properties": properties, "required": list(properties) if required is None else required, **kw}
    if description:
        out["description"] = description
    return out


def page_of(item: dict) -> dict:
    """The list envelope of API.md: {items, page, per_page, total}."""
    return obj(
        {
            "items": array(item),
            "page": integer("1-based page number", minimum=1),
            "per_page": integer("page size (default 50, max 200)", minimum=0, maximum=200),
            "total": integer("number of items on all pages", minimum=0),
        },
        description="A page of a list.",
    )


def values(enum_cls) -> list[str]:
    return [m.value for m in enum_cls]


ACTION_CAUSES = ("occurrence", "non_detection", "systemic")  # app.services.actions.CAUSES (the tests compare)
DATETIME = string("ISO 8601 UTC time, e.g. 2026-11-25T19:00:00Z", "date-time")
DATE = string("YYYY-MM-DD", "date")
CODE = string("discipline code", enum=list(method.CODES))
ID = integer(minimum=1)


# ----------------------------------------------------------- schemas generated from the method
def field_value_schema(f: Field) -> dict:
    """What a value of one method field looks like in `fields` (app/method/fields.py clean_values)."""
    if f.type == "text":
        out = string(maxLength=MAX_TEXT if f.multiline else MAX_SHORT)
    elif f.type == "number":
        out = {"type": "number"}
        if f.min is not None:
            out["minimum"] = f.min
        if f.max is not None:
            out["maximum"] = f.max
    elif f.type == "date":
        out = string("YYYY-MM-DD (\"\" clears the date)", "date")
    elif f.type == "choice":
        out = string('one of the choices ("" clears the choice)', enum=[c.value for c in f.choices] + [""])
    elif f.type == "bool":
        out = boolean()
    elif f.type == "evidence":
        out = array(integer(minimum=1), "ids of live (not withdrawn) attachments of the same report; another report's or a withdrawn file: 422",
                    maxItems=100)
    elif f.type == "table":
        columns = {"id": string("stable row id, assigned by the server when missing", minLength=1, maxLength=40)}
        columns.update({c.name: field_value_schema(c) for c in f.columns})
        out = array(obj(columns, required=[], additionalProperties=False), "rows keyed by column name", maxItems=MAX_ROWS)
    else:  # pragma: no cover - FIELD_TYPES is closed
        raise AssertionError(f.type)
    if f.required:
        out["description"] = (out.get("description", "") + " (required for completion)").strip()
    return nullable(out)


def fields_schema(fields: tuple[Field, ...], description: str) -> dict:
    return obj({f.name: field_value_schema(f) for f in fields}, required=[], description=description, additionalProperties=False)


def discipline_schema(fields_ref: dict | None = None) -> dict:
    return obj(
        {
            "code": CODE,
            "version": integer("increases by one with every save that changes something", minimum=0),
            "fields": fields_ref or {"type": "object", "description": "the values, keyed by field name (see GET /method)"},
            "updated_at": nullable(DATETIME),
            "updated_by": nullable(ref("UserRef")),
        }
    )


# ----------------------------------------------------------------------------------- schemas
def schemas() -> dict:
    s: dict[str, dict] = {}
    s["Error"] = obj(
        {
            "error": string(
                "bad_request, unauthorized, forbidden, not_found, method_not_allowed, conflict, gate_not_met, too_large, "
                "unsupported_media_type, invalid, rate_limited"
            ),
            "message": string("for people"),
            "details": ref("ErrorDetails"),
        },
        description="Every error of the API.",
    )
    s["ErrorDetails"] = obj(
        {
            "fields": {
                "type": "object",
                "description": "400/422: {field: message}; 409 conflict: {field: {yours, theirs, base}}",
                "additionalProperties": True,
            },
            "missing": array(string(), "409 gate_not_met: what the current discipline lacks"),
            "rule": string("the rule that was broken, e.g. frozen, closed, in_review, last_admin"),
            "version": integer("409 conflict: the discipline's current version"),
        },
        required=[],
        additionalProperties=True,
    )
    s["Company"] = obj({"id": ID, "name": string(), "kind": string(enum=values(CompanyKind))})
    s["User"] = obj(
        {"id": ID, "email": string(fmt="email"), "name": string(), "role": string(enum=values(Role)), "active": boolean(), "company": ref("Company")}
    )
    s["Me"] = obj(
        {**s["User"]["properties"], "platform_admin": boolean("a platform administrator (granted on the command line only)")},
        description="The caller's own account.",
    )
    s["AdminUser"] = obj({**s["User"]["properties"], "platform_admin": boolean("a platform administrator (command line only)")},
                         description="An account as the administration sees it.")
    s["UserRef"] = obj({"id": ID, "name": string(), "email": string(fmt="email"), "company": string("company name")})
    s["Token"] = obj({"token": string("send as 'Authorization: Bearer <token>'"), "expires_at": DATETIME, "token_type": string(enum=["Bearer"])})
    s["TeamMember"] = obj(
        {
            "user_id": ID,
            "name": string(),
            "email": string(fmt="email"),
            "company": ref("Company"),
            "role": string(enum=values(TeamRole)),
            "function": nullable(string("the member's function in the team")),
        }
    )
    s["Signature"] = obj(
        {"signed_by": string(), "signed_at": DATETIME, "meaning": string("e.g. 'closure approved'"), "content_hash": nullable(string())},
        description="An electronic signature (a review approved with the password).",
    )
    s["Review"] = obj(
        {
            "id": ID,
            "stage": CODE,
            "revision": integer(minimum=0),
            "requested_at": DATETIME,
            "requested_by": nullable(ref("UserRef")),
            "request_comment": nullable(string()),
            "kind": string("stage: a discipline submitted for review; decline: the supplier asks to decline the complaint", enum=["stage", "decline"]),
            "decision": nullable(string(enum=["approve", "reject"])),
            "decided_at": nullable(DATETIME),
            "decided_by": nullable(ref("UserRef")),
            "comment": nullable(string()),
            "return_to": nullable(CODE),
            "withdrawn_at": nullable(DATETIME),
            "withdrawn_reason": nullable(string()),
            "signature": nullable(ref("Signature")),
            "decline_reason": nullable(string("a decline: why", enum=list(DECLINE_REASONS))),
            "related_report_id": nullable(ID),
            "evidence": array(ID, "a decline: the attachment ids that support it"),
        }
    )
    s["PendingReview"] = obj({"kind": string(enum=["stage", "decline"]), "stage": CODE, "requested_at": DATETIME,
                              "requested_by": nullable(ref("UserRef")), "decline_reason": string(enum=list(DECLINE_REASONS))},
                             required=["kind", "stage", "requested_at", "requested_by"])

    # The method and the values it defines.
    s["MethodField"] = obj(
        {
            "name": string(),
            "label": string(),
            "type": string(enum=list(FIELD_TYPES)),
            "required": boolean(),
            "help": string(),
            "choices": array(obj({"value": string(), "label": string()})),
            "columns": array(ref("MethodField"), "for tables: the columns, same shape"),
            "min": {"type": "number"},
            "max": {"type": "number"},
        },
        required=["name", "label", "type", "required"],
    )
    s["Method"] = obj(
        {
            "header": obj({"fields": array(ref("MethodField")), "example": ref("ReportHeader")}),
            "example_evidence": array(
                obj({"placeholder": integer("the id that stands for this file in the examples", minimum=1), "discipline": CODE,
                     "filename": string(), "description": string()}),
                "the files the examples' evidence ids stand for: upload them and put their ids in place of the placeholders",
            ),
            "disciplines": array(
                obj(
                    {
                        "code": CODE,
                        "title": string(),
                        "purpose": string(),
                        "review_point": boolean(),
                        "due_days": nullable(integer()),
                        "fields": array(ref("MethodField")),
                        "example": {"type": "object", "description": "a complete, realistic set of values (see <code>Fields); "
                                    "'actions': bodies for POST /reports/{id}/actions (owner: a team role to replace by owner_id; verifier, "
                                    "verification: the verified step by someone other than the owner); 'action_updates': PATCH /actions/{id} "
                                    "bodies by ref"},
                    }
                )
            ),
        }
    )
    s["ReportHeader"] = fields_schema(HEADER_FIELDS, "The report's header values (the 'header' of GET /method).")
    for d in DISCIPLINES:
        s[f"{d.code}Fields"] = fields_schema(d.fields, f"The values of {d.code} (its 'fields' in GET /method).")
        s[f"{d.code}Discipline"] = discipline_schema(ref(f"{d.code}Fields"))
    s["Discipline"] = discipline_schema()
    s["DisciplineSaved"] = discipline_schema()
    s["DisciplineSaved"]["properties"]["notes"] = array(string(), "what the save also did, e.g. acceptances withdrawn")
    s["DisciplineSaved"]["required"].append("notes")
    s["Finding"] = obj({"level": string(enum=[BLOCK, WARN]), "message": string()})
    s["Gate"] = obj(
        {
            "stage": CODE,
            "missing": array(string(), "what blocks advancing from the current stage"),
            "disciplines": obj({c: array(ref("Finding")) for c in method.CODES}),
        }
    )

    # Reports.
    header = s["ReportHeader"]["properties"]
    summary = {
        "id": ID,
        "number": string("e.g. 8D-2026-0001"),
        "title": string(),
        "status": string("open: the team works on stage; in_review: waiting for the quality lead; closed", enum=values(Status)),
        "stage": CODE,
        "revision": integer("increases when a closed report is reopened", minimum=0),
        "oem": ref("Company"),
        "supplier": ref("Company"),
        "part_number": header["part_number"],
        "complaint_ref": header["complaint_ref"],
        "severity": header["severity"],
        "created_at": DATETIME,
        "updated_at": DATETIME,
        "closed_at": nullable(DATETIME),
        "outcome": nullable(string("how a closed report ended: resolved (closure approved) or declined (the supplier's decline accepted)",
                                   enum=["resolved", "declined"])),
        "due": {"type": "object", "description": "due date per discipline code", "additionalProperties": DATE},
        "overdue": boolean("the current stage is past its due date"),
    }
    s["ReportSummary"] = obj(summary)
    full = {
        **summary,
        "header": ref("ReportHeader"),
        "team": array(ref("TeamMember")),
        "disciplines": obj({c: ref(f"{c}Discipline") for c in method.CODES}),
        "review": nullable(ref("PendingReview")),
        "reviews": array(ref("Review")),
        "signatures": array(ref("Signature")),
        "signature": nullable(ref("Signature")),
        "review_points": array(CODE),
    }
    s["Report"] = obj(full)
    s["ReportExport"] = obj(
        {
            **full,
            "actions": array(ref("Action")),
            "attachments": array(ref("Attachment"), "withdrawn ones included"),
            "comments": array(ref("Comment")),
            "events": array(ref("Event")),
            "method": obj({"review_points": array(CODE)}),
            "content_sha256": string("SHA-256 of the content: everything but exported_at, content_sha256 and overdue"),
            "exported_at": DATETIME,
        },
        description="The whole report as one JSON document.",
    )
    s["Event"] = obj(
        {
            "id": ID,
            "seq": integer("position in the report's hash chain", minimum=1),
            "at": DATETIME,
            "actor": nullable(string("name of who did it ('system' when nobody)")),
            "actor_id": nullable(ID),
            "actor_company": nullable(string()),
            "action": string("e.g. report.created, discipline.updated, stage.advanced, review.approved"),
            "discipline": nullable(CODE),
            "changes": {
                "type": "object",
                "description": "{field: [old, new]}",
                "additionalProperties": array({}, minItems=2, maxItems=2),
            },
            "comment": nullable(string()),
            "hash": string(),
            "prev_hash": nullable(string()),
        }
    )

    s["Comment"] = obj(
        {
            "id": ID,
            "report_id": ID,
            "discipline": CODE,
            "author": nullable(ref("UserRef")),
            "body": nullable(string("Markdown as written; null once withdrawn")),
            "body_html": nullable(string("the Markdown rendered and sanitised; null once withdrawn")),
            "created_at": DATETIME,
            "edited_at": nullable(DATETIME),
            "withdrawn": boolean(),
            "withdrawn_at": nullable(DATETIME),
        }
    )

    s["Action"] = obj(
        {
            "id": ID,
            "report_id": ID,
            "report_number": string(),
            "kind": string(enum=values(ActionKind)),
            "discipline": CODE,
            "title": string(),
            "description": nullable(string()),
            "owner_id": ID,
            "owner": nullable(ref("UserRef")),
            "due_date": DATE,
            "overdue": boolean(),
            "ref": string("e.g. ICA1, PCA2, PA1 - unique per report and kind"),
            "cause": nullable(string("corrective: removes the cause (occurrence), adds detection (non_detection) or fixes the system", enum=list(ACTION_CAUSES))),
            "causes": array(string(), "the D4 causes it addresses (their refs)"),
            "cause_ref": nullable(string("the first of causes (older clients)")),
            "location": nullable(string("containment: where", enum=[c.value for c in LOCATIONS])),
            "qty_suspect": nullable(integer(minimum=0)),
            "qty_checked": nullable(integer(minimum=0)),
            "qty_nok": nullable(integer(minimum=0)),
            "introduced_on": nullable(DATE),
            "effective_from": nullable(DATE),
            "effective_pct": nullable(integer(minimum=0, maximum=100)),
            "pre_verification": nullable(string()),
            "error_proofing": nullable(string()),
            "target": nullable(string("preventive: the product, line or plant it applies to")),
            "implemented_on": nullable(DATE),
            "evidence": array(ID, "attachment ids: proof of effectiveness (containment) or of the work done"),
            "pre_verification_evidence": array(ID, "corrective (D5): attachment ids proving the pre-verification"),
            "implementation_evidence": array(ID, "corrective (D6): attachment ids proving the implementation"),
            "status": string("open -> in_progress -> implemented -> verified, or cancelled", enum=values(ActionStatus)),
            "verification": nullable(string()),
            "verified_by": nullable(ref("UserRef")),
            "verified_at": nullable(DATETIME),
            "cancel_reason": nullable(string()),
            "removed_at": nullable(DATETIME),
            "removed_by": nullable(ref("UserRef")),
            "version": integer(minimum=1),
            "created_at": DATETIME,
            "updated_at": DATETIME,
            "warnings": array(string()),
        }
    )

    s["Attachment"] = obj(
        {
            "id": ID,
            "report_id": ID,
            "filename": string(),
            "size": integer("bytes", minimum=0),
            "sha256": string(),
            "content_type": string(),
            "discipline": CODE,
            "action_id": nullable(ID),
            "description": nullable(string()),
            "replaces_id": nullable(ID),
            "uploaded_by": ref("UserRef"),
            "uploaded_at": DATETIME,
            "withdrawn": boolean(),
            "withdrawn_at": nullable(DATETIME),
            "withdrawn_reason": nullable(string()),
        },
        description="Evidence: a file's metadata.",
    )

    # Request bodies.
    s["TokenRequest"] = obj({"email": string(), "password": string()})
    s["CompanyCreate"] = obj({"name": string(maxLength=200), "kind": string(enum=values(CompanyKind))})
    s["UserCreate"] = obj(
        {"email": string(fmt="email"), "name": string(maxLength=200), "company_id": ID, "role": string(enum=values(Role)), "password": string(maxLength=256),
         "platform_admin": boolean("only false: platform administration is granted on the command line (true: 403)")},
        required=["email", "name", "company_id", "role", "password"],
    )
    s["UserUpdate"] = obj(
        {"role": string(enum=values(Role)), "active": boolean("false ends the user's sessions and tokens at once"), "name": string(maxLength=200),
         "password": string(maxLength=256), "platform_admin": boolean("only false: granted on the command line (true: 403)")},
        required=[],
    )
    s["ReportCreate"] = obj(
        {"oem_id": ID, "supplier_id": ID, **header},
        required=["title", "oem_id", "supplier_id"],
        description="The parties and any header values; the caller's company must be the OEM or the supplier.",
        additionalProperties=False,
    )
    s["ReportHeaderUpdate"] = obj(dict(header), required=[], description="Only the header values to change.", additionalProperties=False)
    s["DisciplineUpdate"] = obj(
        {
            "base_version": integer("the version your edit started from", minimum=0),
            "fields": {"type": "object", "description": "only the fields you changed; values as in <code>Fields (see GET /method)"},
        },
        required=["base_version"],
    )
    s["Advance"] = obj({"comment": nullable(string()), "stage": nullable(CODE)}, required=[])
    s["ReviewDecision"] = obj(
        {
            "decision": string(enum=["approve", "reject"]),
            "comment": nullable(string("required to reject")),
            "password": string("the caller's password, required to approve (the signature)"),
            "return_to": nullable(CODE),
            "stage": nullable(CODE),
        },
        required=["decision"],
    )
    s["Return"] = obj({"to": CODE, "comment": string()})
    s["Decline"] = obj(
        {
            "reason": string(enum=list(DECLINE_REASONS)),
            "comment": string("why, for the customer's quality lead", maxLength=5000),
            "related_report_id": nullable(integer("the report this one duplicates (required for duplicate): same customer and supplier", minimum=1)),
            "evidence": array(integer(minimum=1), "live attachment ids of this report that support the decline (at least one)", minItems=1),
        },
        required=["reason", "comment", "evidence"],
    )
    s["Reopen"] = obj({"comment": string(), "password": string(), "to": nullable(CODE)}, required=["comment", "password"])
    s["TeamMemberCreate"] = obj(
        {"user_id": ID, "role": string(enum=values(TeamRole), default="member"), "function": nullable(string(maxLength=200))},
        required=["user_id"],
    )
    s["TeamMemberUpdate"] = obj({"role": string(enum=values(TeamRole)), "function": nullable(string(maxLength=200))}, required=[])
    s["CommentCreate"] = obj({"discipline": CODE, "body": string("Markdown; @email mentions of team members notify them", maxLength=10_000)})
    s["CommentUpdate"] = obj({"body": string("Markdown", maxLength=10_000)})
    action_values = {
        "title": string(maxLength=500),
        "description": nullable(string(maxLength=20_000)),
        "owner_id": integer("a working member of the report's team", minimum=1),
        "due_date": DATE,
        "ref": nullable(string("unique per report and kind; assigned (ICA1, PCA2, PA1) when not given", maxLength=20)),
        "cause": nullable(string(enum=list(ACTION_CAUSES))),
        "causes": nullable(array(string(maxLength=40), "corrective, preventive: refs of D4 causes", maxItems=50)),
        "cause_ref": nullable(string("a cause of D4 (its ref); older form of causes", maxLength=40)),
        "location": nullable(string("containment only", enum=[c.value for c in LOCATIONS])),
        "qty_suspect": nullable(integer("containment only", minimum=0, maximum=10**9)),
        "qty_checked": nullable(integer("containment only", minimum=0, maximum=10**9)),
        "qty_nok": nullable(integer("containment only", minimum=0, maximum=10**9)),
        "introduced_on": nullable(string("containment only: YYYY-MM-DD", "date")),
        "effective_from": nullable(string("containment only: YYYY-MM-DD", "date")),
        "effective_pct": nullable(integer("containment only", minimum=0, maximum=100)),
        "pre_verification": nullable(string("corrective only", maxLength=20_000)),
        "error_proofing": nullable(string("corrective only", maxLength=20_000)),
        "target": nullable(string("preventive only", maxLength=500)),
        "evidence": nullable(array(integer(minimum=1), "live attachment ids of this report", maxItems=100)),
        "pre_verification_evidence": nullable(array(integer(minimum=1), "corrective only: live attachment ids", maxItems=100)),
        "implementation_evidence": nullable(array(integer(minimum=1), "corrective only: live attachment ids", maxItems=100)),
    }
    s["ActionCreate"] = obj({"kind": string(enum=values(ActionKind)), **action_values}, required=["kind", "title", "owner_id", "due_date"],
                            description="Fields of another kind of action (e.g. location for a corrective action) or unknown ones: 422.",
                            additionalProperties=False)
    s["ActionUpdate"] = obj(
        {
            "version": integer("the version you loaded; another: 409 conflict", minimum=1),
            **action_values,
            "status": string("the next step; other steps: 422", enum=values(ActionStatus)),
            "verification": string("required to verify (by someone other than the owner)"),
            "reason": string("required to cancel"),
            "removed_at": nullable(string("containment only, from D6 on: when it was lifted (ISO 8601)", "date-time")),
            "implemented_on": string("the day it was implemented (YYYY-MM-DD), with or after the step to implemented", "date"),
        },
        required=["version"],
        additionalProperties=False,
    )
    s["Anything"] = {"type": "object", "description": "a JSON object", "additionalProperties": True}
    return s


# -------------------------------------------------------------------------------- parameters
PATH_PARAMS: dict[str, dict] = {
    "report_id": integer("a report's id", minimum=1),
    "user_id": integer("a user's id", minimum=1),
    "code": CODE,
    "comment_id": integer("a comment's id", minimum=1),
    "action_id": integer("an action's id", minimum=1),
}


def _query(schema: dict, description: str, name: str | None = None) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


# Query parameters by key (the key is the parameter's name unless `name` says otherwise, e.g. an
# action's `status` differs from a report's). Operations list keys in Op.query.
QUERY_PARAMS: dict[str, dict] = {
    "page": _query(integer(minimum=1, default=1), "1-based page number"),
    "per_page": _query(integer(minimum=1, maximum=200, default=50), "page size"),
    "status": _query(string(enum=values(Status)), "only reports with this status"),
    "stage": _query(CODE, "only reports at this stage"),
    "supplier_id": _query(integer(minimum=1), "only reports with this supplier"),
    "oem_id": _query(integer(minimum=1), "only reports with this customer"),
    "overdue": _query(string(enum=["true", "1"]), "only open reports whose current stage is past its due date"),
    "q": _query(string(maxLength=200), "search in number, title, part number, complaint reference (or in name and e-mail for users)"),
    "company_id": _query(integer(minimum=1), "only users of this company"),
    "discipline": _query(CODE, "only the events or comments of this discipline"),
    # actions
    "owner": _query(string(pattern=r"^(me|[0-9]+)$"), "'me' or a user id: only actions of this owner"),
    "action_company_id": _query(integer(minimum=1), "only actions whose owner belongs to this company", "company_id"),
    "action_kind": _query(string(enum=values(ActionKind)), "only actions of this kind", "kind"),
    "action_status": _query(string(enum=["active", *values(ActionStatus)]), "only actions with this status (active: not yet verified or cancelled)",
                            "status"),
    "action_overdue": _query(string(enum=["true", "1", "yes"]), "only active actions past their due date", "overdue"),
    "due_within": _query(integer(minimum=0, maximum=9999), "only active actions due within this many days"),
    "action_q": _query(string(maxLength=200), "search in the title and the report number", "q"),
}
for _key, _param in QUERY_PARAMS.items():
    _param["name"] = _param["name"] or _key
PAGING = ("page", "per_page")


def _path_param(name: str) -> dict:
    schema = PATH_PARAMS.get(name)
    if schema is None:
        if not name.endswith("_id"):
            raise KeyError(f"document the path parameter {name!r} in PATH_PARAMS")
        schema = integer(minimum=1)
    return {"name": name, "in": "path", "required": True, "schema": schema}


# --------------------------------------------------------------------------------- responses
ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "Malformed JSON, wrong types, or a missing CSRF token on a cookie-session request (bad_request)."),
    401: ("Unauthorized", "No, an invalid, expired or revoked token (unauthorized)."),
    403: ("Forbidden", "Not allowed for the caller's role (forbidden)."),
    404: ("NotFound", "No such object, or the caller may not see it (not_found)."),
    409: ("Conflict", "conflict (stale version, frozen or closed report; details.fields / details.rule) or gate_not_met (details.missing)."),
    413: ("TooLarge", "The request body is too large (too_large)."),
    415: ("UnsupportedMediaType", "The type of the upload is not allowed (unsupported_media_type)."),
    422: ("Invalid", "Values that break a rule (invalid; details.fields: {field: message} or details.rule)."),
    429: ("RateLimited", "Too many tries (rate_limited)."),
    503: ("Unavailable", "The evidence store or the database does not answer for the moment; nothing was changed, try again (unavailable)."),
}
SUCCESS = {200: "OK", 201: "Created", 204: "No Content"}


@dataclass(frozen=True)
class Op:
    """One operation: method + path (under /api/v1, parameters named as in the Flask rule)."""

    method: str
    path: str
    endpoint: str  # the view function's name: the operationId, matched against app.url_map by the tests
    summary: str
    tag: str
    ok: int = 200
    response: dict | None = None  # schema of the success body; None for no body (204)
    response_type: str = JSON  # e.g. application/octet-stream for file contents
    body: dict | None = None  # schema of the request body
    body_type: str = JSON  # multipart/form-data for uploads
    body_required: bool = True
    query: tuple[str, ...] = ()  # names in QUERY_PARAMS
    errors: tuple[int, ...] = ()  # besides the automatic 400/401/404/413
    public: bool = False  # @public in the code: no login (security: [])
    description: str = ""

    def status_codes(self) -> list[int]:
        codes = {self.ok, 401, *self.errors}
        if self.body is not None:
            codes |= {400, 413}
        if self.method != "GET" or self.query:
            codes.add(400)  # CSRF on cookie sessions; malformed query values
        if "{" in self.path:
            codes.add(404)
        return sorted(codes)

    def operation(self) -> dict:
        out: dict[str, Any] = {"operationId": self.endpoint, "summary": self.summary, "tags": [self.tag]}
        if self.description:
            out["description"] = self.description
        params = [_path_param(n) for n in re.findall(r"{(\w+)}", self.path)]
        params += [{"$ref": f"#/components/parameters/{n}"} for n in self.query]
        if params:
            out["parameters"] = params
        if self.body is not None:
            out["requestBody"] = {"required": self.body_required, "content": {self.body_type: {"schema": self.body}}}
        responses: dict[str, Any] = {}
        for code in self.status_codes():
            if code == self.ok:
                resp: dict[str, Any] = {"description": SUCCESS.get(code, "Success")}
                if self.response is not None:
                    resp["content"] = {self.response_type: {"schema": self.response}}
                responses[str(code)] = resp
            else:
                responses[str(code)] = {"$ref": f"#/components/responses/{ERRORS[code][0]}"}
        out["responses"] = responses
        if self.public:
            out["security"] = []
        return out


WRITE = (403, 422)
REPORT = ref("Report")

# ---------------------------------------------------------------------- the API, one entry a route
OPERATIONS: list[Op] = [
    # session and self-description
    Op("POST", "/tokens", "create_token", "Get an access token", "session", ok=201, response=ref("Token"), body=ref("TokenRequest"),
       errors=(429,), public=True, description="Wrong credentials: 401. Too many tries: 429."),
    Op("DELETE", "/tokens/current", "revoke_token", "Revoke the token of this request", "session", ok=204,
       description="400 when the request was not made with a token."),
    Op("GET", "/me", "me", "Who am I", "session", response=ref("Me")),
    Op("GET", "/method", "method_definition", "The 8D method: disciplines, fields and examples", "method", response=ref("Method"), public=True),
    Op("GET", "/openapi.json", "openapi_spec", "This document", "method", response=ref("Anything"), public=True),
    Op("GET", "/companies", "companies", "Companies the caller may pick as report parties", "session", response=page_of(ref("Company")), query=PAGING),
    Op("GET", "/users", "users", "Users the caller may put on a team", "session", response=page_of(ref("User")), query=("company_id", *PAGING)),
    # administration
    Op("POST", "/admin/companies", "admin_create_company", "Create a company (platform admin)", "admin", ok=201, response=ref("Company"),
       body=ref("CompanyCreate"), errors=(*WRITE, 409), description="Platform administrators only; a company admin gets 403."),
    Op("POST", "/admin/users", "admin_create_user", "Create a user (company admin: of their company; platform admin: of any)", "admin", ok=201,
       response=ref("AdminUser"), body=ref("UserCreate"), errors=(*WRITE, 404, 409),
       description="A company admin creates users of their own company only: another company_id is 404, like a company that does not exist."),
    Op("PATCH", "/admin/users/{user_id}", "admin_update_user", "Change a user's role, name, password or active flag (admin)", "admin",
       response=ref("AdminUser"), body=ref("UserUpdate"), errors=WRITE,
       description="A company admin changes users of their own company only (another company's user: 404) and no platform admin's "
                   "account (403); platform admins change any account."),
    # reports
    Op("GET", "/reports", "list_reports", "Reports the caller may see", "reports", response=page_of(ref("ReportSummary")),
       query=("status", "stage", "supplier_id", "oem_id", "overdue", "q", *PAGING)),
    Op("POST", "/reports", "create_report", "Open a report (the creator joins its team as champion)", "reports", ok=201, response=REPORT,
       body=ref("ReportCreate"), errors=WRITE),
    Op("GET", "/reports/{report_id}", "get_report", "A report", "reports", response=REPORT),
    Op("PATCH", "/reports/{report_id}", "update_report_header", "Change the report's header values", "reports", response=REPORT,
       body=ref("ReportHeaderUpdate"), errors=(*WRITE, 409)),
    Op("GET", "/reports/{report_id}/disciplines/{code}", "get_discipline", "One discipline", "reports", response=ref("Discipline")),
    Op("PATCH", "/reports/{report_id}/disciplines/{code}", "patch_discipline", "Save changed fields of a discipline", "reports",
       response=ref("DisciplineSaved"), body=ref("DisciplineUpdate"), errors=(*WRITE, 409),
       description="Fields changed by others since base_version merge silently; a field you send that was changed after "
                   "base_version: 409 conflict with details.fields {field: {yours, theirs, base}}, nothing written. "
                   "Unknown field: 422. Frozen (under review) or closed: 409."),
    Op("GET", "/reports/{report_id}/gate", "gate", "What the completion rules find, per discipline", "workflow", response=ref("Gate")),
    Op("POST", "/reports/{report_id}/advance", "advance", "Advance to the next discipline, or ask for the review", "workflow", response=REPORT,
       body=ref("Advance"), body_required=False, errors=(403, 409), description="409 gate_not_met with details.missing when the rules do not hold."),
    Op("POST", "/reports/{report_id}/review", "review", "Approve (signed with the password) or reject the stage under review", "workflow",
       response=REPORT, body=ref("ReviewDecision"), errors=(*WRITE, 409, 429),
       description="The OEM's quality lead only (else 403). A wrong password: 403 (recorded); too many: 429."),
    Op("POST", "/reports/{report_id}/decline", "decline", "Ask the customer to decline the complaint (supplier's leader or champion, D0-D4)",
       "workflow", response=REPORT, body=ref("Decline"), errors=(*WRITE, 409),
       description="Not our part, customer-caused, no trouble found or a duplicate (related_report_id of the same two companies), with a comment "
                   "and evidence. The report waits for the customer's quality lead (POST .../review: approve with the password closes it, "
                   "outcome declined; reject with a comment lets the work go on). Not open or past D4: 409 (rule decline_not_allowed)."),
    Op("POST", "/reports/{report_id}/return", "return_report", "Send an open report back to an earlier discipline", "workflow", response=REPORT,
       body=ref("Return"), errors=(*WRITE, 409)),
    Op("POST", "/reports/{report_id}/reopen", "reopen", "Reopen a closed report (quality lead, with the password)", "workflow", response=REPORT,
       body=ref("Reopen"), errors=(*WRITE, 409, 429)),
    # team
    Op("GET", "/reports/{report_id}/team", "list_team", "The report's team (all on one page)", "team", response=page_of(ref("TeamMember"))),
    Op("POST", "/reports/{report_id}/team", "add_team_member", "Add a member (leader, champion or admin)", "team", ok=201,
       response=ref("TeamMember"), body=ref("TeamMemberCreate"), errors=(*WRITE, 409)),
    Op("PATCH", "/reports/{report_id}/team/{user_id}", "change_team_member", "Change a member's role or function", "team",
       response=ref("TeamMember"), body=ref("TeamMemberUpdate"), errors=WRITE),
    Op("DELETE", "/reports/{report_id}/team/{user_id}", "remove_team_member", "Remove a member", "team", ok=204, errors=WRITE),
    Op("GET", "/reports/{report_id}/users", "eligible_users", "People who may join this report's team", "team", response=page_of(ref("User")),
       query=("q", *PAGING), errors=(403,)),
    # history, export
    Op("GET", "/reports/{report_id}/events", "events", "The audit trail, oldest first", "history", response=page_of(ref("Event")),
       query=("discipline", *PAGING)),
    Op("GET", "/reports/{report_id}/export", "export", "The whole report as one JSON document", "history", response=ref("ReportExport")),
    # actions
    Op("GET", "/reports/{report_id}/actions", "report_actions", "The report's actions", "actions", response=page_of(ref("Action")),
       query=("owner", "action_company_id", "action_kind", "action_status", "action_overdue", "due_within", "action_q", *PAGING)),
    Op("POST", "/reports/{report_id}/actions", "create_action", "Add an action (team members)", "actions", ok=201, response=ref("Action"),
       body=ref("ActionCreate"), errors=(*WRITE, 409)),
    Op("GET", "/actions", "list_actions", "Actions of the reports the caller may see, e.g. ?owner=me&overdue=true", "actions",
       response=page_of(ref("Action")),
       query=("owner", "action_company_id", "action_kind", "action_status", "action_overdue", "due_within", "action_q", *PAGING)),
    Op("GET", "/actions/{action_id}", "get_action", "An action", "actions", response=ref("Action")),
    Op("PATCH", "/actions/{action_id}", "update_action", "Change an action, step its status or lift a containment", "actions",
       response=ref("Action"), body=ref("ActionUpdate"), errors=(*WRITE, 409),
       description="409 conflict when `version` is not the current one (or the report is closed); an illegal status step, "
                   "a missing verification or reason: 422."),
    # comments
    Op("GET", "/reports/{report_id}/comments", "list_comments", "The report's comments, oldest first", "comments", response=page_of(ref("Comment")),
       query=("discipline", *PAGING)),
    Op("POST", "/reports/{report_id}/comments", "add_comment", "Comment on a discipline (team members)", "comments", ok=201,
       response=ref("Comment"), body=ref("CommentCreate"), errors=WRITE),
    Op("PATCH", "/comments/{comment_id}", "edit_comment", "Edit one's own comment (within 15 minutes)", "comments", response=ref("Comment"),
       body=ref("CommentUpdate"), errors=(*WRITE, 409), description="409 when withdrawn or after the edit window (details.rule: edit_window)."),
    Op("DELETE", "/comments/{comment_id}", "withdraw_comment", "Withdraw a comment (author or admin; the audit trail keeps it)", "comments",
       ok=204, errors=(403,)),
    # evidence
    Op("POST", "/reports/{report_id}/attachments", "upload_attachment",
       "Upload evidence (multipart: file, discipline, action_id?, description?, replaces_id?, claim?)",
       "evidence", ok=201, response=ref("Attachment"), body_type="multipart/form-data",
       body={"type": "object", "required": ["file", "discipline"], "properties": {
           "file": {"type": "string", "format": "binary"}, "discipline": CODE, "action_id": {"type": "integer"},
           "description": {"type": "string", "maxLength": 2000}, "replaces_id": {"type": "integer", "description": "the evidence this is a new version of"},
           "claim": {"type": "string", "description": "attach the file at once to what it proves: an evidence field of the discipline "
                     "(validation_evidence) or a table cell (causes.<row id>.evidence); with action_id one of the action's evidence lists "
                     "(default: pre_verification_evidence for D5, implementation_evidence for D6, else evidence)"}}},
       errors=(403, 409, 413, 415, 422, 503),
       description="413 when larger than MAX_UPLOAD_MB; 415 when the content (not the name) is not an accepted type; 503 when the evidence store does not answer (nothing stored)."),
    Op("GET", "/reports/{report_id}/attachments", "list_attachments", "The report's evidence (withdrawn items included)", "evidence",
       response=page_of(ref("Attachment")), query=PAGING),
    Op("GET", "/attachments/{attachment_id}", "get_attachment", "Evidence metadata", "evidence", response=ref("Attachment")),
    Op("GET", "/attachments/{attachment_id}/content", "attachment_content", "The bytes, re-verified against their SHA-256", "evidence",
       response={"type": "string", "format": "binary"}, response_type="application/octet-stream", errors=(409, 503),
       description="Content-Disposition: attachment; X-Content-Type-Options: nosniff. 409 (details.rule corrupted or missing) when the stored bytes do not match; 503 when the evidence store does not answer."),
    Op("DELETE", "/attachments/{attachment_id}", "withdraw_attachment", "Withdraw evidence (audited; the bytes are kept until an admin purges them)",
       "evidence", ok=204, errors=(403, 409),
       description="Optional reason as JSON {\"reason\"} or ?reason=. When the file was proof of a discipline whose completion check had "
                   "passed, the header X-8D-Notes carries a JSON list of what the withdrawal did (the proof lost, customer acceptances "
                   "withdrawn; also in the audit trail). A file a discipline under review relies on: 409 (rule frozen)."),
]


def build_spec() -> dict:
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        item = paths.setdefault(op.path, {})
        key = op.method.lower()
        if key in item:
            raise ValueError(f"{op.method} {op.path} is described twice")
        item[key] = op.operation()
    error_schema = {"content": {JSON: {"schema": ref("Error")}}}
    spec = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "8D Workbench API",
            "version": API_VERSION,
            "description": (
                "One shared 8D report for a customer (OEM) and its supplier. JSON in and out, UTF-8; times ISO 8601 UTC. "
                "Authenticate with 'Authorization: Bearer <token>' from POST /tokens (a browser session works too, "
                "with an X-CSRFToken header on writes). Lists take ?page=&per_page= (default 50, max 200). "
                "Fields may be added to responses at any time."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "tags": [{"name": t} for t in dict.fromkeys(op.tag for op in OPERATIONS)],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "description": "a token from POST /tokens"}},
            "schemas": schemas(),
            "parameters": QUERY_PARAMS,
            "responses": {name: {"description": desc, **error_schema} for name, desc in ERRORS.values()},
        },
    }
    return copy.deepcopy(spec)  # no shared (module-level) dicts: callers may change their copy
