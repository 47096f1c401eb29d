"""The JSON export and the printable PDF of a report."""

from __future__ import annotations

from app.extensions import db
from app.services import disciplines, reports
from tests.conftest import login


def _report(p):
    r = reports.create_report(p.sup_eng, {"title": "Welds <img src='http://127.0.0.1:9/x.png'>", "oem_id": p.oem.id, "supplier_id": p.supplier.id})
    disciplines.save_discipline(p.sup_eng, r, "D2", 0, {"problem_statement": "37 of 4,800 <b>cracked</b> <link rel=stylesheet href='http://127.0.0.1:9/a.css'>"})
    db.session.commit()
    return r


def test_json_export_is_complete_and_its_content_hash_is_stable(api, parties):
    p = parties
    r = _report(p)
    a = api(p.oem_eng)
    one = a.get(f"/api/v1/reports/{r.id}/export")
    assert one.status_code == 200 and "attachment" in one.headers["Content-Disposition"]
    doc = one.get_json()
    assert {"disciplines", "team", "reviews", "actions", "attachments", "comments", "events", "content_sha256"} <= set(doc)
    assert len(doc["content_sha256"]) == 64
    assert a.get(f"/api/v1/reports/{r.id}/export").get_json()["content_sha256"] == doc["content_sha256"]
    assert api(p.other_eng).get(f"/api/v1/reports/{r.id}/export").status_code == 404


def test_pdf_export_renders_without_fetching_anything(app, parties, client):
    p = parties
    r = _report(p)
    login(client, p.oem_eng)
    res = client.get(f"/reports/{r.id}/export.pdf")
    assert res.status_code == 200 and res.mimetype == "application/pdf"
    assert res.data.startswith(b"%PDF") and len(res.data) > 5000
    stranger = app.test_client()
    login(stranger, p.other_eng)
    assert stranger.get(f"/reports/{r.id}/export.pdf").status_code == 404
