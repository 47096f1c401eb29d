"""The OpenAPI document at GET /api/v1/openapi.json: valid, complete (every /api/v1 route of the
app is described, and nothing else), consistent with the code (path parameters, @public), and
true (real responses have the documented status codes and validate against the documented
schemas, with every object closed so that an undocumented field fails too)."""

from __future__ import annotations

import copy
import datetime as dt
import re

import pytest

from app.api.auth import PUBLIC
from app.api.openapi import OPERATIONS, build_spec
from app.method import CODES, EXAMPLES, HEADER_EXAMPLE
from app.models import utcnow
from tests.conftest import PASSWORD, Api, login
from tests.helpers import ExampleWalk, example, example_upload, header

PREFIX = "/api/v1"
# API.md's codes, plus 503 `unavailable`: the evidence store away (an outage, never client input)
API_STATUSES = {200, 201, 204, 400, 401, 403, 404, 409, 413, 415, 422, 429, 503}
IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture
def spec(ctx):
    return build_spec()


def spec_path(rule: str) -> str:
    """'/api/v1/reports/<int:report_id>' -> '/reports/{report_id}'."""
    assert rule.startswith(PREFIX + "/")
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule[len(PREFIX):])


def api_rules(app):
    return [r for r in app.url_map.iter_rules() if r.rule == PREFIX or r.rule.startswith(PREFIX + "/")]


def resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        assert node["$ref"].startswith("#/"), node["$ref"]
        target = spec
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            yield method.upper(), path, op


# --------------------------------------------------------------------------- schema validation
def closed(schema):
    """A copy in which every object that lists its properties allows no others: responses may grow
    (API.md), but a field the code emits and the document does not describe must fail here."""
    if isinstance(schema, dict):
        out = {k: closed(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [closed(v) for v in schema]
    return schema


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_ANNOTATIONS = {"description", "title", "default", "example", "examples"}
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


MINI_KEYWORDS = _ANNOTATIONS | {"$ref", "type", "enum", "const", "format", "minimum", "maximum", "minLength", "maxLength", "minItems",
                                "maxItems", "required", "properties", "additionalProperties", "items", "anyOf", "oneOf", "allOf"}


def keywords(schema: dict) -> set[str]:
    """Every keyword used in a schema and its subschemas."""
    found = set(schema)
    subs = list(schema.get("properties", {}).values()) + [schema[k] for k in ("items", "additionalProperties") if isinstance(schema.get(k), dict)]
    subs += [s for k in ("anyOf", "oneOf", "allOf") for s in schema.get(k, [])]
    for sub in subs:
        found |= keywords(sub)
    return found


def _format_ok(fmt: str, value) -> bool:
    if not isinstance(value, str):
        return True
    if fmt == "date":
        if not _DATE.match(value):
            return False
        dt.date.fromisoformat(value)
    elif fmt == "date-time":
        return bool(_DATETIME.match(value))
    elif fmt == "email":
        return "@" in value
    return True


def mini_validate(instance, schema: dict, root: dict, where: str = "$") -> list[str]:
    """A small JSON Schema validator for the keywords this document uses, for machines without
    jsonschema; an unknown keyword fails loudly instead of passing silently."""
    errors: list[str] = []
    if "$ref" in schema:
        errors += mini_validate(instance, resolve(root, {"$ref": schema["$ref"]}), root, where)
    for key, value in schema.items():
        if key in _ANNOTATIONS or key == "$ref":
            continue
        if key == "type":
            types = value if isinstance(value, list) else [value]
            if not any(_TYPES[t](instance) for t in types):
                return errors + [f"{where}: {instance!r} is not of type {value}"]
        elif key == "enum":
            if instance not in value:
                errors.append(f"{where}: {instance!r} is not one of {value}")
        elif key == "const":
            if instance != value:
                errors.append(f"{where}: {instance!r} != {value!r}")
        elif key == "format":
            if not _format_ok(value, instance):
                errors.append(f"{where}: {instance!r} is not a {value}")
        elif key in ("minimum", "maximum"):
            if _TYPES["number"](instance) and (instance < value if key == "minimum" else instance > value):
                errors.append(f"{where}: {instance!r} breaks {key} {value}")
        elif key in ("minLength", "maxLength", "minItems", "maxItems"):
            if isinstance(instance, (str, list)) and (len(instance) < value if key.startswith("min") else len(instance) > value):
                errors.append(f"{where}: length {len(instance)} breaks {key} {value}")
        elif key == "required":
            if isinstance(instance, dict):
                errors += [f"{where}: {name!r} is required" for name in value if name not in instance]
        elif key == "properties":
            if isinstance(instance, dict):
                for name, sub in value.items():
                    if name in instance:
                        errors += mini_validate(instance[name], sub, root, f"{where}.{name}")
        elif key == "additionalProperties":
            if isinstance(instance, dict):
                for name in set(instance) - set(schema.get("properties", {})):
                    if value is False:
                        errors.append(f"{where}: {name!r} is not documented")
                    elif isinstance(value, dict):
                        errors += mini_validate(instance[name], value, root, f"{where}.{name}")
        elif key == "items":
            if isinstance(instance, list):
                for i, item in enumerate(instance):
                    errors += mini_validate(item, value, root, f"{where}[{i}]")
        elif key in ("anyOf", "oneOf"):
            matches = sum(not mini_validate(instance, sub, root, where) for sub in value)
            if matches == 0 or (key == "oneOf" and matches > 1):
                errors.append(f"{where}: {instance!r} matches {matches} of {key}")
        elif key == "allOf":
            for sub in value:
                errors += mini_validate(instance, sub, root, where)
        else:
            raise NotImplementedError(f"mini_validate does not know the keyword {key!r}")
    return errors


def schema_errors(instance, schema: dict, spec: dict) -> list[str]:
    """Errors of `instance` against `schema` (refs into spec's components), all objects closed."""
    root = {"components": closed(spec["components"]), **closed(schema)}
    try:
        import jsonschema
    except ImportError:
        return mini_validate(instance, closed(schema), root)
    validator = jsonschema.Draft202012Validator(root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path)) or '$'}: {e.message}" for e in validator.iter_errors(instance)]


