"""The OpenAPI document at GET /api/v1/openapi.json: valid OpenAPI 3.1, complete (every /api/v1
route of the app is in it and nothing else; a route without a declaration breaks it), true to the
contract of docs/api.md (paths, methods, operation ids and status codes pinned below), consistent
with the code (path parameters, @public) - and generated from the shapes the serializers build, so
that a shape and its document cannot disagree. Real answers are checked against it in
tests/test_openapi_responses.py."""

from __future__ import annotations

import copy

import pytest
from flask import Blueprint, Flask
from openapi_spec_validator import validate
from pydantic import ValidationError

from app.api.spec import UndocumentedRoute, build_spec, operation
from app.method import CODES, EXAMPLES, HEADER_EXAMPLE
from app.schemas.accounts import Company
from app.services.action_input import CAUSES
from tests.support.openapi import PREFIX, closed, operations, resolve, schema_errors, spec_path

# docs/api.md's codes, plus 503 `unavailable`: the evidence store away (an outage, never client input),
# and 410 `gone`: an invitation link used, revoked or expired (Wave 2)
API_STATUSES = {200, 201, 204, 400, 401, 403, 404, 409, 410, 413, 415, 422, 429, 503}
IGNORED_METHODS = {"HEAD", "OPTIONS"}
PUBLIC_OPERATIONS = {"create_token", "method_definition", "openapi_spec", "accept_invitation"}

