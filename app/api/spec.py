"""The OpenAPI 3.1 document of the API, generated: from the app's URL map (paths, methods, path
parameters), from what each view declares with @operation (summary, request and response shapes,
the status codes its errors add), from the shapes in app/schemas/ (pydantic models: their JSON
Schema is OpenAPI 3.1's dialect) and from the method (the schemas of header and discipline
values). Nothing is written twice: the serializers build the same shapes that are documented here.

A route of the API without @operation has no place in the document: building it fails
(UndocumentedRoute), and so does every test that reads it.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from app.method.definition import CODES
from app.schemas.base import ref
from app.schemas.errors import Error
from app.schemas.method import method_components
from app.schemas.reports import Discipline

OPENAPI_VERSION = "3.1.0"
JSON = "application/json"
IGNORED_METHODS = {"HEAD", "OPTIONS"}

ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "Malformed JSON, wrong types, or a missing CSRF token on a cookie-session request (bad_request)."),
    401: ("Unauthorized", "No, an invalid, expired or revoked token (unauthorized)."),
    403: ("Forbidden", "Not allowed for the caller's role (forbidden)."),
    404: ("NotFound", "No such object, or the caller may not see it (not_found)."),
    409: ("Conflict", "conflict (stale version, frozen or closed report; details.fields / details.rule) or gate_not_met (details.missing)."),
    410: ("Gone", "The invitation link was used, revoked or has expired (gone)."),
    413: ("TooLarge", "The request body is too large (too_large)."),
    415: ("UnsupportedMediaType", "The type of the upload is not allowed (unsupported_media_type)."),
    422: ("Invalid", "Values that break a rule (invalid; details.fields: {field: message} or details.rule)."),
    429: ("RateLimited", "Too many tries (rate_limited)."),
    503: ("Unavailable", "The evidence store or the database does not answer for the moment; nothing was changed, try again (unavailable)."),
}
SUCCESS = {200: "OK", 201: "Created", 204: "No Content"}
PATH_PARAMS = {"report_id": "a report's id", "user_id": "a user's id", "comment_id": "a comment's id", "action_id": "an action's id",
               "attachment_id": "an attachment's id", "code": "a discipline code", "invitation_id": "an invitation's id",
               "token": "the key of an invitation link (from the e-mail)", "company_id": "a company's id"}
INFO = {
    "title": "8D Workbench API",
    "version": "1",
    "description": "One shared 8D report for a customer (OEM) and its supplier. JSON in and out, UTF-8; times ISO 8601 UTC. "
    "Authenticate with 'Authorization: Bearer <token>' from POST /tokens (a browser session works too, with an X-CSRFToken header "
    "on writes). Lists take ?page=&per_page= (default 50, max 200). Fields may be added to responses at any time.",
}


class UndocumentedRoute(LookupError):
    """An /api/v1 route whose view has no @operation."""


@dataclass(frozen=True)
class Operation:
    """What a view declares about itself; the rest comes from its rule."""

    summary: str
    tag: str
    response: type[BaseModel] | dict | None = None  # the success body: a shape, or a raw schema (file contents); None: no body
    ok: int = 200
    response_type: str = JSON
    body: type[BaseModel] | None = None
    body_type: str = JSON
    body_required: bool = True
    query: tuple[type[BaseModel], ...] = ()
    errors: tuple[int, ...] = ()  # besides 401, and 400/404/413 that follow from body, query and path
    description: str = ""

    def status_codes(self, path: str, method: str) -> list[int]:
        codes = {self.ok, 401, *self.errors}
        if self.body is not None:
            codes |= {400, 413}
        if method != "GET" or self.query:
            codes.add(400)  # CSRF on cookie sessions; malformed query values
        if "{" in path:
            codes.add(404)
        return sorted(codes)


def operation(summary: str, tag: str, **kw: Any):
    """Declare a view's place in the document (put it above @bp.route)."""
    declared = Operation(summary, tag, **kw)

    def mark(view):
        view.api_operation = declared
        return view

    return mark


class _Schemas(GenerateJsonSchema):
    """pydantic's JSON Schema without the generated titles (noise for readers)."""

    def field_title_should_be_set(self, schema) -> bool:
        return False

    def default_schema(self, schema):
        if schema.get("default", 0) is None:  # absent(): a field that may be left out, not one that defaults to null
            return self.generate_inner(schema["schema"])
        return super().default_schema(schema)

    def generate(self, schema, mode="validation"):
        out = super().generate(schema, mode)
        out.pop("title", None)
        return out