class Checker:
    """Checks each response against the operation the app routed it to."""

    def __init__(self, app, spec):
        self.adapter = app.url_map.bind("localhost")
        self.spec = spec
        self.seen: set[tuple[str, str, int]] = set()

    def operation(self, method: str, path: str) -> tuple[str, dict]:
        rule, _ = self.adapter.match(path.split("?")[0], method=method, return_rule=True)
        p = spec_path(rule.rule)
        return p, self.spec["paths"][p][method.lower()]

    def check(self, response, method: str, path: str):
        p, op = self.operation(method, path)
        status = response.status_code
        assert str(status) in op["responses"], f"{method} {p} answered {status}, not documented: {response.get_data(as_text=True)[:300]}"
        documented = resolve(self.spec, op["responses"][str(status)])
        content = documented.get("content")
        if content is None:
            assert response.get_data() == b"", f"{method} {p} {status} has a body but none is documented"
        else:
            assert response.mimetype in content, (method, p, status, response.mimetype)
            errors = schema_errors(response.get_json(), content[response.mimetype]["schema"], self.spec)
            assert not errors, f"{method} {p} {status} does not match its schema:\n" + "\n".join(errors[:20])
        self.seen.add((method, p, status))
        return response


@pytest.fixture
def checker(app, spec):
    return Checker(app, spec)


def call(checker: Checker, who, method: str, path: str, expect: int, **kw):
    response = getattr(who, method.lower())(path, **kw)
    assert response.status_code == expect, (method, path, response.status_code, response.get_data(as_text=True)[:500])
    checker.check(response, method, path)
    return response.get_json()


# ------------------------------------------------------------------------------------- the tests
def test_served_publicly_as_built(client, spec):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json() == spec
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer", "description": "a token from POST /tokens"}


def test_spec_is_valid_openapi(spec):
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(spec)