# The contract (docs/api.md; docs/api.md): method, path, operationId, every status code. A route
# renamed, moved, dropped or added, an operationId changed, a code lost or gained: this test fails.
CONTRACT = [
    ("GET", "/actions", "list_actions", (200, 400, 401)),
    ("GET", "/actions/{action_id}", "get_action", (200, 401, 404)),
    ("PATCH", "/actions/{action_id}", "update_action", (200, 400, 401, 403, 404, 409, 413, 422)),
    ("POST", "/admin/companies", "admin_create_company", (201, 400, 401, 403, 409, 413, 422)),
    ("PATCH", "/admin/companies/{company_id}", "admin_company_settings", (200, 400, 401, 403, 404, 413, 422)),
    ("POST", "/admin/users", "admin_create_user", (201, 400, 401, 403, 404, 409, 413, 422)),
    ("PATCH", "/admin/users/{user_id}", "admin_update_user", (200, 400, 401, 403, 404, 413, 422)),
    ("POST", "/admin/webhooks", "create_webhook", (201, 400, 401, 403, 413, 422)),
    ("GET", "/admin/webhooks", "list_webhooks", (200, 400, 401, 403)),
    ("DELETE", "/admin/webhooks/{webhook_id}", "delete_webhook", (204, 400, 401, 403, 404)),
    ("GET", "/admin/webhooks/{webhook_id}/deliveries", "list_webhook_deliveries", (200, 400, 401, 403, 404)),
    ("POST", "/admin/webhooks/{webhook_id}/deliveries/{delivery_id}/resend", "resend_webhook_delivery", (200, 400, 401, 403, 404)),
    ("GET", "/attachments/{attachment_id}", "get_attachment", (200, 401, 404)),
    ("DELETE", "/attachments/{attachment_id}", "withdraw_attachment", (204, 400, 401, 403, 404, 409)),
    ("GET", "/attachments/{attachment_id}/content", "attachment_content", (200, 401, 404, 409, 503)),
    ("PATCH", "/comments/{comment_id}", "edit_comment", (200, 400, 401, 403, 404, 409, 413, 422)),
    ("DELETE", "/comments/{comment_id}", "withdraw_comment", (204, 400, 401, 403, 404)),
    ("GET", "/companies", "companies", (200, 400, 401)),
    ("GET", "/kpis", "get_kpis", (200, 400, 401, 422)),
    ("DELETE", "/invitations/{invitation_id}", "revoke_invitation", (204, 400, 401, 403, 404, 409)),
    ("POST", "/invitations/{token}", "accept_invitation", (201, 400, 401, 404, 409, 410, 413, 422)),
    ("GET", "/me", "me", (200, 401)),
    ("PATCH", "/me", "update_me", (200, 400, 401, 413, 422)),
    ("GET", "/method", "method_definition", (200, 401)),
    ("GET", "/openapi.json", "openapi_spec", (200, 401)),
    ("GET", "/reports", "list_reports", (200, 400, 401)),
    ("POST", "/reports", "create_report", (201, 400, 401, 403, 413, 422)),
    ("GET", "/reports/{report_id}", "get_report", (200, 401, 404)),
    ("PATCH", "/reports/{report_id}", "update_report_header", (200, 400, 401, 403, 404, 409, 413, 422)),
    ("GET", "/reports/{report_id}/actions", "report_actions", (200, 400, 401, 404)),
    ("POST", "/reports/{report_id}/actions", "create_action", (201, 400, 401, 403, 404, 409, 413, 422)),
    ("POST", "/reports/{report_id}/advance", "advance", (200, 400, 401, 403, 404, 409, 413)),
    ("GET", "/reports/{report_id}/attachments", "list_attachments", (200, 400, 401, 404)),
    ("POST", "/reports/{report_id}/cascade", "cascade", (201, 400, 401, 403, 404, 409, 413, 422)),
    ("POST", "/reports/{report_id}/attachments", "upload_attachment", (201, 400, 401, 403, 404, 409, 413, 415, 422, 503)),
    ("GET", "/reports/{report_id}/comments", "list_comments", (200, 400, 401, 404)),
    ("POST", "/reports/{report_id}/comments", "add_comment", (201, 400, 401, 403, 404, 413, 422)),
    ("POST", "/reports/{report_id}/decline", "decline", (200, 400, 401, 403, 404, 409, 413, 422)),
    ("GET", "/reports/{report_id}/disciplines/{code}", "get_discipline", (200, 401, 404)),
    ("PATCH", "/reports/{report_id}/disciplines/{code}", "patch_discipline", (200, 400, 401, 403, 404, 409, 413, 422)),
    ("GET", "/reports/{report_id}/events", "events", (200, 400, 401, 404)),
    ("GET", "/reports/{report_id}/export", "export", (200, 401, 404)),
    ("GET", "/reports/{report_id}/gate", "gate", (200, 401, 404)),
    ("GET", "/reports/{report_id}/invitations", "list_invitations", (200, 401, 403, 404)),
    ("POST", "/reports/{report_id}/invitations", "create_invitation", (201, 400, 401, 403, 404, 409, 413, 422)),
    ("POST", "/reports/{report_id}/reopen", "reopen", (200, 400, 401, 403, 404, 409, 413, 422, 429)),
    ("POST", "/reports/{report_id}/return", "return_report", (200, 400, 401, 403, 404, 409, 413, 422)),
    ("POST", "/reports/{report_id}/review", "review", (200, 400, 401, 403, 404, 409, 413, 422, 429)),
    ("GET", "/reports/{report_id}/team", "list_team", (200, 401, 404)),
    ("POST", "/reports/{report_id}/team", "add_team_member", (201, 400, 401, 403, 404, 409, 413, 422)),
    ("PATCH", "/reports/{report_id}/team/{user_id}", "change_team_member", (200, 400, 401, 403, 404, 409, 413, 422)),
    ("DELETE", "/reports/{report_id}/team/{user_id}", "remove_team_member", (204, 400, 401, 403, 404, 409, 422)),
    ("GET", "/reports/{report_id}/users", "eligible_users", (200, 400, 401, 403, 404)),
    ("POST", "/tokens", "create_token", (201, 400, 401, 413, 429)),
    ("DELETE", "/tokens/current", "revoke_token", (204, 400, 401)),
    ("GET", "/search", "search", (200, 400, 401)),
    ("GET", "/lessons", "lessons", (200, 400, 401)),
    ("POST", "/lessons/{report_id}/{index}/apply", "apply_lesson", (201, 400, 401, 403, 404, 409, 413, 422)),
    ("GET", "/reports/{report_id}/similar", "similar_reports", (200, 401, 404)),
    ("POST", "/reports/{report_id}/effectiveness", "decide_effectiveness", (200, 400, 401, 403, 404, 409, 413, 422, 429)),
    ("GET", "/users", "users", (200, 400, 401)),
]


