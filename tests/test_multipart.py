"""The streaming multipart reader (app/storage/multipart.py): whatever way the bytes arrive, the
fields and files come out exactly as sent; a malformed, cut-off or oversized body is refused and
leaves no temporary file behind."""

from __future__ import annotations

import hashlib
import io
import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder

from app.storage.base import BlobWriter
from app.storage.errors import TooLarge
from app.storage.local import LocalStore
from app.storage.multipart import BodyTooLarge, MultipartError, boundary_of, parse
from app.storage.writer import PARALLEL_MIN

BOUNDARY = b"----WebKitFormBoundary7MA4YWxkTrZu0gW"


def body_of(parts: list[tuple], boundary: bytes = BOUNDARY) -> bytes:
    """Encode like a browser: CRLF line ends, a preamble-free body, the close delimiter."""
    out = bytearray()
    for part in parts:
        out += b"--" + boundary + b"\r\n"
        if part[0] == "field":
            _, name, value = part
            out += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value.encode()
        else:
            _, name, filename, data = part
            out += (f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                    f"Content-Type: application/octet-stream\r\n\r\n").encode() + data
        out += b"\r\n"
    out += b"--" + boundary + b"--\r\n"
    return bytes(out)


def reader(data: bytes, sizes=None):
    """readinto over `data`, handing out at most the next of `sizes` bytes per call (a slow network)."""
    pos = 0
    rng = random.Random(len(data))

    def readinto(view: memoryview) -> int:
        nonlocal pos
        n = min(len(view), len(data) - pos)
        if sizes:
            n = min(n, rng.choice(sizes))
        view[:n] = data[pos:pos + n]
        pos += n
        return n

    return readinto


@pytest.fixture
def store(tmp_path):
    return LocalStore(tmp_path / "evidence")


def leftovers(store) -> list[str]:
    return os.listdir(store.tmp_dir)


def run(store, data, boundary=BOUNDARY, max_bytes=10 << 20, **kw):
    return parse(reader(data, kw.pop("sizes", None)), boundary, lambda: store.writer(max_bytes), **kw)


def staged_bytes(part) -> bytes:
    return part.staged.path.read_bytes()


def test_fields_and_files_come_out_as_sent(store):
    photo = os.urandom(300_000)
    tricky = b"\r\n--" + BOUNDARY[:-1] + b"\r\n--" + b"\r\n\r\n" + b"-" * 100  # looks almost like a boundary
    data = body_of([("field", "discipline", "D4"), ("file", "file", "Schweißnaht 溶接.jpg", photo),
                    ("field", "description", "Micro-section, weld C1 — 2 µm"), ("file", "file", "tricky.bin", tricky),
                    ("file", "file", "empty.txt", b"")])
    form = run(store, data, sizes=[1, 7, 100, 4096, 65536])
    assert form.fields == {"discipline": ["D4"], "description": ["Micro-section, weld C1 — 2 µm"]}
    assert [(f.name, f.filename) for f in form.files] == [("file", "Schweißnaht 溶接.jpg"), ("file", "tricky.bin"), ("file", "empty.txt")]
    assert [staged_bytes(f) for f in form.files] == [photo, tricky, b""]
    assert form.files[0].staged.sha256 == hashlib.sha256(photo).hexdigest() and form.files[0].staged.size == len(photo)
    form.discard()
    assert leftovers(store) == []


# Files past the size where the writer hashes in the background (PARALLEL_MIN), with delimiter-like
# bytes at random places, so that the property also covers the parallel path.
LARGE = st.builds(lambda seed, n, trap: (lambda b: b[: n // 2] + trap + b[n // 2:])(random.Random(seed).randbytes(n)),
                  st.integers(0, 2**32), st.integers(PARALLEL_MIN, 3 * PARALLEL_MIN), st.sampled_from([b"", b"\r\n--" + BOUNDARY[:-1], b"\r\n-"]))


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.one_of(
    st.tuples(st.just("field"), st.sampled_from(["discipline", "description", "action_id"]), st.text(max_size=300)),
    st.tuples(st.just("file"), st.just("file"), st.text(min_size=1, max_size=40).filter(lambda s: not set(s) & set('"\\\r\n')),  # quotes, line ends: browsers percent-encode them; a backslash is a quoted-string escape (as werkzeug reads it)
              st.binary(max_size=20_000) | st.sampled_from([b"\r\n--", b"-" + BOUNDARY, b"\r\n--" + BOUNDARY[:-3], b"\r"])
              | LARGE)),
    max_size=6), window=st.sampled_from([512, 4096, 1 << 16, 1 << 18, 1 << 20]), sizes=st.sampled_from([None, [1, 3, 50], [1000, 7000], [200_000, 1 << 20]]))
def test_any_body_any_chunking_round_trips(store, parts, window, sizes):
    form = run(store, body_of(parts), window=window, sizes=sizes)
    try:
        expected_fields: dict[str, list[str]] = {}
        for p in parts:
            if p[0] == "field":
                expected_fields.setdefault(p[1], []).append(p[2])
        assert form.fields == expected_fields
        assert [(f.filename, staged_bytes(f)) for f in form.files] == [(p[2], p[3]) for p in parts if p[0] == "file"]
        assert [f.staged.sha256 for f in form.files] == [hashlib.sha256(p[3]).hexdigest() for p in parts if p[0] == "file"]
    finally:
        form.discard()
    assert leftovers(store) == []


