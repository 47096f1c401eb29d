"""Evidence uploads through a real gunicorn (the socket fast path of app/uploads.py): large files
arrive intact, keep-alive goes on working, a connection cut mid-upload leaves nothing, chunked
bodies and oversized ones get the right answers."""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import time

import pytest
import requests

from tests.support.live_server import LiveServer

DEMO_PASSWORD = "demo-password-8d"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("upload"), workers=1, threads=4, extra_env={"MAX_UPLOAD_MB": "20", "STORAGE_URL": ""}).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def auth(server):
    r = requests.post(f"{server.url}/api/v1/tokens", json={"email": "lukas.brandt@celltech.example", "password": DEMO_PASSWORD}, timeout=30)
    assert r.status_code == 201, r.text
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    report_id = requests.get(f"{server.url}/api/v1/reports", headers=headers, timeout=30).json()["items"][0]["id"]
    return headers, report_id


def multipart(fields: dict[str, str], filename: str, data: bytes, boundary: str = "liveboundary1234567890") -> tuple[bytes, str]:
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items())
    body += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
             f"Content-Type: text/csv\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def temp_files(server) -> list[str]:
    tmp = server.tmp / "instance" / "evidence" / "tmp"  # the local store (the fixture unsets STORAGE_URL)
    assert tmp.is_dir(), tmp
    return os.listdir(tmp)


def attachment_count(server, auth) -> int:
    headers, report_id = auth
    return requests.get(f"{server.url}/api/v1/reports/{report_id}/attachments", headers=headers, timeout=30).json()["total"]


def test_large_upload_arrives_intact_and_the_connection_stays_usable(server, auth):
    headers, report_id = auth
    data = b"".join(f"{i};cell;{i * 0.001:.3f};mOhm\n".encode() for i in range(400_000))  # ~8 MB of CSV
    body, ctype = multipart({"discipline": "D4", "description": "Resistance log"}, "Widerstand 電阻.csv", data)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    # the body is sent in odd-sized pieces, so boundaries fall across the server's reads
    conn.putrequest("POST", f"/api/v1/reports/{report_id}/attachments")
    for k, v in {**headers, "Content-Type": ctype, "Content-Length": str(len(body))}.items():
        conn.putheader(k, v)
    conn.endheaders()
    for i in range(0, len(body), 777_777):
        conn.send(body[i:i + 777_777])
    r = conn.getresponse()
    meta = r.read()
    assert r.status == 201, meta
    import json

    meta = json.loads(meta)
    assert meta["size"] == len(data) and meta["sha256"] == hashlib.sha256(data).hexdigest() and meta["filename"] == "Widerstand 電阻.csv"
    # the same keep-alive connection serves the next request
    conn.request("GET", f"/api/v1/attachments/{meta['id']}/content", headers=headers)
    r = conn.getresponse()
    assert r.status == 200 and r.read() == data
    conn.close()
    assert temp_files(server) == []