@pytest.fixture
def spec(app):
    with app.app_context():
        return build_spec(app)


def api_rules(app):
    return [r for r in app.url_map.iter_rules() if r.rule == PREFIX or r.rule.startswith(PREFIX + "/")]


def test_served_publicly_as_built(client, spec):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json() == spec
    assert spec["openapi"] == "3.1.0"
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer", "description": "a token from POST /tokens"}


def test_spec_is_valid_openapi(spec):
    validate(spec)


def test_spec_is_well_formed(spec):
    """Refs resolve, ids are unique, every status code is one of docs/api.md's (Errors), every error
    answers with the error object, and what a body, a query or a path parameter implies is there."""

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


def test_the_document_keeps_the_contract(spec):
    documented = sorted((m, p, op["operationId"], tuple(sorted(int(c) for c in op["responses"]))) for m, p, op in operations(spec))
    assert documented == sorted(CONTRACT)


def test_every_api_route_is_documented_and_nothing_else(app, spec):
    in_app = {}
    for rule in api_rules(app):
        for method in rule.methods - IGNORED_METHODS:
            in_app[(method, spec_path(rule.rule))] = rule
    in_spec = {(method, path): op for method, path, op in operations(spec)}
    assert sorted(set(in_app) - set(in_spec)) == [], "routes missing from the document"
    assert sorted(set(in_spec) - set(in_app)) == [], "documented operations that the app does not have"
    for key, rule in in_app.items():
        op = in_spec[key]
        assert op["operationId"] == rule.endpoint.split(".")[-1], key
        params = {p["name"]: p for p in (resolve(spec, p) for p in op.get("parameters", [])) if p["in"] == "path"}
        assert set(params) == set(rule.arguments), key
        for name, converter in rule._converters.items():
            expected = "integer" if type(converter).__name__ == "IntegerConverter" else "string"
            assert params[name]["schema"]["type"] == expected and params[name]["required"] is True, (key, name)


def test_a_route_without_a_declaration_breaks_the_document():
    """A new API route must declare its shapes: the document cannot be built without them (and so
    every test of it, and schemathesis, fails) - it is never silently left out."""
    app = Flask(__name__)
    bp = Blueprint("api", __name__, url_prefix=PREFIX)

    @operation("Declared", "test")
    @bp.route("/declared")
    def declared():
        return ""

    @bp.route("/forgotten")
    def forgotten():
        return ""

    app.register_blueprint(bp)
    with pytest.raises(UndocumentedRoute, match="forgotten"):
        build_spec(app)


def test_public_endpoints_are_exactly_the_ones_without_security(app, spec):
    public = {endpoint.split(".")[-1] for endpoint, view in app.view_functions.items() if endpoint.startswith("api.") and getattr(view, "public", False)}
    assert public == PUBLIC_OPERATIONS
    for method, path, op in operations(spec):
        assert ("security" in op and op["security"] == []) == (op["operationId"] in PUBLIC_OPERATIONS), (method, path)
    assert spec["security"] == [{"bearerAuth": []}]


def test_public_is_a_mark_of_the_registered_view_not_of_a_name(app):
    """@public marks the view registered for the endpoint: a view that merely shares a public
    view's name is not public."""
    from app.api.auth import is_public, public

    other = Flask(__name__)

    def method_definition():  # the name of a public view of the API
        return ""

    other.add_url_rule("/api/v1/lookalike", "api.lookalike", method_definition)
    other.add_url_rule("/api/v1/marked", "api.marked", public(lambda: ""))
    with other.app_context():
        assert not is_public("api.lookalike") and is_public("api.marked") and not is_public(None)
    with app.app_context():
        assert is_public("api.method_definition") and not is_public("api.me")