def _strip_titles(node: Any) -> None:
    """Drop the models' titles: a component's name says it."""
    if isinstance(node, dict):
        if isinstance(node.get("title"), str) and ("type" in node or "properties" in node):
            node.pop("title")
        for value in node.values():
            _strip_titles(value)
    elif isinstance(node, list):
        for value in node:
            _strip_titles(value)


def spec_path(rule: str, prefix: str) -> str:
    """'/api/v1/reports/<int:report_id>' -> '/reports/{report_id}'."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule[len(prefix):])


def _path_parameter(name: str, converter: str) -> dict:
    if converter == "IntegerConverter":
        schema: dict[str, Any] = {"type": "integer", "minimum": 1}
    elif name == "code":
        schema = {"type": "string", "enum": list(CODES)}
    else:
        schema = {"type": "string"}
    return {"name": name, "in": "path", "required": True, "description": PATH_PARAMS.get(name, name), "schema": schema}


def _operations(app: Flask, prefix: str):
    """(path, method, endpoint, rule, Operation) for every route under the prefix."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if not rule.rule.startswith(prefix + "/"):
            continue
        declared = getattr(app.view_functions[rule.endpoint], "api_operation", None)
        if declared is None:
            raise UndocumentedRoute(f"{rule.rule} ({rule.endpoint}) has no @operation")
        for method in sorted(rule.methods - IGNORED_METHODS):
            yield spec_path(rule.rule, prefix), method, rule, declared


def _component_schemas(ops: list) -> dict[str, dict]:
    models: dict[type[BaseModel], str] = {Error: "serialization", Discipline: "serialization"}
    for *_, op in ops:
        if isinstance(op.response, type):
            models[op.response] = "serialization"
        if op.body is not None:
            models[op.body] = "validation"
    _, top = models_json_schema(list(models.items()), ref_template="#/components/schemas/{model}", schema_generator=_Schemas)
    schemas = top["$defs"]
    _strip_titles(schemas)
    schemas.update(method_components(schemas["Discipline"]))
    return dict(sorted(schemas.items()))


def _responses(op: Operation, path: str, method: str) -> dict:
    out: dict[str, Any] = {}
    for code in op.status_codes(path, method):
        if code != op.ok:
            out[str(code)] = {"$ref": f"#/components/responses/{ERRORS[code][0]}"}
            continue
        out[str(code)] = {"description": SUCCESS[code]}
        if op.response is not None:
            schema = ref(op.response.__name__) if isinstance(op.response, type) else op.response
            out[str(code)]["content"] = {op.response_type: {"schema": schema}}
    return out


def _operation(path: str, method: str, rule, op: Operation, public: bool) -> dict:
    out: dict[str, Any] = {"operationId": rule.endpoint.rsplit(".", 1)[-1], "summary": op.summary, "tags": [op.tag]}
    if op.description:
        out["description"] = op.description
    params = [_path_parameter(name, type(rule._converters[name]).__name__) for name in re.findall(r"{(\w+)}", path)]
    for model in op.query:
        schema = model.model_json_schema(schema_generator=_Schemas)
        for name, prop in schema["properties"].items():
            prop = dict(prop)
            params.append({"name": name, "in": "query", "required": False, "description": prop.pop("description", ""), "schema": prop})
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {"required": op.body_required, "content": {op.body_type: {"schema": ref(op.body.__name__)}}}
    out["responses"] = _responses(op, path, method)
    if public:
        out["security"] = []
    return out


def build_spec(app: Flask, prefix: str = "/api/v1") -> dict:
    """The document; made once per app (it depends on the code only) and copied for each caller."""
    cached = app.extensions.get("openapi_spec")
    if cached is None:
        ops = list(_operations(app, prefix))
        paths: dict[str, dict] = {}
        for path, method, rule, op in ops:
            public = bool(getattr(app.view_functions[rule.endpoint], "public", False))
            paths.setdefault(path, {})[method.lower()] = _operation(path, method, rule, op, public)
        error = {"content": {JSON: {"schema": ref("Error")}}}
        cached = app.extensions["openapi_spec"] = {
            "openapi": OPENAPI_VERSION,
            "info": INFO,
            "servers": [{"url": prefix}],
            "tags": [{"name": t} for t in dict.fromkeys(op.tag for *_, op in ops)],
            "security": [{"bearerAuth": []}],
            "paths": paths,
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "description": "a token from POST /tokens"}},
                "schemas": _component_schemas(ops),
                "responses": {name: {"description": desc, **error} for name, desc in ERRORS.values()},
            },
        }
    return copy.deepcopy(cached)
