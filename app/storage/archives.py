"""Archives judged before they are kept: ZIP (and the Office formats built on it), gzip, bzip2, xz
and tar - opened level by level up to MAX_ARCHIVE_DEPTH, with budgets on the total, the ratio and
the number of entries, so that a bomb of a few kilobytes is refused before it costs gigabytes.
Nothing is extracted to disk beyond a bounded spool."""

from __future__ import annotations

import bz2
import lzma
import os
import re
import struct
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import PurePosixPath
from typing import BinaryIO, NamedTuple

from flask_babel import gettext as _

from app.storage.errors import UnsafeArchive

_ZIP_SIGS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")

# ZIP-bomb guard defaults.
MAX_ZIP_TOTAL = 1 << 30  # 1 GiB uncompressed
MAX_ZIP_RATIO = 100
MAX_ZIP_ENTRIES = 10_000
ZIP_RATIO_FLOOR = 1 << 20  # the ratio is only judged once the content exceeds 1 MiB
_MAX_CENTRAL_DIRECTORY = 64 << 20
#: Archives inside archives: the upload is level 1; a ZIP in a ZIP in a ZIP is still fine.
MAX_ARCHIVE_DEPTH = 3
_SMALLEST_ARCHIVE = 18  # bytes: nothing shorter is a ZIP, gzip, bzip2, xz or tar file
_PEEK = 512
_CHUNK = 1 << 20
_SPOOL_IN_MEMORY = 8 << 20
_STREAMS = {"gzip": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS), "bzip2": bz2.BZ2Decompressor, "xz": lzma.LZMADecompressor}
_ARCHIVE_NAME = re.compile(r"\.(zip|jar|docx|xlsx|pptx|odt|ods|odp|gz|tgz|bz2|tbz2?|xz|txz|tar|7z|rar)$", re.IGNORECASE)


class ZipSummary(NamedTuple):
    entries: int
    uncompressed: int
    compressed: int


def check_zip(
    path: str | os.PathLike,
    *,
    max_total: int = MAX_ZIP_TOTAL,
    max_ratio: float = MAX_ZIP_RATIO,
    max_entries: int = MAX_ZIP_ENTRIES,
    ratio_floor: int = ZIP_RATIO_FLOOR,
    max_depth: int = MAX_ARCHIVE_DEPTH,
) -> ZipSummary:
    """Refuse (raise `UnsafeArchive`) a ZIP that would unpack - archives inside it unpacked as
    well, recursively - to more than `max_total` bytes, or to more than `max_entries` entries, that
    nests archives more than `max_depth` levels deep, any of whose archives is compressed more than
    `max_ratio` to 1 (judged once its content passes `ratio_floor` bytes, so a tiny text file that
    compresses well is not a bomb), or that cannot be read. Nested archives are recognised by
    their content (ZIP and Office files, gzip, bzip2, xz, tar); 7z and RAR inside cannot be
    checked and are refused. Each ZIP's entry count is read from its end record BEFORE its
    central directory is parsed, so a million-entry archive costs no memory. Nothing is written
    anywhere but to temporary files of bounded size.
    """
    budget = _Budget(max_total=max_total, max_entries=max_entries, max_ratio=max_ratio, ratio_floor=ratio_floor, max_depth=max_depth)
    try:
        with open(path, "rb") as f:
            _check_zip_file(f, 1, budget, "The ZIP archive")
    except OSError as exc:
        raise UnsafeArchive(_('The ZIP archive cannot be read (%(exc)s).', exc=exc)) from exc
    return ZipSummary(budget.entries, budget.expanded, budget.compressed)


class _Budget:
    """What the whole upload may unpack to, spent level by level."""

    def __init__(self, *, max_total: int, max_entries: int, max_ratio: float, ratio_floor: int, max_depth: int) -> None:
        self.max_total, self.max_entries, self.max_ratio, self.ratio_floor, self.max_depth = max_total, max_entries, max_ratio, ratio_floor, max_depth
        self.entries = self.expanded = self.compressed = 0

    def check_entries(self, n: int, what: str) -> None:
        if self.entries + n > self.max_entries:
            inside = "" if what == "The ZIP archive" else ", counting the archives inside it"
            raise UnsafeArchive(_('The ZIP archive has %(value)s entries%(inside)s; at most %(max_entries)s are accepted.', value=self.entries + n, inside=inside, max_entries=self.max_entries))

    def spend_entries(self, n: int, what: str) -> None:
        self.check_entries(n, what)
        self.entries += n

    def spend_bytes(self, n: int, what: str) -> None:
        self.expanded += n
        if self.expanded > self.max_total:
            inside = "" if what == "The ZIP archive" else " with the archives inside it unpacked too"
            raise UnsafeArchive(_('The ZIP archive would unpack to %(expanded)s bytes%(inside)s; at most %(max_total)s are accepted.', expanded=self.expanded, inside=inside, max_total=self.max_total))