def test_a_connection_cut_mid_upload_leaves_nothing(server, auth):
    headers, report_id = auth
    before = attachment_count(server, auth)
    body, ctype = multipart({"discipline": "D4"}, "cut.csv", b"1;2;3\n" * 1_000_000)
    s = socket.create_connection(("127.0.0.1", server.port))
    head = (f"POST /api/v1/reports/{report_id}/attachments HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {headers['Authorization']}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    s.sendall(head + body[: len(body) // 2])
    deadline = time.time() + 10
    while not temp_files(server) and time.time() < deadline:  # the server is staging the half it got
        time.sleep(0.02)
    assert len(temp_files(server)) == 1
    s.close()
    deadline = time.time() + 10
    while temp_files(server) and time.time() < deadline:
        time.sleep(0.1)
    assert temp_files(server) == []
    assert attachment_count(server, auth) == before
    assert "Traceback" not in server.server_log()
    # and the next upload works
    body, ctype = multipart({"discipline": "D4"}, "after.csv", b"a;b\n1;2\n")
    r = requests.post(f"{server.url}/api/v1/reports/{report_id}/attachments", data=body, headers={**headers, "Content-Type": ctype}, timeout=30)
    assert r.status_code == 201, r.text


def test_chunked_bodies_are_read_too(server, auth):
    headers, report_id = auth
    data = b"sample;value\n" + b"".join(f"{i};{i % 97}\n".encode() for i in range(200_000))
    body, ctype = multipart({"discipline": "D5"}, "chunked.txt", data)

    def pieces():
        for i in range(0, len(body), 100_000):
            yield body[i:i + 100_000]

    r = requests.post(f"{server.url}/api/v1/reports/{report_id}/attachments", data=pieces(), headers={**headers, "Content-Type": ctype}, timeout=60)
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == hashlib.sha256(data).hexdigest() and r.json()["size"] == len(data)


def test_oversized_and_malformed_bodies(server, auth):
    headers, report_id = auth
    before = attachment_count(server, auth)
    body, ctype = multipart({"discipline": "D4"}, "big.csv", b"1;2\n" * (6 << 20))  # 24 MB > 20 MB
    r = requests.post(f"{server.url}/api/v1/reports/{report_id}/attachments", data=body, headers={**headers, "Content-Type": ctype}, timeout=60)
    assert r.status_code == 413 and r.json()["error"] == "too_large"
    # within the body limit (file limit + 1 MB for the form), but the file itself is too large
    body, ctype = multipart({"discipline": "D4"}, "big.csv", b"1;2\n" * ((20 << 20) // 4 + 1000))
    r = requests.post(f"{server.url}/api/v1/reports/{report_id}/attachments", data=body, headers={**headers, "Content-Type": ctype}, timeout=60)
    assert r.status_code == 413 and "20 MB" in r.json()["message"]
    r = requests.post(f"{server.url}/api/v1/reports/{report_id}/attachments", data=b"--nope\r\n\r\n",
                      headers={**headers, "Content-Type": "multipart/form-data; boundary=liveboundary"}, timeout=30)
    assert r.status_code == 400 and "could not be read" in r.json()["message"]
    r = requests.post(f"{server.url}/api/v1/reports/{report_id}/attachments", json={"file": "x"}, headers=headers, timeout=30)
    assert r.status_code == 400
    assert attachment_count(server, auth) == before and temp_files(server) == []


def test_the_page_form_uploads_through_gunicorn_with_its_csrf_token(server, auth):
    """The no-JavaScript form: several files in one request, read by the streaming reader, the
    CSRF token checked after it (a missing one stores nothing)."""
    _headers, report_id = auth
    from tests.conftest import csrf_from

    s = requests.Session()
    page = s.get(f"{server.url}/login", timeout=30).text
    r = s.post(f"{server.url}/login", data={"email": "lukas.brandt@celltech.example", "password": DEMO_PASSWORD,
                                            "csrf_token": csrf_from(page)}, timeout=30)
    assert r.status_code == 200 and "/login" not in r.url
    before = attachment_count(server, auth)
    files = [("file", ("hold-tags.csv", b"tag;qty\nH-1;40\n", "text/csv")), ("file", ("evil.csv", b"<html><script>x</script></html>", "text/csv"))]
    r = s.post(f"{server.url}/reports/{report_id}/evidence", data={"discipline": "D3"}, files=files, timeout=30, allow_redirects=False)
    assert r.status_code == 400 and attachment_count(server, auth) == before
    token = csrf_from(s.get(f"{server.url}/reports/{report_id}?d=D3", timeout=30).text)
    r = s.post(f"{server.url}/reports/{report_id}/evidence", data={"discipline": "D3", "csrf_token": token, "description": "Hold tags"},
               files=files, timeout=30)
    assert r.status_code == 200
    assert "hold-tags.csv" in r.text and "evil.csv: " in r.text  # stored, and the refusal names the file and the reason
    assert attachment_count(server, auth) == before + 1 and temp_files(server) == []
