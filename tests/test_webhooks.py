"""Outbound webhooks: queued with the change, signed, retried until a receiver that was down is
back - each event exactly once - refused for internal targets, and scoped to the admin's company."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from app.demo import evidence_bytes
from app.extensions import db
from app.models import AuditEvent, DeliveryStatus, Webhook, WebhookDelivery, utcnow
from app.notify import start_background_worker
from app.notify.webhook_delivery import deliver_all_webhooks
from app.services.notifications import action_reminders
from tests.conftest import PASSWORD, csrf_from, login
from tests.helpers import example, header
from tests.test_api_workflow import build_team, open_report, save
from tests.test_integrity_api import upload

SECRETS = {"supplier": "celltech-shared-secret-0001", "oem": "volta-motors-shared-secret-02", "other": "nordpack-shared-secret-0003"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """A receiving system on 127.0.0.1: records every POST; `answer` sets the reply."""

    def __init__(self, port: int, status: int = 200, body: bytes = b'{"ok": true}', headers: dict | None = None):
        self.port, self.received, self.server = port, [], None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append({"path": self.path, "headers": dict(self.headers), "body": raw})
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802
                receiver.received.append({"path": self.path, "method": "GET"})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.handler = Handler

    def start(self) -> Receiver:
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def private_ok(app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", "1")
    monkeypatch.setitem(app.config, "WEBHOOK_BACKOFF_SECONDS", 0.05)
    monkeypatch.setitem(app.config, "WEBHOOK_BACKOFF_MAX_SECONDS", 0.3)
    monkeypatch.setitem(app.config, "WEBHOOK_MAX_ATTEMPTS", 1000)
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 2)


def admins(make_user, p):
    p.sup_admin = make_user("admin", p.supplier, "Jonas Keller")
    p.other_admin = make_user("admin", p.other, "Ingrid Berg")
    return p


def register(api_client, url, secret, events=None, expect=201):
    r = api_client.post("/api/v1/admin/webhooks", json={"url": url, "events": events or [
        "report.stage_changed", "review.requested", "review.decided", "report.closed", "action.overdue"], "secret": secret})
    assert r.status_code == expect, r.get_json()
    return r.get_json()


def advance_d0(api, p) -> tuple[int, object]:
    oem = api(p.oem_eng)
    rid = open_report(oem, p)["id"]
    build_team(oem, rid, p)
    lead = api(p.sup_eng)
    lead.patch(f"/api/v1/reports/{rid}", json={k: v for k, v in header().items() if k != "title"})
    save(lead, rid, "D0", example("D0"))
    assert lead.post(f"/api/v1/reports/{rid}/advance", json={"comment": "D0 done"}).status_code == 200
    return rid, lead


def all_five_events_happen(api, p):
    """Through the real workflow: D0 advanced, an overdue action (the daily job, twice), a decline
    asked and accepted (review requested, decided, report closed)."""
    rid, lead = advance_d0(api, p)
    today = utcnow().date()
    lead.post(f"/api/v1/reports/{rid}/actions", json={"kind": "containment", "title": "Sort stock at Zwickau", "owner_id": p.sup_eng2.id,
                                                      "due_date": (today - dt.timedelta(days=2)).isoformat()})
    for _ in range(2):
        action_reminders(today)
        db.session.commit()
    photo = upload(lead, rid, "D1", "returned-part.png", evidence_bytes("returned-part.png", "Mould mark"))
    r = lead.post(f"/api/v1/reports/{rid}/decline", json={"reason": "not_our_part", "comment": "Another supplier's mould mark.", "evidence": [photo]})
    assert r.status_code == 200, r.get_json()
    r = api(p.oem_lead).post(f"/api/v1/reports/{rid}/review", json={"decision": "approve", "comment": "Agreed.", "password": PASSWORD})
    assert r.status_code == 200 and r.get_json()["status"] == "closed", r.get_json()
    return rid


def check_signed(received, secret_by_path):
    for item in received:
        secret = secret_by_path[item["path"]]
        expected = "sha256=" + hmac.new(secret.encode(), item["body"], hashlib.sha256).hexdigest()
        assert hmac.compare_digest(item["headers"]["X-8D-Signature"], expected)
        doc = json.loads(item["body"])
        assert item["headers"]["X-8D-Event"] == doc["event"] and item["headers"]["X-8D-Delivery"] == doc["delivery_id"]
        assert item["headers"]["Content-Type"].startswith("application/json")


def deliver(app) -> int:
    """The worker's round, with the test's own transaction ended first (SQLite has one writer)."""
    db.session.commit()
    return deliver_all_webhooks(app)


EVENTS = ["action.overdue", "report.closed", "report.stage_changed", "review.decided", "review.requested"]


def test_a_receiver_that_was_down_gets_every_event_once_signed(app, api, parties, make_user, private_ok):
    p = admins(make_user, parties)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    register(api(p.sup_admin), f"{base}/celltech", SECRETS["supplier"])
    register(api(p.admin), f"{base}/volta", SECRETS["oem"])
    register(api(p.other_admin), f"{base}/nordpack", SECRETS["other"])  # party to no report here
    rid = all_five_events_happen(api, p)
    queued = db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
    by_hook = {}
    for row in queued:
        by_hook.setdefault(row.webhook.url.rsplit("/", 1)[1], []).append(row.event)
    assert sorted(by_hook) == ["celltech", "volta"]  # Nordpack's webhook hears nothing of others' reports
    assert sorted(by_hook["celltech"]) == EVENTS and sorted(by_hook["volta"]) == EVENTS
    # the receiver is down: every delivery fails and waits for its next attempt
    assert deliver(app) == 0
    db.session.expire_all()
    assert all(r.status == DeliveryStatus.pending and r.attempts >= 1 and "Connection" in (r.last_error or "") for r in
               db.session.scalars(select(WebhookDelivery)))
    # the worker keeps trying (backoff) while the receiver stays down, then it is back
    db.session.commit()
    worker = start_background_worker(app, poll_seconds=0.05)
    receiver = Receiver(port)
    try:
        time.sleep(1.0)
        assert receiver.received == []
        receiver.start()
        deadline = time.monotonic() + 30
        while len(receiver.received) < 10 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.8)  # anything sent twice would arrive now
    finally:
        worker.stop()
        receiver.stop()
    assert len(receiver.received) == 10
    assert len({item["headers"]["X-8D-Delivery"] for item in receiver.received}) == 10
    check_signed(receiver.received, {"/celltech": SECRETS["supplier"], "/volta": SECRETS["oem"]})
    docs = [json.loads(i["body"]) for i in receiver.received]
    assert {d["report"]["id"] for d in docs} == {rid} and all(d["report"]["number"] for d in docs)
    closed = [d for d in docs if d["event"] == "report.closed"]
    assert all(d["report"]["status"] == "closed" for d in closed)
    overdue = [d for d in docs if d["event"] == "action.overdue"]
    assert [d["action"]["title"] for d in overdue] == ["Sort stock at Zwickau"] * 2  # once per hook, though the job ran twice
    db.session.expire_all()
    rows = db.session.scalars(select(WebhookDelivery)).all()
    assert all(r.status == DeliveryStatus.sent and r.response_status == 200 and r.attempts >= 2 for r in rows)


def test_internal_targets_are_refused_unless_allowed(app, api, parties, make_user, monkeypatch):
    p = admins(make_user, parties)
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", "")
    admin = api(p.sup_admin)
    for url in ("http://127.0.0.1/hook", "http://localhost:8080/x", "http://10.1.2.3/", "http://192.168.0.10/", "http://169.254.169.254/latest",
                "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://172.16.5.4/", "ftp://93.184.216.34/",
                "https://user:pw@93.184.216.34/", "http://100.64.0.1/", "not a url"):
        r = admin.post("/api/v1/admin/webhooks", json={"url": url, "events": ["report.closed"], "secret": SECRETS["supplier"]})
        assert r.status_code == 422 and "url" in r.get_json()["details"]["fields"], (url, r.get_json())
    # a name that resolves inside is refused as well
    real = socket.getaddrinfo

    def fake(host, *a, **kw):
        if host == "hooks.celltech.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", 443))]
        return real(host, *a, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    r = admin.post("/api/v1/admin/webhooks", json={"url": "https://hooks.celltech.example/8d", "events": ["report.closed"]})
    assert r.status_code == 422 and "10.0.0.7" in r.get_json()["details"]["fields"]["url"]
    created = register(admin, "https://93.184.216.34/8d-hook", SECRETS["supplier"], ["report.closed"])
    assert created["url"] == "https://93.184.216.34/8d-hook"
    assert db.session.scalar(select(Webhook.secret_sealed).where(Webhook.id == created["id"])).find(SECRETS["supplier"]) == -1


def test_checked_again_at_delivery_redirects_not_followed_answers_cut(app, api, parties, make_user, private_ok, monkeypatch):
    p = admins(make_user, parties)
    port = free_port()
    hook = register(api(p.sup_admin), f"http://127.0.0.1:{port}/hook", SECRETS["supplier"], ["report.stage_changed"])
    receiver = Receiver(port, status=302, body=b"x" * 10000, headers={"Location": f"http://127.0.0.1:{port}/elsewhere"}).start()
    try:
        advance_d0(api, p)
        assert deliver(app) == 0
        assert [i["path"] for i in receiver.received] == ["/hook"]  # the redirect was not followed
        row = db.session.scalars(select(WebhookDelivery)).one()
        db.session.refresh(row)
        assert row.status == DeliveryStatus.pending and row.response_status == 302 and "redirect" in row.last_error
        assert len(row.response_body) <= 500
        # the operator withdraws the permission: the same target is refused at delivery time
        monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", "")
        time.sleep(0.1)
        assert deliver(app) == 0
        db.session.refresh(row)
        assert "refused" in row.last_error and "loopback" in row.last_error and len(receiver.received) == 1
    finally:
        receiver.stop()
    # the deliveries are listed for the admin; a resend queues the same delivery again
    admin = api(p.sup_admin)
    listed = admin.get(f"/api/v1/admin/webhooks/{hook['id']}/deliveries").get_json()
    item = listed["items"][0]
    assert listed["total"] == 1 and item["event"] == "report.stage_changed" and item["attempts"] >= 2 and "refused" in item["last_error"]
    again = admin.post(f"/api/v1/admin/webhooks/{hook['id']}/deliveries/{row.id}/resend")
    assert again.status_code == 200 and again.get_json()["status"] == "pending" and again.get_json()["attempts"] == 0
    assert again.get_json()["delivery_id"] == row.delivery_id


def test_a_receiver_that_answers_byte_by_byte_is_cut_off(app, api, parties, make_user, private_ok, monkeypatch):
    p = admins(make_user, parties)
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 0.3)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def slow():
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        while not stop.is_set():
            try:
                conn.sendall(b"X")  # a header that never ends, each byte within the socket timeout
            except OSError:
                break
            time.sleep(0.1)
        conn.close()

    threading.Thread(target=slow, daemon=True).start()
    register(api(p.sup_admin), f"http://127.0.0.1:{port}/slow", SECRETS["supplier"], ["report.stage_changed"])
    advance_d0(api, p)
    started = time.monotonic()
    try:
        assert deliver(app) == 0
    finally:
        stop.set()
        listener.close()
    assert time.monotonic() - started < 5
    row = db.session.scalars(select(WebhookDelivery)).one()
    db.session.refresh(row)
    assert row.status == DeliveryStatus.pending and "no complete answer" in row.last_error


def test_webhooks_belong_to_the_admins_company(app, api, parties, make_user, platform_admin):
    p = admins(make_user, parties)
    sup, other = api(p.sup_admin), api(p.other_admin)
    created = register(sup, "https://93.184.216.34/celltech", None, ["report.closed", "review.decided"])
    assert len(created["secret"]) == 64 and created["events"] == ["review.decided", "report.closed"]
    listed = sup.get("/api/v1/admin/webhooks").get_json()
    assert [h["id"] for h in listed["items"]] == [created["id"]] and "secret" not in listed["items"][0]
    assert "secret" not in json.dumps(listed["items"][0]).replace('"secret_', "")
    # another company's admin, a platform admin of another company: it does not exist
    for caller in (other, api(p.admin), api(platform_admin)):
        assert caller.get("/api/v1/admin/webhooks").get_json()["items"] == []
        assert caller.get(f"/api/v1/admin/webhooks/{created['id']}/deliveries").status_code == 404
        assert caller.delete(f"/api/v1/admin/webhooks/{created['id']}").status_code == 404
    # people who are no admins: 403; nobody signed in: 401
    for user in (p.sup_eng, p.sup_lead, p.oem_viewer):
        caller = api(user)
        assert caller.get("/api/v1/admin/webhooks").status_code == 403
        assert caller.post("/api/v1/admin/webhooks", json={"url": "https://93.184.216.34/x", "events": ["report.closed"]}).status_code == 403
    assert api().get("/api/v1/admin/webhooks").status_code == 401
    # wrong values
    assert sup.post("/api/v1/admin/webhooks", json={"url": "https://93.184.216.34/x", "events": ["report.exploded"]}).status_code == 422
    assert sup.post("/api/v1/admin/webhooks", json={"url": "https://93.184.216.34/x", "events": "report.closed"}).status_code == 400
    assert sup.post("/api/v1/admin/webhooks", json={"url": "https://93.184.216.34/x", "events": ["report.closed"], "secret": "short"}).status_code == 422
    # deleted: gone for its admin too, and audited
    assert sup.delete(f"/api/v1/admin/webhooks/{created['id']}").status_code == 204
    assert sup.get("/api/v1/admin/webhooks").get_json()["items"] == []
    assert sup.get(f"/api/v1/admin/webhooks/{created['id']}/deliveries").status_code == 404
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.company_id == p.supplier.id).order_by(AuditEvent.id))]
    assert actions[-2:] == ["webhook.created", "webhook.deleted"]


def test_admin_pages_register_show_the_secret_once_list_and_resend(app, client, api, parties, make_user, private_ok):
    p = admins(make_user, parties)
    login(client, p.sup_admin)
    page = client.get("/admin/webhooks")
    assert page.status_code == 200
    r = client.post("/admin/webhooks", data={"csrf_token": csrf_from(page.get_data(as_text=True)), "url": "http://127.0.0.1:9/hook",
                                             "events": ["report.stage_changed", "report.closed"], "secret": "", "description": "ERP"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'data-testid="webhook-secret"' in html
    hook = db.session.scalars(select(Webhook)).one()
    assert hook.events == ["report.stage_changed", "report.closed"]
    assert 'data-testid="webhook-secret"' not in client.get("/admin/webhooks").get_data(as_text=True)
    bad = client.post("/admin/webhooks", data={"csrf_token": csrf_from(html), "url": "http://127.0.0.1:9/x", "events": ["report.closed"],
                                               "secret": "too-short"})
    assert bad.status_code == 422
    # a delivery that failed for good, listed and sent again from its page
    advance_d0(api, p)
    app.config["WEBHOOK_MAX_ATTEMPTS"] = 1
    try:
        deliver(app)
    finally:
        app.config["WEBHOOK_MAX_ATTEMPTS"] = 1000
    row = db.session.scalars(select(WebhookDelivery)).one()
    db.session.refresh(row)
    assert row.status == DeliveryStatus.failed
    detail = client.get(f"/admin/webhooks/{hook.id}")
    assert detail.status_code == 200 and row.delivery_id in detail.get_data(as_text=True)
    resent = client.post(f"/admin/webhooks/{hook.id}/deliveries/{row.id}/resend", data={"csrf_token": csrf_from(detail.get_data(as_text=True))})
    assert resent.status_code == 302
    db.session.refresh(row)
    assert row.status == DeliveryStatus.pending and row.attempts == 0
    # another company's admin: the page lists nothing of it, the detail does not exist
    other = app.test_client()
    login(other, p.other_admin)
    assert "127.0.0.1:9" not in other.get("/admin/webhooks").get_data(as_text=True)
    assert other.get(f"/admin/webhooks/{hook.id}").status_code == 404
    engineer = app.test_client()
    login(engineer, p.sup_eng)
    assert engineer.get("/admin/webhooks").status_code == 403