def test_large_files_take_the_background_hashing_and_write_back_paths(store, monkeypatch):
    """The parallel paths of the writer are reached by real uploads, and give the same bytes and hash."""
    from app.storage import writer

    used = {"hash": 0, "flush": 0}
    for name, pool in (("hash", writer._HASHING), ("flush", writer._FLUSHING)):
        def counting(*args, _name=name, _submit=pool.submit, **kwargs):
            used[_name] += 1
            return _submit(*args, **kwargs)
        monkeypatch.setattr(pool, "submit", counting)
    data = random.Random(7).randbytes(writer.FLUSH_EVERY + 3 * writer.PARALLEL_MIN)
    form = run(store, body_of([("file", "file", "cells.bin", data)]), max_bytes=64 << 20, window=1 << 20)
    try:
        assert staged_bytes(form.files[0]) == data and form.files[0].staged.sha256 == hashlib.sha256(data).hexdigest()
    finally:
        form.discard()
    assert used["hash"] > 0 and used["flush"] > 0


def test_bodies_encoded_by_werkzeug_are_read_like_werkzeug_reads_them(store):
    environ = EnvironBuilder(method="POST", data={"discipline": "D6", "file": (io.BytesIO(b"a;b\n1;2\n"), "m.csv"),
                                                  "other": (io.BytesIO(b""), "empty.pdf")}).get_environ()
    data = environ["wsgi.input"].read()
    form = run(store, data, boundary=boundary_of(environ["CONTENT_TYPE"]))
    assert form.get("discipline") == "D6"
    assert [(f.name, f.filename, staged_bytes(f)) for f in form.files] == [("file", "m.csv", b"a;b\n1;2\n"), ("other", "empty.pdf", b"")]
    form.discard()


def test_a_body_cut_off_anywhere_is_refused_and_leaves_nothing(store):
    data = body_of([("field", "discipline", "D4"), ("file", "file", "a.bin", os.urandom(50_000)), ("file", "file", "b.bin", os.urandom(50_000))])
    for cut in [0, 10, len(BOUNDARY) + 3, 120, 200, 25_000, 50_150, 50_300, 99_000, len(data) - len(BOUNDARY) - 5]:
        with pytest.raises(MultipartError):
            run(store, data[:cut], sizes=[4096])
        assert leftovers(store) == [], cut


def test_limits(store):
    big = body_of([("file", "file", "a.bin", os.urandom(200_000))])
    with pytest.raises(BodyTooLarge):
        run(store, big, max_body=100_000)
    assert leftovers(store) == []
    with pytest.raises(MultipartError, match="Too many parts"):
        run(store, body_of([("field", "x", "1")] * 5), max_parts=4)
    with pytest.raises(MultipartError, match="too long"):
        run(store, body_of([("field", "description", "x" * 70_000)]))
    with pytest.raises(MultipartError, match="header is too long"):
        run(store, b"--" + BOUNDARY + b"\r\nX-Pad: " + b"a" * 20_000 + b"\r\n\r\n")
    with pytest.raises(MultipartError, match="needs a Content-Disposition: form-data header with a name"):
        run(store, b"--" + BOUNDARY + b"\r\nContent-Type: text/plain\r\n\r\nx\r\n--" + BOUNDARY + b"--\r\n")
    with pytest.raises(MultipartError, match="no parts"):
        run(store, b"hello world" * 10_000)
    assert leftovers(store) == []


def test_a_file_over_the_size_limit_is_marked_and_the_rest_still_read(store):
    data = body_of([("file", "file", "big.bin", os.urandom(300_000)), ("file", "file", "small.txt", b"ok\n"), ("field", "discipline", "D5")])
    form = run(store, data, max_bytes=100_000)
    big, small = form.files
    assert big.staged.too_large and not small.staged.too_large and staged_bytes(small) == b"ok\n" and form.get("discipline") == "D5"
    with pytest.raises(TooLarge):
        store.publish(big.staged, filename="big.bin")
    assert store.publish(small.staged, filename="small.txt").size == 3
    form.discard()
    assert leftovers(store) == []


def test_boundary_of_content_type():
    assert boundary_of('multipart/form-data; boundary="abc def"') == b"abc def"
    for bad in [None, "", "application/json", "multipart/form-data", "multipart/form-data; boundary=" + "x" * 201, "multipart/form-data; boundary=ä"]:
        with pytest.raises(MultipartError):
            boundary_of(bad)


def test_writer_hashes_chunks_on_a_helper_thread_in_order(tmp_path):
    chunks = [os.urandom(n) for n in (300_000, 5, 1 << 20, 200_000, 1)]
    w = BlobWriter(tmp_path, 10 << 20)
    for c in chunks:
        w.write(memoryview(c))
    staged = w.finish()
    assert staged.sha256 == hashlib.sha256(b"".join(chunks)).hexdigest() and staged.path.read_bytes() == b"".join(chunks)
    staged.discard()
    w2 = BlobWriter(tmp_path, 10 << 20)
    w2.write(os.urandom(1 << 20))
    w2.abort()
    assert os.listdir(tmp_path) == []


def test_long_boundaries_are_read_and_absurd_ones_refused(tmp_path):
    """RFC 2046 says 70 characters, but clients send longer ones (Werkzeug's test client does,
    one upload in a few hundred): such an upload must not fail as 'not multipart'."""
    long = "---------------WerkzeugFormPart_1764615123.4567891230.12345678901234567"
    assert len(long) > 70 and boundary_of(f"multipart/form-data; boundary={long}") == long.encode()
    with pytest.raises(MultipartError):
        boundary_of("multipart/form-data; boundary=" + "x" * 201)
