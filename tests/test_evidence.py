"""Evidence through the API and the pages: real files, refused types and sizes, safe serving,
verified downloads, withdraw and new versions, tenancy."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from app.extensions import db
from app.services import reports, team
from tests.conftest import csrf_from, login


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture
def report(parties):
    p = parties
    r = reports.create_report(p.sup_eng, {"title": "Welds", "oem_id": p.oem.id, "supplier_id": p.supplier.id})
    team.add_member(p.sup_eng, r, p.oem_eng.id, "member")
    db.session.commit()
    return r


def up(client, report_id, name, data, discipline="D4", **extra):
    return client.post(f"/api/v1/reports/{report_id}/attachments", data={"file": (io.BytesIO(data), name), "discipline": discipline, **extra},
                       content_type="multipart/form-data")


def test_upload_download_roundtrip_with_safe_headers(api, parties, report):
    a = api(parties.sup_eng)
    r = up(a, report.id, "Mikroschliff Schweißnaht 溶接.pdf", PDF, description="Micro-section of weld C1")
    assert r.status_code == 201, r.get_json()
    meta = r.get_json()
    assert meta["filename"] == "Mikroschliff Schweißnaht 溶接.pdf" and meta["size"] == len(PDF) and meta["content_type"] == "application/pdf"
    import hashlib

    assert meta["sha256"] == hashlib.sha256(PDF).hexdigest()
    got = a.get(f"/api/v1/attachments/{meta['id']}/content")
    assert got.status_code == 200 and got.data == PDF
    assert got.headers["Content-Disposition"].startswith("attachment;") and "filename*=UTF-8''" in got.headers["Content-Disposition"]
    assert got.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in got.headers["Content-Security-Policy"]
    assert a.get(f"/api/v1/reports/{report.id}/attachments").get_json()["total"] == 1
    assert api(parties.other_eng).get(f"/api/v1/attachments/{meta['id']}/content").status_code == 404
    assert api(parties.other_eng).get(f"/api/v1/attachments/{meta['id']}").status_code == 404


def test_refused_types_sizes_and_names(api, parties, report, app):
    a = api(parties.sup_eng)
    html_as_png = up(a, report.id, "photo.png", b"<!DOCTYPE html><html><script>alert(1)</script></html>")
    assert html_as_png.status_code == 415 and html_as_png.get_json()["error"] == "unsupported_media_type"
    svg = up(a, report.id, "drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    assert svg.status_code == 415
    assert up(a, report.id, "empty.pdf", b"").status_code == 422
    assert up(a, report.id, "x.pdf", PDF, discipline="D9").status_code == 422
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros.bin", b"\0" * (200 * 1024 * 1024))
    refused = up(a, report.id, "bomb.zip", bomb.getvalue())
    assert refused.status_code == 415 and refused.get_json()["error"] == "unsupported_media_type"
    old = app.config["MAX_UPLOAD_MB"]
    app.config["MAX_UPLOAD_MB"] = 1
    try:
        big = up(a, report.id, "big.txt", b"line of measurement data 0.42 mOhm\n" * 40000)
        assert big.status_code == 413 and big.get_json()["error"] == "too_large"
    finally:
        app.config["MAX_UPLOAD_MB"] = old
    weird = up(a, report.id, "../../etc/pass\x00wd" + "x" * 1000 + ".txt", b"measurements\n1;2;3\n")
    assert weird.status_code == 201
    name = weird.get_json()["filename"]
    assert "/" not in name and "\x00" not in name and len(name) <= 255
    assert a.get(f"/api/v1/reports/{report.id}/attachments").get_json()["total"] == 1
    viewer = up(api(parties.oem_viewer), report.id, "x.csv", b"a;b\n1;2\n")
    assert viewer.status_code == 403 and viewer.get_json()["error"] == "forbidden"
    assert a.get(f"/api/v1/reports/{report.id}/attachments").get_json()["total"] == 1


def test_corrupted_content_is_refused_with_a_clear_error(api, parties, report, app):
    from app.storage import get_store

    a = api(parties.sup_eng)
    meta = up(a, report.id, "data.csv", b"lot;nok\n2611-03;12\n").get_json()
    store = get_store(app)
    path = store.path_for(f"{meta['sha256'][:2]}/{meta['sha256'][2:4]}/{meta['sha256']}")
    path.chmod(0o644)
    path.write_bytes(b"lot;nok\n2611-03;0\n")
    bad = a.get(f"/api/v1/attachments/{meta['id']}/content")
    assert bad.status_code == 409 and bad.get_json()["details"]["rule"] == "corrupted"


def test_withdraw_keeps_bytes_and_new_versions_keep_old_ones(api, parties, report):
    a = api(parties.sup_eng)
    first = up(a, report.id, "pfmea-rev-f.xlsx.txt", b"PFMEA rev F\n").get_json()
    second = up(a, report.id, "pfmea-rev-g.txt", b"PFMEA rev G\n", replaces_id=str(first["id"])).get_json()
    assert second["replaces_id"] == first["id"]
    assert a.delete(f"/api/v1/attachments/{first['id']}", json={"reason": "Superseded by rev G"}).status_code == 204
    meta = a.get(f"/api/v1/attachments/{first['id']}").get_json()
    assert meta["withdrawn"] is True and meta["withdrawn_reason"] == "Superseded by rev G"
    assert a.get(f"/api/v1/attachments/{first['id']}/content").data == b"PFMEA rev F\n"
    actions = [e["action"] for e in a.get(f"/api/v1/reports/{report.id}/events").get_json()["items"]]
    assert actions.count("evidence.uploaded") == 2 and "evidence.withdrawn" in actions


def test_upload_from_the_page_with_thumbnail(app, parties, report, client):
    login(client, parties.oem_eng)
    page = client.get(f"/reports/{report.id}?d=D3").get_data(as_text=True)
    res = client.post(f"/reports/{report.id}/evidence", data={
        "csrf_token": csrf_from(page), "discipline": "D3", "description": "Hold tags",
        "file": [(io.BytesIO(png_bytes()), "hold-tags.png"), (io.BytesIO(b"<html></html>"), "evil.png")]}, content_type="multipart/form-data")
    assert res.status_code == 302
    page = client.get(f"/reports/{report.id}?d=D3").get_data(as_text=True)
    assert "hold-tags.png" in page and "evil.png: " in page  # stored, and the refusal said which file and why
    listed = client.get(f"/api/v1/reports/{report.id}/attachments").get_json()
    assert [a["filename"] for a in listed["items"]] == ["hold-tags.png"]
    att_id = int(page.split('id="attachment-')[1].split('"')[0])
    thumb = client.get(f"/evidence/{att_id}/thumb")
    assert thumb.status_code == 200 and thumb.mimetype in ("image/png", "image/jpeg")
    preview = client.get(f"/evidence/{att_id}/preview")
    assert preview.status_code == 200 and preview.headers["Content-Disposition"].startswith("inline")


def test_page_upload_needs_the_csrf_token_and_stores_nothing_without_it(app, parties, report, client):
    """The page form is read by the streaming reader (not by Flask-WTF), so its CSRF check runs
    after the body is read - and before anything is stored."""
    login(client, parties.oem_eng)
    for token in (None, "forged-token"):
        data = {"discipline": "D3", "file": [(io.BytesIO(png_bytes()), "hold-tags.png")]}
        if token:
            data["csrf_token"] = token
        res = client.post(f"/reports/{report.id}/evidence", data=data, content_type="multipart/form-data")
        assert res.status_code == 400
    assert client.get(f"/api/v1/reports/{report.id}/attachments").get_json()["total"] == 0
    from app.storage import get_store

    tmp = get_store(app).tmp_dir
    assert tmp.is_dir() and list(tmp.iterdir()) == []
