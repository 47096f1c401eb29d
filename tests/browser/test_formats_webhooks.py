"""Journeys of issue 20 in Chromium: a company admin registers a webhook on its page and the
receiving system gets the signed event from the running server's worker; an engineer fills a new
report from the customer's complaint file and downloads the customer's formats."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.models import utcnow
from tests.browser.support import CELLTECH, JANA, LUKAS, VOLTA, example, header, starts

try:
    from playwright.sync_api import expect
except ImportError:  # conftest.py skips (or fails) every journey and says why
    expect = None

VOLTA_ADMIN = "admin@volta.example"


def _receiver():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append((dict(self.headers), body))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, port, received


@pytest.mark.browser
def test_an_admin_registers_a_webhook_and_the_receiver_gets_the_signed_event(open_as, api):
    server, port, received = _receiver()
    try:
        page = open_as(VOLTA_ADMIN)
        page.goto("/admin/webhooks")
        page.get_by_label(starts("Receiver URL")).fill(f"http://127.0.0.1:{port}/volta-erp")
        page.get_by_label("Description").fill("Volta ERP")
        page.get_by_role("button", name="Register webhook").click()
        expect(page.get_by_role("status").get_by_text(re.compile(r"Webhook #\d+ registered"))).to_be_visible()
        secret = page.get_by_test_id("webhook-secret").inner_text().strip()
        assert len(secret) == 64
        # the supplier's leader completes D0 of a new complaint: the stage changes
        jana, lukas = api(JANA), api(LUKAS)
        rid = jana.open_report(f"Webhook journey [{uuid.uuid4().hex[:6]}]", **header())["id"]
        jana.add_member(rid, lukas.id, "leader")
        lukas.save(rid, "D0", example("D0"))
        lukas.advance(rid, "D0 done.")
        deadline = time.monotonic() + 30
        while not received and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(received) == 1
        headers, body = received[0]
        assert headers["X-8D-Signature"] == "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        doc = json.loads(body)
        assert doc["event"] == "report.stage_changed" and doc["report"]["id"] == rid and doc["change"] == {"from": "D0", "to": "D1", "reason": "advanced"}
        # the admin sees the delivery and the receiver's answer
        page.goto("/admin/webhooks")
        page.get_by_role("link", name=f"http://127.0.0.1:{port}/volta-erp").click()
        row = page.locator("tbody tr").filter(has_text=doc["delivery_id"])
        expect(row).to_contain_text("sent")
        expect(row).to_contain_text("HTTP 200")
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.browser
def test_the_header_comes_from_the_complaint_file_and_the_customer_formats_download(open_as):
    title = f"Loose busbar screw [{uuid.uuid4().hex[:6]}]"
    detected = utcnow().date().isoformat()
    record = {"Complaint No.": "VM-QN-77001", "Subject": title, "Part No": "BM-16S-5520", "Supplier": CELLTECH, "Severity": "Major",
              "Detection date": detected, "Quantity": 4}
    page = open_as(JANA)
    page.goto("/reports/new")
    page.get_by_text("Fill the header from the customer's complaint record").click()
    page.get_by_label(re.compile("^Complaint file")).set_input_files(
        files=[{"name": "complaint.json", "mimeType": "application/json", "buffer": json.dumps(record).encode()}])
    page.get_by_role("button", name="Fill the header").click()
    expect(page.get_by_label(starts("Title"))).to_have_value(title)
    expect(page.get_by_label(starts("Customer complaint reference"))).to_have_value("VM-QN-77001")
    expect(page.get_by_label(starts("Date of detection"))).to_have_value(detected)
    expect(page.get_by_label("Customer (OEM)").locator("option:checked")).to_have_text(VOLTA)
    expect(page.get_by_role("combobox", name="Supplier", exact=True).locator("option:checked")).to_have_text(CELLTECH)
    page.get_by_role("button", name="Open report").click()
    expect(page).to_have_url(re.compile(r"/reports/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(title)

    with page.expect_download() as info:
        page.get_by_role("link", name="Excel").click()
    from openpyxl import load_workbook

    with open(info.value.path(), "rb") as fh:
        workbook = load_workbook(io.BytesIO(fh.read()))
    assert workbook["Report"]["B2"].value == title and "D2 Problem description" in workbook.sheetnames
    for name, layout in (("PDF (VDA 8D form)", "vda"), ("PDF (Ford G8D form)", "g8d")):
        href = page.get_by_role("link", name=name).get_attribute("href")
        assert href.endswith(f"?layout={layout}")
        response = page.request.get(href)
        assert response.status == 200 and response.headers["content-type"] == "application/pdf" and response.body().startswith(b"%PDF")