def test_spec_is_well_formed(spec):
    """What can be checked without any validator installed: refs resolve, ids are unique, every
    status code is one of API.md's, every error answers with the error object."""

    def refs(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                yield node["$ref"]
            for v in node.values():
                yield from refs(v)
        elif isinstance(node, list):
            for v in node:
                yield from refs(v)

    for r in refs(spec):
        resolve(spec, {"$ref": r})
    ids = [op["operationId"] for _, _, op in operations(spec)]
    assert len(ids) == len(set(ids))
    error = {"$ref": "#/components/schemas/Error"}
    for method, path, op in operations(spec):
        assert op["summary"] and op["tags"], (method, path)
        for status, response in op["responses"].items():
            assert int(status) in API_STATUSES, (method, path, status)
            response = resolve(spec, response)
            if int(status) >= 400:
                assert response["content"]["application/json"]["schema"] == error, (method, path, status)
        assert "401" in op["responses"], (method, path)  # also public ones, when a bad token is sent
        if "requestBody" in op:
            assert {"400", "413"} <= set(op["responses"]), (method, path)
        if "{" in path:
            assert "404" in op["responses"], (method, path)
    for name, schema in spec["components"]["schemas"].items():  # the fallback validator knows every keyword used
        assert keywords(schema) <= MINI_KEYWORDS, (name, keywords(schema) - MINI_KEYWORDS)


def test_every_api_route_is_documented_and_nothing_else(app, spec):
    in_app = {}
    for rule in api_rules(app):
        for method in rule.methods - IGNORED_METHODS:
            in_app[(method, spec_path(rule.rule))] = rule
    in_spec = {(method, path): op for method, path, op in operations(spec)}
    assert sorted(set(in_app) - set(in_spec)) == [], "routes without an entry in app/api/openapi.py OPERATIONS"
    assert sorted(set(in_spec) - set(in_app)) == [], "documented operations that the app does not have"
    for key, rule in in_app.items():
        op = in_spec[key]
        assert op["operationId"] == rule.endpoint.split(".")[-1], key
        params = {p["name"]: p for p in (resolve(spec, p) for p in op.get("parameters", [])) if p["in"] == "path"}
        assert set(params) == set(rule.arguments), key
        for name, converter in rule._converters.items():
            expected = "integer" if type(converter).__name__ == "IntegerConverter" else "string"
            assert params[name]["schema"]["type"] == expected and params[name]["required"] is True, (key, name)


def test_public_endpoints_are_exactly_the_ones_without_security(app, spec):
    for method, path, op in operations(spec):
        assert ("security" in op and op["security"] == []) == (op["operationId"] in PUBLIC), (method, path)
    assert spec["security"] == [{"bearerAuth": []}]
    assert {"create_token", "method_definition", "openapi_spec"} <= PUBLIC


def test_operations_table_has_one_entry_per_operation():
    keys = [(op.method, op.path) for op in OPERATIONS]
    assert len(keys) == len(set(keys))


def test_generated_value_schemas_accept_the_method_examples(spec):
    assert not schema_errors(HEADER_EXAMPLE, {"$ref": "#/components/schemas/ReportHeader"}, spec)
    for code in CODES:
        assert not schema_errors(EXAMPLES[code], {"$ref": f"#/components/schemas/{code}Fields"}, spec), code
    # and they are not vacuous
    assert schema_errors({"no_such_field": 1}, {"$ref": "#/components/schemas/D0Fields"}, spec)
    assert schema_errors({"symptom": 5}, {"$ref": "#/components/schemas/D0Fields"}, spec)


def test_schema_check_catches_undocumented_and_wrong_fields(spec):
    company = {"id": 1, "name": "Volta", "kind": "oem"}
    assert not schema_errors(company, {"$ref": "#/components/schemas/Company"}, spec)
    assert schema_errors({**company, "secret": 1}, {"$ref": "#/components/schemas/Company"}, spec)
    assert schema_errors({**company, "kind": "bank"}, {"$ref": "#/components/schemas/Company"}, spec)
    assert schema_errors({"id": 1, "name": "Volta"}, {"$ref": "#/components/schemas/Company"}, spec)


def test_real_responses_match_the_document(client, api, parties, platform_admin, checker):
    p = parties
    anon = api()
    oem = api(p.oem_eng)  # becomes the champion
    sup = api(p.sup_eng)
    admin = api(platform_admin)
    company_admin = api(p.admin)
    qlead = api(p.oem_lead)

    # session, self-description
    call(checker, anon, "GET", "/api/v1/openapi.json", 200)
    call(checker, anon, "GET", "/api/v1/method", 200)
    call(checker, anon, "GET", "/api/v1/me", 401)
    call(checker, Api(client, "not-a-token"), "GET", "/api/v1/me", 401)
    token = call(checker, anon, "POST", "/api/v1/tokens", 201, json={"email": p.sup_eng2.email, "password": PASSWORD})["token"]
    call(checker, anon, "POST", "/api/v1/tokens", 401, json={"email": p.sup_eng2.email, "password": "wrong-password-123"})
    call(checker, anon, "POST", "/api/v1/tokens", 400, json={"email": 5})
    me = call(checker, oem, "GET", "/api/v1/me", 200)
    assert me["id"] == p.oem_eng.id and me["company"]["kind"] == "oem"
    call(checker, oem, "GET", "/api/v1/companies", 200)
    call(checker, oem, "GET", f"/api/v1/users?company_id={p.supplier.id}&per_page=2", 200)
    call(checker, oem, "GET", "/api/v1/users?company_id=x", 400)

    # administration
    company = call(checker, admin, "POST", "/api/v1/admin/companies", 201, json={"name": "Baltic Cells OY", "kind": "supplier"})
    call(checker, admin, "POST", "/api/v1/admin/companies", 409, json={"name": "Baltic Cells OY", "kind": "supplier"})
    call(checker, oem, "POST", "/api/v1/admin/companies", 403, json={"name": "X", "kind": "supplier"})
    user = call(checker, admin, "POST", "/api/v1/admin/users", 201, json={
        "email": "new@baltic.example", "name": "New Person", "company_id": company["id"], "role": "engineer", "password": PASSWORD})
    call(checker, admin, "PATCH", f"/api/v1/admin/users/{user['id']}", 200, json={"active": False})
    call(checker, admin, "PATCH", f"/api/v1/admin/users/{user['id']}", 422, json={"role": "king"})
    call(checker, admin, "PATCH", "/api/v1/admin/users/999999", 404, json={"active": True})
    assert call(checker, admin, "GET", "/api/v1/me", 200)["platform_admin"] is True
    assert call(checker, company_admin, "GET", "/api/v1/me", 200)["platform_admin"] is False
    call(checker, company_admin, "POST", "/api/v1/admin/companies", 403, json={"name": "Y", "kind": "supplier"})
    call(checker, company_admin, "POST", "/api/v1/admin/users", 404, json={
        "email": "other@baltic.example", "name": "Other", "company_id": company["id"], "role": "engineer", "password": PASSWORD})
    call(checker, company_admin, "PATCH", f"/api/v1/admin/users/{user['id']}", 404, json={"active": True})
    call(checker, company_admin, "PATCH", f"/api/v1/admin/users/{platform_admin.id}", 404, json={"active": False})
    own = call(checker, company_admin, "POST", "/api/v1/admin/users", 201, json={
        "email": "colleague@volta.example", "name": "Colleague", "company_id": p.oem.id, "role": "engineer", "password": PASSWORD})
    assert own["platform_admin"] is False
    call(checker, company_admin, "POST", "/api/v1/admin/users", 403, json={
        "email": "boss@volta.example", "name": "Boss", "company_id": p.oem.id, "role": "admin", "password": PASSWORD, "platform_admin": True})
    call(checker, company_admin, "PATCH", f"/api/v1/admin/users/{own['id']}", 403, json={"platform_admin": True})

    # reports
    body = {"title": "Cracked cell-tab welds", "oem_id": p.oem.id, "supplier_id": p.supplier.id, "part_number": "BM-12S-4471", "complaint_ref": "VM-QN-1"}
    report = call(checker, oem, "POST", "/api/v1/reports", 201, json=body)
    rid = report["id"]
    call(checker, oem, "POST", "/api/v1/reports", 422, json={**body, "colour": "red"})
    refused = call(checker, oem, "POST", f"/api/v1/reports/{rid}/advance", 409, json={"comment": "ready"})
    assert refused["error"] == "gate_not_met" and refused["details"]["missing"]
    call(checker, oem, "POST", "/api/v1/reports", 400, data="{not json", headers={"Content-Type": "application/json"})
    call(checker, oem, "PATCH", f"/api/v1/reports/{rid}", 200, json={k: v for k, v in header().items() if k != "title"})
    call(checker, oem, "GET", f"/api/v1/reports/{rid}", 200)
    call(checker, api(p.other_eng), "GET", f"/api/v1/reports/{rid}", 404)
    call(checker, oem, "GET", "/api/v1/reports/999999", 404)
    listed = call(checker, oem, "GET", "/api/v1/reports?status=open&stage=D0&q=cracked&page=1&per_page=10", 200)
    assert [r["id"] for r in listed["items"]] == [rid]
    call(checker, oem, "GET", f"/api/v1/reports?overdue=true&supplier_id={p.supplier.id}&oem_id={p.oem.id}", 200)
    call(checker, oem, "GET", "/api/v1/reports?status=sleeping", 400)

    # disciplines
    saved = call(checker, oem, "PATCH", f"/api/v1/reports/{rid}/disciplines/D0", 200, json={"base_version": 0, "fields": example("D0")})
    assert saved["version"] == 1
    call(checker, oem, "PATCH", f"/api/v1/reports/{rid}/disciplines/D0", 409, json={"base_version": 0, "fields": {"symptom": "something else"}})
    call(checker, oem, "PATCH", f"/api/v1/reports/{rid}/disciplines/D0", 422, json={"base_version": 1, "fields": {"nope": 1}})
    call(checker, oem, "PATCH", f"/api/v1/reports/{rid}/disciplines/D0", 400, json={"base_version": "1", "fields": {}})
    call(checker, oem, "GET", f"/api/v1/reports/{rid}/disciplines/D0", 200)
    call(checker, oem, "GET", f"/api/v1/reports/{rid}/disciplines/D9", 404)
    d4 = ExampleWalk(rid, {"leader": oem}, {}).values("D4")  # its evidence: files uploaded to the report
    call(checker, oem, "PATCH", f"/api/v1/reports/{rid}/disciplines/D4", 422, json={"base_version": 0, "fields": example("D4")})  # placeholder ids
    call(checker, oem, "PATCH", f"/api/v1/reports/{rid}/disciplines/D4", 200, json={"base_version": 0, "fields": d4})
    call(checker, oem, "GET", f"/api/v1/reports/{rid}", 200)  # tables with row ids, values of two disciplines

    # team
    call(checker, oem, "POST", f"/api/v1/reports/{rid}/team", 201, json={"user_id": p.sup_eng.id, "role": "leader"})
    call(checker, oem, "POST", f"/api/v1/reports/{rid}/team", 201, json={"user_id": p.sup_eng2.id})
    call(checker, oem, "POST", f"/api/v1/reports/{rid}/team", 409, json={"user_id": p.sup_eng2.id})
    call(checker, oem, "POST", f"/api/v1/reports/{rid}/team", 422, json={"user_id": p.other_eng.id, "role": "member"})
    call(checker, oem, "POST", f"/api/v1/reports/{rid}/team", 400, json={"user_id": "me"})
    call(checker, oem, "PATCH", f"/api/v1/reports/{rid}/team/{p.sup_eng2.id}", 200, json={"function": "Process engineer"})
    call(checker, oem, "GET", f"/api/v1/reports/{rid}/team", 200)
    call(checker, oem, "GET", f"/api/v1/reports/{rid}/users?q=a&per_page=5", 200)
    call(checker, api(p.sup_eng2), "GET", f"/api/v1/reports/{rid}/users", 403)
    call(checker, sup, "DELETE", f"/api/v1/reports/{rid}/team/{p.sup_eng2.id}", 204)
    call(checker, sup, "DELETE", f"/api/v1/reports/{rid}/team/{p.sup_eng2.id}", 404)

    # workflow
    call(checker, oem, "GET", f"/api/v1/reports/{rid}/gate", 200)
    call(checker, api(p.other_eng), "POST", f"/api/v1/reports/{rid}/advance", 404, json={})  # another supplier sees nothing
    call(checker, qlead, "POST", f"/api/v1/reports/{rid}/review", 409, json={"decision": "approve", "password": PASSWORD})
    call(checker, sup, "POST", f"/api/v1/reports/{rid}/review", 403, json={"decision": "approve", "password": PASSWORD})
    call(checker, sup, "POST", f"/api/v1/reports/{rid}/return", 422, json={"to": "D0", "comment": "back"})
    call(checker, sup, "POST", f"/api/v1/reports/{rid}/return", 400, json={"to": 4, "comment": "back"})
    call(checker, qlead, "POST", f"/api/v1/reports/{rid}/reopen", 409, json={"comment": "again", "password": PASSWORD})

    # history, export
    events = call(checker, oem, "GET", f"/api/v1/reports/{rid}/events?discipline=D0", 200)
    assert events["items"] and all(e["discipline"] == "D0" for e in events["items"])
    call(checker, oem, "GET", f"/api/v1/reports/{rid}/events", 200)
    call(checker, oem, "GET", f"/api/v1/reports/{rid}/events?discipline=D12", 400)
    call(checker, oem, "GET", f"/api/v1/reports/{rid}/export", 200)

    # comments
    comment = call(checker, sup, "POST", f"/api/v1/reports/{rid}/comments", 201, json={"discipline": "D0", "body": f"**Seen.** @{p.oem_eng.email}"})
    call(checker, sup, "POST", f"/api/v1/reports/{rid}/comments", 422, json={"discipline": "D9", "body": "x"})
    call(checker, api(p.oem_eng2), "POST", f"/api/v1/reports/{rid}/comments", 403, json={"discipline": "D0", "body": "x"})
    call(checker, sup, "PATCH", f"/api/v1/comments/{comment['id']}", 200, json={"body": "Seen, thanks."})
    call(checker, oem, "PATCH", f"/api/v1/comments/{comment['id']}", 403, json={"body": "not mine"})
    call(checker, oem, "DELETE", f"/api/v1/comments/{comment['id']}", 403)
    call(checker, sup, "DELETE", f"/api/v1/comments/{comment['id']}", 204)
    call(checker, sup, "PATCH", f"/api/v1/comments/{comment['id']}", 409, json={"body": "again"})
    call(checker, oem, "GET", f"/api/v1/reports/{rid}/comments?discipline=D0", 200)
    call(checker, oem, "DELETE", "/api/v1/comments/999999", 404)
    call(checker, oem, "GET", f"/api/v1/reports/{rid}/export", 200)  # with a comment, withdrawn

    # the end of a token
    mine = Api(client, token)
    call(checker, mine, "DELETE", "/api/v1/tokens/current", 204)
    call(checker, mine, "GET", "/api/v1/me", 401)


def test_a_walk_to_review_and_closure_matches_the_document(api, parties, checker):
    """In review and closed: pending review, reviews with signatures, the closure signature."""
    p = parties
    oem, lead, qlead = api(p.oem_eng), api(p.sup_eng), api(p.oem_lead)
    body = {"title": "Cracked cell-tab welds", "oem_id": p.oem.id, "supplier_id": p.supplier.id}
    rid = call(checker, oem, "POST", "/api/v1/reports", 201, json=body)["id"]
    for user, role in ((p.sup_eng, "leader"), (p.sup_eng2, "member")):
        call(checker, oem, "POST", f"/api/v1/reports/{rid}/team", 201, json={"user_id": user.id, "role": role})
    call(checker, oem, "PATCH", f"/api/v1/reports/{rid}/team/{p.oem_eng.id}", 200, json={"role": "member"})
    call(checker, lead, "POST", f"/api/v1/reports/{rid}/team", 201, json={"user_id": p.sup_lead.id, "role": "champion"})
    call(checker, lead, "PATCH", f"/api/v1/reports/{rid}", 200, json={k: v for k, v in header().items() if k != "title"})
    walk = ExampleWalk(rid, {"leader": lead, "champion": api(p.sup_lead), "supplier_member": api(p.sup_eng2), "customer_member": oem},
                       {"leader": p.sup_eng, "champion": p.sup_lead, "supplier_member": p.sup_eng2, "customer_member": p.oem_eng})
    for code in CODES:
        if code != "D1":
            values = walk.prepare(code)
            version = lead.get(f"/api/v1/reports/{rid}").get_json()["disciplines"][code]["version"]
            call(checker, lead, "PATCH", f"/api/v1/reports/{rid}/disciplines/{code}", 200, json={"base_version": version, "fields": values})
        result = call(checker, lead, "POST", f"/api/v1/reports/{rid}/advance", 200, json={"comment": "ready"})
        if result["status"] == "in_review":
            assert result["review"]["stage"] == code
            call(checker, qlead, "POST", f"/api/v1/reports/{rid}/review", 403, json={"decision": "approve", "password": "not-my-password"})
            call(checker, qlead, "POST", f"/api/v1/reports/{rid}/review", 422, json={"decision": "reject"})
            call(checker, qlead, "POST", f"/api/v1/reports/{rid}/review", 200, json={"decision": "approve", "password": PASSWORD})
    closed_report = call(checker, oem, "GET", f"/api/v1/reports/{rid}", 200)
    assert closed_report["status"] == "closed" and closed_report["signature"]["meaning"] == "closure approved"
    call(checker, oem, "PATCH", f"/api/v1/reports/{rid}/disciplines/D2", 409, json={"base_version": 1, "fields": {}})
    call(checker, oem, "GET", f"/api/v1/reports/{rid}/export", 200)
    actions = call(checker, oem, "GET", f"/api/v1/reports/{rid}/actions?per_page=200", 200)["items"]
    assert {a["ref"] for a in actions} == {"ICA1", "ICA2", "ICA3", "ICA4", "PCA1", "PCA2", "PCA3", "PA1"}  # every field documented
    reopened = call(checker, qlead, "POST", f"/api/v1/reports/{rid}/reopen", 200, json={"comment": "Field returns again.", "password": PASSWORD, "to": "D4"})
    assert reopened["status"] == "open" and reopened["stage"] == "D4"
    call(checker, lead, "POST", f"/api/v1/reports/{rid}/return", 200, json={"to": "D2", "comment": "The team must be re-checked."})


def test_actions_match_the_document(app, api, parties, checker):
    if "api.create_action" not in app.view_functions:
        pytest.skip("no actions API yet")
    from app.api.openapi import ACTION_CAUSES
    from app.services.actions import CAUSES

    assert tuple(CAUSES) == ACTION_CAUSES
    p = parties
    oem, sup, other = api(p.oem_eng), api(p.sup_eng), api(p.oem_eng2)
    body = {"title": "Cracked cell-tab welds", "oem_id": p.oem.id, "supplier_id": p.supplier.id}
    rid = call(checker, oem, "POST", "/api/v1/reports", 201, json=body)["id"]
    call(checker, oem, "POST", f"/api/v1/reports/{rid}/team", 201, json={"user_id": p.sup_eng.id, "role": "leader"})
    due = (utcnow().date() + dt.timedelta(days=7)).isoformat()
    action = call(checker, sup, "POST", f"/api/v1/reports/{rid}/actions", 201, json={
        "kind": "containment", "title": "Sort all stock", "owner_id": p.sup_eng.id, "due_date": due, "location": "supplier_stock", "qty_suspect": 120})
    call(checker, sup, "POST", f"/api/v1/reports/{rid}/actions", 422, json={"kind": "magic", "title": "x", "owner_id": p.sup_eng.id, "due_date": due})
    call(checker, sup, "POST", f"/api/v1/reports/{rid}/actions", 400, json={"kind": "corrective", "title": "x", "owner_id": "me", "due_date": due})
    call(checker, other, "POST", f"/api/v1/reports/{rid}/actions", 403, json={"kind": "corrective", "title": "x", "owner_id": p.sup_eng.id, "due_date": due})
    call(checker, sup, "GET", f"/api/v1/reports/{rid}/actions?kind=containment&status=active", 200)
    call(checker, sup, "GET", "/api/v1/actions?owner=me&overdue=true&due_within=30&q=sort&per_page=5", 200)
    call(checker, sup, "GET", "/api/v1/actions?owner=nobody", 400)
    call(checker, sup, "GET", f"/api/v1/actions/{action['id']}", 200)
    call(checker, api(p.other_eng), "GET", f"/api/v1/actions/{action['id']}", 404)
    changed = call(checker, sup, "PATCH", f"/api/v1/actions/{action['id']}", 200, json={"version": action["version"], "status": "in_progress", "qty_checked": 40})
    call(checker, sup, "PATCH", f"/api/v1/actions/{action['id']}", 409, json={"version": action["version"], "title": "stale"})
    call(checker, sup, "PATCH", f"/api/v1/actions/{action['id']}", 422, json={"version": changed["version"], "status": "verified"})
    call(checker, sup, "PATCH", f"/api/v1/actions/{action['id']}", 200, json={"version": changed["version"], "status": "cancelled", "reason": "Duplicate."})
    exported = call(checker, oem, "GET", f"/api/v1/reports/{rid}/export", 200)
    assert exported.get("actions"), "the export carries the actions"


def test_evidence_fields_and_a_decline_match_the_document(api, parties, checker):
    """Evidence: a claim at upload, withdrawal notes; the decline: requested, refused, accepted."""
    p = parties
    oem, lead, qlead = api(p.oem_eng), api(p.sup_eng), api(p.oem_lead)
    body = {"title": "Label with wrong part number", "oem_id": p.oem.id, "supplier_id": p.supplier.id}
    rid = call(checker, oem, "POST", "/api/v1/reports", 201, json=body)["id"]
    call(checker, oem, "POST", f"/api/v1/reports/{rid}/team", 201, json={"user_id": p.sup_eng.id, "role": "leader"})
    file_id = example_upload(lead, rid, 9304)
    call(checker, lead, "PATCH", f"/api/v1/reports/{rid}/disciplines/D6", 200, json={"base_version": 0, "fields": {"validation_evidence": [file_id]}})
    call(checker, lead, "PATCH", f"/api/v1/reports/{rid}/disciplines/D6", 422, json={"base_version": 1, "fields": {"validation_evidence": [999999]}})
    call(checker, lead, "PATCH", f"/api/v1/reports/{rid}/disciplines/D6", 400, json={"base_version": 1, "fields": {"validation_evidence": "file.pdf"}})
    call(checker, lead, "PATCH", f"/api/v1/reports/{rid}/disciplines/D3", 422, json={"base_version": 0, "fields": {"containment": []}})
    call(checker, lead, "POST", f"/api/v1/reports/{rid}/decline", 422, json={"reason": "duplicate", "comment": "Same as the other one.", "evidence": [file_id]})
    call(checker, lead, "POST", f"/api/v1/reports/{rid}/decline", 422, json={"reason": "not_our_part", "comment": "x", "evidence": []})
    call(checker, lead, "POST", f"/api/v1/reports/{rid}/decline", 400, json={"reason": "not_our_part", "comment": "x", "evidence": "all"})
    call(checker, oem, "POST", f"/api/v1/reports/{rid}/decline", 403, json={"reason": "not_our_part", "comment": "x", "evidence": [file_id]})
    asked = call(checker, lead, "POST", f"/api/v1/reports/{rid}/decline", 200, json={
        "reason": "not_our_part", "comment": "The label is printed by the OEM's logistics provider.", "evidence": [file_id]})
    assert asked["status"] == "in_review" and asked["review"]["kind"] == "decline"
    call(checker, lead, "POST", f"/api/v1/reports/{rid}/decline", 409, json={"reason": "not_our_part", "comment": "again", "evidence": [file_id]})
    refused = call(checker, qlead, "POST", f"/api/v1/reports/{rid}/review", 200, json={"decision": "reject", "comment": "Our provider uses your template."})
    assert refused["status"] == "open" and refused["reviews"][-1]["kind"] == "decline"
    call(checker, lead, "POST", f"/api/v1/reports/{rid}/decline", 200, json={
        "reason": "customer_caused", "comment": "The template was changed by the OEM on 2026-09-01.", "evidence": [file_id]})
    closed = call(checker, qlead, "POST", f"/api/v1/reports/{rid}/review", 200, json={"decision": "approve", "password": PASSWORD})
    assert closed["status"] == "closed" and closed["outcome"] == "declined" and closed["signature"]["meaning"] == "decline accepted"
    call(checker, lead, "DELETE", f"/api/v1/attachments/{file_id}", 409)  # closed
    call(checker, lead, "GET", "/api/v1/reports?status=closed", 200)


def test_cookie_session_writes_without_csrf_are_documented(app, client, parties, checker):
    login(client, parties.oem_eng)
    call(checker, client, "GET", "/api/v1/me", 200)
    body = {"title": "x", "oem_id": parties.oem.id, "supplier_id": parties.supplier.id}
    refused = call(checker, client, "POST", "/api/v1/reports", 400, json=body)
    assert refused["error"] == "bad_request"


def test_a_too_large_body_is_documented(app, api, parties, checker):
    limit = app.config["MAX_JSON_BYTES"]
    oem = api(parties.oem_eng)
    call(checker, oem, "POST", "/api/v1/reports", 413, data="{" + " " * limit + "}", headers={"Content-Type": "application/json"})


def test_the_closed_copy_does_not_touch_the_document(spec):
    before = copy.deepcopy(spec)
    closed(spec["components"])
    assert spec == before