def _check_zip_file(f: BinaryIO, level: int, budget: _Budget, what: str) -> None:
    try:
        declared_entries, cd_size = _end_record(f)
    except (OSError, ValueError, struct.error) as exc:
        raise UnsafeArchive(_('%(what)s cannot be read (%(exc)s).', what=what, exc=exc)) from exc
    budget.check_entries(declared_entries, what)  # before the directory is parsed
    if cd_size > _MAX_CENTRAL_DIRECTORY:
        raise UnsafeArchive(_("%(what)s's table of contents is too large.", what=what))
    try:
        with zipfile.ZipFile(f) as zf:
            infos = zf.infolist()
            budget.spend_entries(len(infos), what)
            total = sum(i.file_size for i in infos)
            compressed = sum(i.compress_size for i in infos)
            budget.compressed += compressed
            if total > budget.ratio_floor and total > budget.max_ratio * max(compressed, 1):
                raise UnsafeArchive(f"{what} is compressed {total / max(compressed, 1):.0f} to 1, which looks like a ZIP bomb "
                                    f"(limit {budget.max_ratio:g} to 1).")
            budget.spend_bytes(total, what)
            for info in infos:
                if info.is_dir() or info.file_size < _SMALLEST_ARCHIVE:
                    continue
                if info.flag_bits & 0x1:  # encrypted: only its name can be judged
                    if _ARCHIVE_NAME.search(info.filename):
                        raise UnsafeArchive(_('%(what)s holds an encrypted archive (%(filename)s) that cannot be checked.', what=what, filename=info.filename))
                    continue
                with zf.open(info) as member:
                    _check_member(member, info.filename, level, budget)
    except UnsafeArchive:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError,
            zlib.error, lzma.LZMAError, tarfile.TarError) as exc:
        raise UnsafeArchive(_('%(what)s cannot be read (%(exc)s).', what=what, exc=exc)) from exc


def _check_member(member: BinaryIO, name: str, level: int, budget: _Budget) -> None:
    """An entry of an archive at `level`: if it is an archive itself, check it at level + 1."""
    head = member.read(_PEEK)
    kind = _archive_kind(head)
    if kind is None:
        return
    nested = f"The archive {PurePosixPath(name).name[:80]} inside it"
    if kind in ("7z", "rar"):
        raise UnsafeArchive(f"The ZIP archive holds a {kind.upper()} archive ({PurePosixPath(name).name[:80]}) that cannot be checked; "
                            "pack everything as one ZIP.")
    if level + 1 > budget.max_depth:
        raise UnsafeArchive(_('The ZIP archive nests archives more than %(max_depth)s levels deep.', max_depth=budget.max_depth))
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:
        if kind in _STREAMS:
            # a compressed stream: its unpacked bytes are new bytes on the disk of whoever opens it
            decompressor, data = _STREAMS[kind](), head
            while data:
                _inflate(decompressor, data, spool, budget, nested)
                data = member.read(_CHUNK)
            spool.seek(0)
            if _archive_kind(spool.read(_PEEK)) == "tar":  # a .tar.gz (.tar.bz2, .tar.xz) is one archive, one level
                spool.seek(0)
                _check_tar(spool, level + 1, budget, nested)
            else:
                spool.seek(0)
                _check_member(spool, PurePosixPath(name).stem, level + 1, budget)
            return
        spool.write(head)
        while chunk := member.read(_CHUNK):  # bounded: the parent's sizes were counted already
            spool.write(chunk)
        spool.seek(0)
        if kind == "zip":
            _check_zip_file(spool, level + 1, budget, nested)
        else:
            _check_tar(spool, level + 1, budget, nested)


def _inflate(decompressor, data: bytes, out: BinaryIO, budget: _Budget, what: str) -> None:
    """Feed `data` to a gzip (zlib), bzip2 or xz decompressor, a bounded chunk of output at a
    time, every byte spent from the budget before it is written."""
    if getattr(decompressor, "eof", False):
        return  # trailing bytes after the stream
    if hasattr(decompressor, "unconsumed_tail"):  # zlib: input not yet used waits in the tail
        while data:
            produced = decompressor.decompress(data, _CHUNK)
            budget.spend_bytes(len(produced), what)
            out.write(produced)
            data = decompressor.unconsumed_tail
        return
    produced = decompressor.decompress(data, _CHUNK)
    while True:
        budget.spend_bytes(len(produced), what)
        out.write(produced)
        if decompressor.eof or decompressor.needs_input:
            return
        produced = decompressor.decompress(b"", _CHUNK)


def _check_tar(f: BinaryIO, level: int, budget: _Budget, what: str) -> None:
    with tarfile.open(fileobj=f, mode="r:") as tar:
        for info in tar:
            budget.spend_entries(1, what)
            if info.isfile() and info.size >= _SMALLEST_ARCHIVE:
                member = tar.extractfile(info)
                if member is not None:
                    _check_member(member, info.name, level, budget)


def _archive_kind(head: bytes) -> str | None:
    if head.startswith(_ZIP_SIGS):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"BZh") and head[3:4].isdigit():
        return "bzip2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head[257:262] == b"ustar":
        return "tar"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head.startswith(b"Rar!\x1a\x07"):
        return "rar"
    return None


def _end_record(f: BinaryIO) -> tuple[int, int]:
    """(total entries, central directory size) from the (ZIP64) end of central directory record."""
    f.seek(0, os.SEEK_END)
    size = f.tell()
    tail_len = min(size, 22 + 65535 + 20)
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or len(tail) - pos < 22:
        raise ValueError("no end of central directory record")
    entries, cd_size = struct.unpack("<HI", tail[pos + 10 : pos + 16])
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF:
        loc = pos - 20
        if loc < 0 or tail[loc : loc + 4] != b"PK\x06\x07":
            raise ValueError("ZIP64 locator missing")
        (eocd64_offset,) = struct.unpack("<Q", tail[loc + 8 : loc + 16])
        f.seek(eocd64_offset)
        rec = f.read(56)
        if len(rec) < 56 or rec[:4] != b"PK\x06\x06":
            raise ValueError("ZIP64 end record missing")
        entries, cd_size = struct.unpack("<QQ", rec[32:48])
    f.seek(0)
    return entries, cd_size