def test_generated_value_schemas_accept_the_method_examples(spec):
    assert not schema_errors(HEADER_EXAMPLE, {"$ref": "#/components/schemas/ReportHeader"}, spec)
    for code in CODES:
        assert not schema_errors(EXAMPLES[code], {"$ref": f"#/components/schemas/{code}Fields"}, spec), code
    # and they are not vacuous
    assert schema_errors({"no_such_field": 1}, {"$ref": "#/components/schemas/D0Fields"}, spec)
    assert schema_errors({"symptom": 5}, {"$ref": "#/components/schemas/D0Fields"}, spec)


def test_enumerations_come_from_the_code(spec):
    schemas = spec["components"]["schemas"]
    assert schemas["Action"]["properties"]["cause"]["anyOf"][0]["enum"] == list(CAUSES)
    assert schemas["ReportSummary"]["properties"]["stage"]["enum"] == list(CODES)


def test_schema_check_catches_undocumented_and_wrong_fields(spec):
    company = {"id": 1, "name": "Volta", "kind": "oem"}
    assert not schema_errors(company, {"$ref": "#/components/schemas/Company"}, spec)
    assert schema_errors({**company, "secret": 1}, {"$ref": "#/components/schemas/Company"}, spec)
    assert schema_errors({**company, "kind": "bank"}, {"$ref": "#/components/schemas/Company"}, spec)
    assert schema_errors({"id": 1, "name": "Volta"}, {"$ref": "#/components/schemas/Company"}, spec)
    assert schema_errors({**company, "created_at": "2026-11-25 19:00:00"}, {"type": "object", "properties": {
        "created_at": {"type": "string", "format": "date-time"}}}, spec), "times are checked to the second, with a Z"


def test_a_field_dropped_from_the_document_fails_the_check_of_a_real_answer(api, parties, spec):
    """What tests/test_openapi_responses.py relies on: a field the serializers emit but the
    document no longer describes makes a real answer fail."""
    p = parties
    report = api(p.oem_eng).post("/api/v1/reports", json={"title": "Burr", "oem_id": p.oem.id, "supplier_id": p.supplier.id}).get_json()
    assert not schema_errors(report, {"$ref": "#/components/schemas/ReportCreated"}, spec)
    shrunk = copy.deepcopy(spec)
    del shrunk["components"]["schemas"]["ReportSummary"]["properties"]["overdue"]
    shrunk["components"]["schemas"]["ReportSummary"]["required"].remove("overdue")
    assert any("overdue" in e for e in schema_errors(report, {"$ref": "#/components/schemas/ReportSummary"}, shrunk))


def test_a_shape_refuses_what_it_does_not_declare():
    """The serializers build shapes; a field missing, undeclared or of the wrong type fails at once
    instead of reaching a client."""
    assert Company(id=1, name="Volta", kind="oem").model_dump() == {"id": 1, "name": "Volta", "kind": "oem"}
    for wrong in ({"id": 1, "name": "Volta"}, {"id": 1, "name": "Volta", "kind": "oem", "secret": 1}, {"id": "1", "name": "Volta", "kind": "oem"},
                  {"id": 1, "name": "Volta", "kind": "bank"}):
        with pytest.raises(ValidationError):
            Company(**wrong)


def test_response_objects_are_documented_open_and_checked_closed(spec):
    """Responses may grow (docs/api.md): the document leaves objects open; the checks close them."""
    schemas = spec["components"]["schemas"]
    assert "additionalProperties" not in schemas["Report"] and "additionalProperties" not in schemas["Company"]
    assert schemas["ReportCreate"]["additionalProperties"] is False  # unknown fields of a body: 422
    before = copy.deepcopy(spec)
    assert closed(spec["components"])["schemas"]["Report"]["additionalProperties"] is False
    assert spec == before
