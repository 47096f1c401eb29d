"""Hostile input: whatever a client sends, the answer is a clear 4xx (or a success), never a 5xx,
and a refused request changes nothing. Stored XSS attempts render inert everywhere."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.extensions import db
from app.method import BY_CODE, CODES
from app.services import reports, team
from tests.conftest import login

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
