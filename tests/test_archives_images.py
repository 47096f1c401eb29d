"""Archives inside archives are checked too (depth, entries and bytes of the whole unpacked tree),
images over 50 megapixels are refused with a clear message, and a thumbnail is made once."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest

from app.extensions import db
from app.services import reports, team
from app.storage.errors import UnsafeArchive
from app.storage.filetypes import MAX_IMAGE_PIXELS, check_zip, classify
from tests.conftest import login
from tests.test_evidence import png_bytes, up
from tests.test_storage import ooxml_bytes, zip_bomb

MiB = 1 << 20


def zip_of(entries: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return bio.getvalue()


def tar_of(entries: dict[str, bytes]) -> bytes:
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return bio.getvalue()


def nested(levels: int, payload: bytes = b"part,value\nA,1\n") -> bytes:
    """A ZIP in a ZIP in a ZIP ... `levels` archives deep in all."""
    data = zip_of({"data.csv": payload})
    for i in range(levels - 1):
        data = zip_of({f"level{levels - 1 - i}.zip": data})
    return data


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# ----------------------------------------------------------------------------- nested archives
def test_a_zip_bomb_inside_a_plain_zip_is_refused(tmp_path):
    """The outer ZIP stores the bomb uncompressed, so the outer ratio is 1:1 - only a look inside
    finds the 1000:1 of the inner one."""
    bomb = zip_bomb(tmp_path / "inner.zip").read_bytes()
    outer = write(tmp_path, "outer.zip", zip_of({"report.csv": b"lot,nok\n", "logs.zip": bomb}))
    with pytest.raises(UnsafeArchive, match="logs.zip inside it is compressed"):
        check_zip(outer)
    assert classify(outer.read_bytes()[:65536], "outer.zip", path=outer).allowed is False


def test_archives_nested_deeper_than_three_levels_are_refused(tmp_path):
    assert check_zip(write(tmp_path, "three.zip", nested(3))).entries == 3
    with pytest.raises(UnsafeArchive, match="more than 3 levels deep"):
        check_zip(write(tmp_path, "four.zip", nested(4)))
    with pytest.raises(UnsafeArchive, match="more than 1 levels deep"):
        check_zip(write(tmp_path, "two.zip", nested(2)), max_depth=1)


def test_entries_of_nested_archives_count_against_one_limit(tmp_path):
    inner = zip_of({f"f{i}.txt": b"x" * 20 for i in range(60)})
    outer = write(tmp_path, "outer.zip", zip_of({f"part{i}.zip": inner for i in range(2)}))
    assert check_zip(outer, max_entries=200).entries == 2 + 120
    with pytest.raises(UnsafeArchive, match="counting the archives inside it"):
        check_zip(outer, max_entries=100)


def test_bytes_of_nested_archives_and_compressed_streams_count_against_one_limit(tmp_path):
    zeros = bytes(4 * MiB)
    inner_zip = zip_of({"zeros.bin": zeros}, zipfile.ZIP_DEFLATED)
    for name, packed in {"inner.zip": inner_zip, "logs.gz": gzip.compress(zeros), "logs.bz2": bz2.compress(zeros),
                         "logs.xz": lzma.compress(zeros)}.items():
        outer = write(tmp_path, f"with-{name}.zip", zip_of({name: packed}))
        assert check_zip(outer, max_ratio=10**9).uncompressed >= 4 * MiB
        with pytest.raises(UnsafeArchive, match="unpacked too"):
            check_zip(outer, max_total=2 * MiB, max_ratio=10**9)


def test_a_tar_gz_inside_is_looked_into_as_well(tmp_path):
    tgz = gzip.compress(tar_of({"a.csv": b"x,y\n", "deeper.zip": nested(2)}))
    outer = write(tmp_path, "outer.zip", zip_of({"logs.tar.gz": tgz}))
    assert check_zip(outer, max_depth=4).entries == 1 + 2 + 2  # the outer entry, the tar's two, the two ZIPs' one each
    with pytest.raises(UnsafeArchive, match="more than 3 levels deep"):
        check_zip(outer)  # zip > tar.gz > zip > zip: four levels
    assert check_zip(write(tmp_path, "logs.zip", zip_of({"logs.tar.gz": gzip.compress(tar_of({"a.zip": nested(1)}))}))).entries == 3


def test_archives_that_cannot_be_checked_are_refused(tmp_path):
    seven_z = b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(40)
    with pytest.raises(UnsafeArchive, match="7Z archive"):
        check_zip(write(tmp_path, "a.zip", zip_of({"inner.7z": seven_z})))
    rar = b"Rar!\x1a\x07\x01\x00" + bytes(40)
    with pytest.raises(UnsafeArchive, match="RAR archive"):
        check_zip(write(tmp_path, "b.zip", zip_of({"inner.rar": rar})))
    broken_inner = write(tmp_path, "c.zip", zip_of({"inner.zip": b"PK\x03\x04" + bytes(100)}))
    with pytest.raises(UnsafeArchive, match="cannot be read"):
        check_zip(broken_inner)
    broken_gzip = write(tmp_path, "d.zip", zip_of({"inner.gz": b"\x1f\x8b\x08\x00" + bytes(40)}))
    with pytest.raises(UnsafeArchive, match="cannot be read"):
        check_zip(broken_gzip)


def test_ordinary_nested_files_pass(tmp_path):
    bundle = zip_of({"report.docx": ooxml_bytes("docx"), "data.xlsx": ooxml_bytes("xlsx"), "photo.png": png_bytes(),
                     "logs.tar.gz": gzip.compress(tar_of({"run1.log": b"ok\n" * 1000})), "notes.txt": b"fine\n"}, zipfile.ZIP_DEFLATED)
    path = write(tmp_path, "bundle.zip", bundle)
    assert classify(bundle[:65536], "bundle.zip", path=path).allowed
    # an Office document with a workbook embedded in it is an archive in an archive too
    docx = zipfile.ZipFile(io.BytesIO(ooxml_bytes("docx")))
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w", zipfile.ZIP_DEFLATED) as out:
        for info in docx.infolist():
            out.writestr(info, docx.read(info))
        out.writestr("word/embeddings/Microsoft_Excel_Worksheet.xlsx", ooxml_bytes("xlsx"))
    path = write(tmp_path, "embedded.docx", bio.getvalue())
    assert classify(bio.getvalue()[:65536], "embedded.docx", path=path).mime.endswith("wordprocessingml.document")


# ------------------------------------------------------------------------------------ images
def png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(b"IEND", b"")


def unique_png() -> bytes:
    """An image no other test has stored (thumbnails are kept per content, across tests)."""
    import os

    from PIL import Image

    buf = io.BytesIO()
    Image.frombytes("RGB", (32, 24), os.urandom(32 * 24 * 3)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def report(parties):
    p = parties
    r = reports.create_report(p.sup_eng, {"title": "Welds", "oem_id": p.oem.id, "supplier_id": p.supplier.id})
    team.add_member(p.sup_eng, r, p.oem_eng.id, "member")
    db.session.commit()
    return r


def test_an_image_over_fifty_megapixels_is_refused_with_a_clear_message(api, parties, report):
    assert MAX_IMAGE_PIXELS == 50_000_000
    a = api(parties.sup_eng)
    r = up(a, report.id, "line-overview.png", png_header_only(10_000, 6_000))  # 60 MP declared in 57 bytes
    assert r.status_code == 415, r.get_json()
    body = r.get_json()
    assert body["error"] == "unsupported_media_type" and body["details"]["rule"] == "image_too_large"
    assert "60.0 megapixels (10000 x 6000); at most 50 megapixels are accepted" in body["message"]
    gigapixel = up(a, report.id, "bomb.png", png_header_only(100_000, 100_000))
    assert gigapixel.status_code == 415
    assert up(a, report.id, "fine.png", png_header_only(5_000, 5_000)).status_code == 201  # 25 MP
    assert a.get(f"/api/v1/reports/{report.id}/attachments").get_json()["total"] == 1


def test_a_zip_bomb_inside_a_zip_is_refused_at_upload(api, parties, report, tmp_path):
    bomb = zip_bomb(tmp_path / "inner.zip").read_bytes()
    r = up(api(parties.sup_eng), report.id, "evidence.zip", zip_of({"logs.zip": bomb}))
    assert r.status_code == 415 and "ZIP bomb" in r.get_json()["message"]


def test_a_thumbnail_is_made_once_per_content(app, api, parties, report, client, monkeypatch):
    from app.storage import thumbs

    made = []
    real = thumbs.make_thumbnail
    monkeypatch.setattr(thumbs, "make_thumbnail", lambda *a, **kw: made.append(1) or real(*a, **kw))
    first = up(api(parties.sup_eng), report.id, "tags.png", unique_png(), discipline="D3")
    assert first.status_code == 201, first.get_json()
    att = first.get_json()["id"]
    login(client, parties.oem_eng)
    bodies = [client.get(f"/evidence/{att}/thumb") for _ in range(3)]
    assert [b.status_code for b in bodies] == [200, 200, 200] and len({b.data for b in bodies}) == 1
    assert len(made) == 1
    # an image over the limit stored before it existed: no thumbnail - and that is decided once too
    from app.models import Attachment
    from app.storage import get_store

    big = png_header_only(10_000, 6_001)  # content no other test stored (thumbnails are kept per content)
    stored = get_store(app).ingest(io.BytesIO(big), MiB, filename="old.png", enforce_types=False)
    row = Attachment(report_id=report.id, discipline="D3", filename="old.png", size=stored.size, sha256=stored.sha256, content_type="image/png",
                     storage_key=stored.key, uploaded_by_id=parties.sup_eng.id)
    db.session.add(row)
    db.session.commit()
    assert [client.get(f"/evidence/{row.id}/thumb").status_code for _ in range(2)] == [404, 404]
    assert len(made) == 2
