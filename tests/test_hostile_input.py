"""Hostile input: whatever a client sends, the answer is a clear 4xx (or a success), never a 5xx,
and a refused request changes nothing. Stored XSS attempts render inert everywhere."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.extensions import db
from app.method import BY_CODE, CODES
from app.models import utcnow
from app.services import reports, team
from tests.conftest import login

IN_A_MONTH = (utcnow().date() + dt.timedelta(days=30)).isoformat()

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
FIELD_NAMES = st.sampled_from(sorted({f.name for d in BY_CODE.values() for f in d.fields} | {"nope", "", "id"}))
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture
def report(parties):
    p = parties
    r = reports.create_report(p.sup_eng, {"title": "Hostile", "oem_id": p.oem.id, "supplier_id": p.supplier.id})
    team.add_member(p.sup_eng, r, p.oem_eng.id, "member")
    db.session.commit()
    return r


@SETTINGS
@given(code=st.sampled_from(list(CODES) + ["D9", "x"]), base=JSON_VALUES, fields=st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=4) | JSON_VALUES)
def test_discipline_patch_never_fails_with_5xx_and_refusals_change_nothing(api, parties, report, code, base, fields):
    a = api(parties.sup_eng) if not hasattr(report, "_api") else report._api
    report._api = a
    before = a.get(f"/api/v1/reports/{report.id}").get_json()["disciplines"]
    r = a.patch(f"/api/v1/reports/{report.id}/disciplines/{code}", json={"base_version": base, "fields": fields})
    assert r.status_code < 500, r.get_json()
    assert r.status_code in (200, 400, 404, 409, 422)
    body = r.get_json()
    if r.status_code != 200:
        assert body["error"] in ("bad_request", "not_found", "conflict", "invalid") and body["message"]
        assert a.get(f"/api/v1/reports/{report.id}").get_json()["disciplines"] == before


@SETTINGS
@given(body=st.dictionaries(st.sampled_from(["title", "oem_id", "supplier_id", "part_number", "lots", "qty_complained", "detected_on", "severity", "x"]),
                            JSON_VALUES, max_size=6))
def test_opening_a_report_with_random_bodies_never_fails_with_5xx(api, parties, body):
    a = api(parties.sup_eng)
    r = a.post("/api/v1/reports", json=body)
    assert r.status_code in (201, 400, 403, 422), (body, r.get_json())


@SETTINGS
@given(payload=st.binary(max_size=300))
def test_raw_bytes_as_json_are_refused_cleanly(api, parties, report, payload, client):
    a = api(parties.sup_eng)
    for path, method in ((f"/api/v1/reports/{report.id}/disciplines/D2", "patch"), ("/api/v1/reports", "post"), (f"/api/v1/reports/{report.id}/advance", "post")):
        r = getattr(client, method)(path, data=payload, headers={**a.headers, "Content-Type": "application/json"})
        assert r.status_code < 500


@SETTINGS
@given(form=st.dictionaries(st.text(max_size=30), st.text(max_size=60), max_size=8))
def test_random_form_posts_never_fail_with_5xx(app, parties, report, form):
    client = app.test_client()
    login(client, parties.sup_eng)
    from tests.conftest import csrf_from

    token = csrf_from(client.get(f"/reports/{report.id}?d=D2").get_data(as_text=True))
    for url in (f"/reports/{report.id}/disciplines/D2", f"/reports/{report.id}/header", f"/reports/{report.id}/advance",
                f"/reports/{report.id}/team", f"/reports/{report.id}/comments", "/reports/new", f"/reports/{report.id}/actions"):
        r = client.post(url, data={**form, "csrf_token": token})
        assert r.status_code < 500, (url, form)


XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>"\'><svg/onload=alert(1)>'


def test_stored_xss_in_every_text_field_renders_inert(app, api, parties, report, client):
    a = api(parties.sup_eng)
    for code in CODES:
        values = {}
        for f in BY_CODE[code].fields:
            if f.type == "text":
                values[f.name] = XSS
            elif f.type == "table":
                values[f.name] = [{c.name: XSS for c in f.columns if c.type == "text"}]
        r = a.patch(f"/api/v1/reports/{report.id}/disciplines/{code}", json={"base_version": 0, "fields": values})
        assert r.status_code == 200, r.get_json()
    a.patch(f"/api/v1/reports/{report.id}", json={"part_name": XSS, "title": XSS})
    a.post(f"/api/v1/reports/{report.id}/comments", json={"discipline": "D2", "body": XSS})
    login(client, parties.sup_eng)
    pages = [f"/reports/{report.id}?d={c}" for c in CODES] + [f"/reports/{report.id}/history", "/", "/actions"]
    assert "&lt;script&gt;alert" in client.get(f"/reports/{report.id}?d=D2").get_data(as_text=True)  # shown, as text
    for path in pages:
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in html, path
        assert "<img src=x" not in html and "<svg/onload" not in html, path


@pytest.mark.parametrize("path", [
    "/reports/..%2f..%2fetc%2fpasswd", "/reports/1%00", "/api/v1/reports/99999999999999999999999", "/api/v1/reports/-1",
    "/api/v1/reports/1/disciplines/..%2fD2", "/static/..%2f..%2fconfig.py", "/api/v1/attachments/1/content%2f..",
    "/reports/1?d=%00", "/?page=999999999999999999", "/?supplier_id=99999999999999999999", "/api/v1/reports?per_page=-5&page=abc",
    "/api/v1/actions?due_within=99999", "/actions?page=0",
])
def test_path_tricks_never_fail_with_5xx(app, api, parties, path, client):
    login(client, parties.sup_eng)
    assert client.get(path).status_code < 500
    assert api(parties.sup_eng).get(path).status_code < 500


def test_huge_and_deep_json_is_refused(api, parties, report, client):
    a = api(parties.sup_eng)
    huge = json.dumps({"base_version": 0, "fields": {"trend": "x" * (3 * 1024 * 1024)}})
    r = client.patch(f"/api/v1/reports/{report.id}/disciplines/D2", data=huge, headers={**a.headers, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.get_json()["error"] == "too_large"
    deep = '{"base_version": 0, "fields": {"trend": ' + "[" * 50000 + "]" * 50000 + "}}"
    r = client.patch(f"/api/v1/reports/{report.id}/disciplines/D2", data=deep, headers={**a.headers, "Content-Type": "application/json"})
    assert r.status_code == 400


@pytest.mark.parametrize("path", [
    "/api/v1/reports/2147483648", "/api/v1/reports/2147483648/advance", "/api/v1/reports/2147483648/team/1",
    "/api/v1/actions/2147483648", "/api/v1/comments/2147483648", "/api/v1/attachments/2147483648",
    "/api/v1/users?company_id=99999999999", "/api/v1/reports?supplier_id=2147483648", "/api/v1/actions?owner=2147483648",
])
def test_ids_beyond_the_integer_range_are_not_found_not_a_crash(api, parties, path):
    a = api(parties.sup_eng)
    for method in ("get", "post", "patch", "delete"):
        r = getattr(a, method)(path, json={})
        assert r.status_code < 500, (method, path, r.status_code)


def test_forms_with_ids_beyond_the_integer_range(app, parties, report, client):
    login(client, parties.sup_eng)
    from tests.conftest import csrf_from

    token = csrf_from(client.get(f"/reports/{report.id}?d=D1").get_data(as_text=True))
    assert client.post(f"/reports/{report.id}/team", data={"csrf_token": token, "user_id": "2147483648", "role": "member"}).status_code < 500
    assert client.post("/reports/new", data={"csrf_token": token, "title": "x", "oem_id": "99999999999", "supplier_id": "2147483648"}).status_code < 500
    assert client.get("/?supplier_id=2147483648").status_code == 200
    login(app.test_client(), parties.admin)


# --------------------------------------------------- every JSON endpoint: surrogates, deep nesting
#: Every endpoint that reads a JSON body, with the caller who gets as far as reading it.
JSON_ENDPOINTS = {
    "api.create_token": "anon",
    "api.admin_create_company": "platform",
    "api.admin_create_user": "platform",
    "api.admin_update_user": "platform",
    "api.update_me": "leader",
    "api.create_report": "leader",
    "api.update_report_header": "leader",
    "api.patch_discipline": "leader",
    "api.advance": "leader",
    "api.decline": "leader",
    "api.review": "leader",
    "api.return_report": "leader",
    "api.reopen": "leader",
    "api.add_team_member": "leader",
    "api.change_team_member": "leader",
    "api.create_action": "leader",
    "api.update_action": "leader",
    "api.add_comment": "leader",
    "api.edit_comment": "leader",
    "api.withdraw_attachment": "leader",
    "api.cascade": "leader",
    "api.create_invitation": "leader",
    "api.accept_invitation": "anon",
    "api.admin_company_settings": "platform",
    "api.create_webhook": "platform",
    "api.decide_effectiveness": "leader",
    "api.apply_lesson": "leader",
    "reports.presence_beat": "page",
}
#: Write endpoints that read no body at all (or a multipart one).
NO_JSON_BODY = {"api.revoke_token", "api.remove_team_member", "api.withdraw_comment", "api.upload_attachment", "api.revoke_invitation",
                "api.delete_webhook", "api.resend_webhook_delivery"}

DEEP = 100_000
HOSTILE_BODIES = {
    "deep array": "[" * DEEP + "]" * DEEP,
    "deep object": '{"a":' * DEEP + "1" + "}" * DEEP,
    "deep in a field": '{"title": ' + "[" * DEEP + "]" * DEEP + ', "base_version": 0, "fields": {}}',
    "a little too deep": '{"fields": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}",
    "lone surrogate in a value": '{"title": "Leak \\ud800", "body": "\\udfff", "comment": "\\ud800", "email": "x\\ud800@y.example", "name": "\\ud800",'
                                 ' "password": "\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800", "discipline": "D2", "base_version": 0,'
                                 ' "fields": {"problem_statement": "\\ud800"}}',
    "lone surrogate in a key": '{"\\udc00": 1}',
    "lone surrogate deep inside": '{"fields": {"w5h2": [{"question": "who", "answer": "\\ud83d"}]}, "base_version": 0}',
}


def _api_write_routes(app) -> set[str]:
    return {r.endpoint for r in app.url_map.iter_rules() if r.rule.startswith("/api/") and r.methods & {"POST", "PATCH", "PUT", "DELETE"}}


def test_every_api_write_route_is_known_to_take_json_or_not(app):
    assert _api_write_routes(app) == (set(JSON_ENDPOINTS) - {"reports.presence_beat"}) | NO_JSON_BODY


@pytest.fixture
def hostile_world(app, api, parties, platform_admin, report, client):
    """A report with an action, a comment and a photo of its leader; the callers of JSON_ENDPOINTS."""
    import io

    from app.services import actions, comments, evidence

    p = parties
    action = actions.create_action(p.sup_eng, report, {"kind": "corrective", "title": "Check the weld", "owner_id": p.sup_eng.id, "due_date": IN_A_MONTH})
    comment, _ = comments.add_comment(p.sup_eng, report, "D2", "Photos follow.")
    att = evidence.upload(p.sup_eng, report, io.BytesIO(b"lot;nok\n2611;3\n"), "ledger.csv", "D2")
    db.session.commit()
    login(client, p.sup_eng)
    from tests.conftest import csrf_from

    csrf = csrf_from(client.get(f"/reports/{report.id}").get_data(as_text=True))
    values = {"report_id": report.id, "code": "D2", "user_id": p.oem_eng.id, "action_id": action.id, "comment_id": comment.id,
              "attachment_id": att.id, "company_id": p.supplier.id, "token": "an-invitation-token", "index": 1}
    callers = {"anon": api(), "platform": api(platform_admin), "leader": api(p.sup_eng)}
    return values, callers, client, csrf


def _path(app, endpoint: str, values: dict, platform_admin_target: int) -> tuple[str, str]:
    import re as _re

    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    method = sorted(rule.methods & {"POST", "PATCH", "PUT", "DELETE"})[0]
    values = {**values, "user_id": platform_admin_target} if endpoint.startswith("api.admin") else values
    return method, _re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(values[m.group(1)]), rule.rule)


@pytest.mark.parametrize("endpoint", sorted(JSON_ENDPOINTS))
def test_lone_surrogates_and_deep_nesting_are_a_400_on_every_json_endpoint(app, hostile_world, parties, endpoint):
    values, callers, page_client, csrf = hostile_world
    method, path = _path(app, endpoint, values, parties.sup_eng2.id)
    wrong = {}
    for body, text in HOSTILE_BODIES.items():
        if JSON_ENDPOINTS[endpoint] == "page":
            r = page_client.open(path, method=method, data=text.encode(), headers={"Content-Type": "application/json", "X-CSRFToken": csrf})
        else:
            caller = callers[JSON_ENDPOINTS[endpoint]]
            r = caller.client.open(path, method=method, data=text.encode(), headers={**caller.headers, "Content-Type": "application/json"})
        if r.status_code != 400:
            wrong[body] = f"{r.status_code} {r.get_data(as_text=True)[:120]}"
    assert not wrong, f"{method} {path}: {wrong}"


def test_the_presence_heartbeat_has_the_apis_body_limit(app, hostile_world):
    values, _callers, client, csrf = hostile_world
    huge = json.dumps({"discipline": "D2", "editing": "x" * (3 * 1024 * 1024)})
    r = client.post(f"/reports/{values['report_id']}/presence", data=huge, headers={"Content-Type": "application/json", "X-CSRFToken": csrf})
    assert r.status_code == 413


def test_a_lone_surrogate_in_a_report_title_is_refused_not_a_crash(api, parties):
    p = parties
    parties_json = f'"oem_id": {p.oem.id}, "supplier_id": {p.supplier.id}'
    body = '{"title": "Coolant leak \\ud800", ' + parties_json + "}"
    r = api(p.sup_eng).client.post("/api/v1/reports", data=body, headers={**api(p.sup_eng).headers, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.get_json()["error"] == "bad_request"
    ok = '{"title": "Coolant leak \\ud83d\\udca7", ' + parties_json + "}"  # a surrogate pair is text
    r = api(p.sup_eng).client.post("/api/v1/reports", data=ok, headers={**api(p.sup_eng).headers, "Content-Type": "application/json"})
    assert r.status_code == 201 and r.get_json()["title"] == "Coolant leak \U0001f4a7"


def test_json_in_the_conflict_form_is_parsed_the_same_way(app, parties, report, client):
    from tests.conftest import csrf_from

    login(client, parties.sup_eng)
    token = csrf_from(client.get(f"/reports/{report.id}?d=D2").get_data(as_text=True))
    for yours in ("[" * DEEP + "]" * DEEP, '{"problem_statement": "\\ud800"}'):
        r = client.post(f"/reports/{report.id}/disciplines/D2/resolve", data={"csrf_token": token, "base_version": "0", "yours": yours, "theirs": "{}",
                                                                             "pick.problem_statement": "yours"})
        assert r.status_code == 400
