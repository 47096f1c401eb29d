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


def test_the_pdf_fetcher_refuses_external_resources_that_reach_the_template(app, parties, monkeypatch):
    """The template escapes what users type, so here an external image, stylesheet and font are put
    into the rendered HTML on purpose: WeasyPrint must ask the export's fetcher, which refuses, and
    the server behind the URLs is never contacted. Without the fetcher this test fails."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from app.services import export

    hits: list[str] = []

    class Probe(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server interface
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png" if self.path.endswith(".png") else "text/css")
            self.end_headers()

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Probe)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    real = export.render_template

    def with_external(*args, **kwargs):
        html = real(*args, **kwargs)
        extra = (f'<link rel="stylesheet" href="{base}/a.css"><style>@font-face {{ font-family: X; src: url({base}/f.woff) }}'
                 f' body {{ background: url({base}/bg.png) }}</style><img src="{base}/x.png" alt="">')
        return html.replace("</body>", extra + "</body>")

    monkeypatch.setattr(export, "render_template", with_external)
    r = _report(parties)
    try:
        with app.test_request_context():
            pdf = export.render_pdf(r)
    finally:
        server.shutdown()
    assert pdf.startswith(b"%PDF")
    assert hits == []
