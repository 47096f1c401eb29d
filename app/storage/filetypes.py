"""What kind of file is this, judged by its CONTENT, and may we keep it?

The allow-list: PDF, PNG, JPEG, WebP, CSV, plain text, Office documents (docx/xlsx/pptx and the
legacy doc/xls/ppt), ZIP. Everything else is refused, and so is anything that a browser or the
operating system could run or render actively: HTML, SVG, XML, scripts, macro-enabled Office files,
and names with an executable extension (a text file called `run.bat` runs when double-clicked).

`inline_ok` is True only for PNG, JPEG and WebP: those alone may be shown in the page
(`Content-Disposition: inline`); everything else is sent as an attachment. The caller serves a file
with the mime type found here (never the one the browser claimed) and `X-Content-Type-Options: nosniff`.
"""

from __future__ import annotations

import bz2
import lzma
import os
import re
import struct
import tarfile
import tempfile
import warnings
import zipfile
import zlib
from pathlib import PurePosixPath
from typing import BinaryIO, NamedTuple

import magic
from flask_babel import gettext as _
from PIL import Image

from app.storage.errors import DisallowedType, OversizedImage, UnsafeArchive

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
WEBP = "image/webp"
CSV = "text/csv"
TEXT = "text/plain"
ZIP = "application/zip"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
PPT = "application/vnd.ms-powerpoint"

#: The mime types we store (after normalisation), and whether each may be shown inline.
ALLOWED: dict[str, bool] = {
    PDF: False,
    PNG: True,
    JPEG: True,
    WEBP: True,
    CSV: False,
    TEXT: False,
    DOCX: False,
    XLSX: False,
    PPTX: False,
    DOC: False,
    XLS: False,
    PPT: False,
    ZIP: False,
}

#: Extensions a person's operating system may run or render actively, whatever the content.
DANGEROUS_EXTENSIONS = frozenset(
    """
    .exe .dll .com .scr .pif .cpl .msi .msp .mst .msc .bat .cmd .ps1 .psm1 .psd1 .vb .vbs .vbe .js .jse
    .mjs .wsf .wsh .wsc .hta .lnk .url .scf .inf .reg .jar .jnlp .app .dmg .pkg .sh .bash .command
    .desktop .html .htm .xhtml .shtml .mht .mhtml .svg .svgz .xml .xsl .xslt .php .phtml .chm .gadget
    .application .appref-ms .iso .img .vhd .vhdx .docm .dotm .xlsm .xltm .xlam .pptm .potm .ppam .ppsm
    .sldm .swf .py .pyw .pl .rb .apk .elf .so .dylib
    """.split()
)

# magic's names for text that is plain text to us (it guesses "C source" from a line like "#include").
_TEXT_ALIASES = frozenset(
    {
        "text/plain",
        "text/x-c",
        "text/x-c++",
        "text/x-diff",
        "text/x-makefile",
        "text/x-tex",
        "text/x-asm",
        "text/x-fortran",
        "text/x-pascal",
        "text/x-java",
        "text/x-objective-c",
        "text/troff",
    }
)
_CSV_ALIASES = frozenset({"text/csv", "application/csv", "text/x-csv"})
_ZIP_ALIASES = frozenset({ZIP, "application/x-zip-compressed", "application/x-zip", DOCX, XLSX, PPTX})
_CDF_ALIASES = frozenset({"application/x-ole-storage", "application/CDFV2", "application/CDFV2-corrupt", DOC, XLS, PPT})
_LEGACY_BY_EXT = {".doc": DOC, ".dot": DOC, ".xls": XLS, ".xlt": XLS, ".ppt": PPT, ".pps": PPT, ".pot": PPT}

_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_JPEG_SIG = b"\xff\xd8\xff"
_CDF_SIG = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_SIGS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")

# What browsers sniff as HTML (WHATWG MIME Sniffing, "identifying an unknown mime type"), plus SVG
# and XML: such text is refused even when libmagic would call it plain text.
_MARKUP_START = re.compile(
    rb"<(?:!doctype\s+html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p|svg|math|object|embed|meta|link|img|form)[\s>/]"
    rb"|<!--|<\?xml",
    re.IGNORECASE,
)

# ZIP-bomb guard defaults.
MAX_ZIP_TOTAL = 1 << 30  # 1 GiB uncompressed
MAX_ZIP_RATIO = 100
MAX_ZIP_ENTRIES = 10_000
ZIP_RATIO_FLOOR = 1 << 20  # the ratio is only judged once the content exceeds 1 MiB
_MAX_CENTRAL_DIRECTORY = 64 << 20
_MAX_CONTENT_TYPES_XML = 2 << 20
#: Archives inside archives: the upload is level 1; a ZIP in a ZIP in a ZIP is still fine.
MAX_ARCHIVE_DEPTH = 3
#: Images with more pixels are refused (a browser or a thumbnail would need gigabytes).
MAX_IMAGE_PIXELS = 50_000_000
_SMALLEST_ARCHIVE = 18  # bytes: nothing shorter is a ZIP, gzip, bzip2, xz or tar file
_PEEK = 512
_CHUNK = 1 << 20
_SPOOL_IN_MEMORY = 8 << 20
_STREAMS = {"gzip": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS), "bzip2": bz2.BZ2Decompressor, "xz": lzma.LZMADecompressor}
_ARCHIVE_NAME = re.compile(r"\.(zip|jar|docx|xlsx|pptx|odt|ods|odp|gz|tgz|bz2|tbz2?|xz|txz|tar|7z|rar)$", re.IGNORECASE)


class Classification(NamedTuple):
    mime: str
    allowed: bool
    inline_ok: bool


class ZipSummary(NamedTuple):
    entries: int
    uncompressed: int
    compressed: int


def classify(head_bytes: bytes, filename: str | None = "", *, path: str | os.PathLike | None = None) -> Classification:
    """Classify by content: `head_bytes` are the first bytes (64 KiB is plenty), `filename` only
    decides CSV vs plain text, the legacy Office flavour, and refuses executable extensions.

    With `path` (the whole file on local disk, as `ingest` has it) ZIP containers are inspected:
    OOXML is recognised from `[Content_Types].xml`, macro-enabled documents and ZIP bombs are refused.
    Without it a ZIP is judged by its head alone: fine for a preview, not for accepting an upload.
    """
    return explain(head_bytes, filename, path=path)[0]


def explain(head_bytes: bytes, filename: str | None = "", *, path: str | os.PathLike | None = None) -> tuple[Classification, DisallowedType | None]:
    """`classify`, plus the error to raise for a refusal (None when allowed): a `DisallowedType`
    (an `UnsafeArchive` for ZIP bombs) whose message is worded for the uploader."""
    head = bytes(head_bytes or b"")
    ext = _extension(filename)
    sniffed = magic.from_buffer(head, mime=True) if head else "application/x-empty"
    if not head:
        return _refuse(sniffed, "The file is empty.")

    if ext in DANGEROUS_EXTENSIONS:
        return _refuse(sniffed, f"Files named *{ext} are not accepted: they could be run or rendered by the computer that opens them.")

    if sniffed == PNG and head.startswith(_PNG_SIG):
        return _image(PNG, path)
    if sniffed == JPEG and head.startswith(_JPEG_SIG):
        return _image(JPEG, path)
    if sniffed == WEBP and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _image(WEBP, path)
    if sniffed == PDF:
        return _allow(PDF)

    if sniffed in _TEXT_ALIASES or sniffed in _CSV_ALIASES:
        if _looks_like_markup(head):
            return _refuse("text/html", "HTML, SVG and XML files are not accepted.")
        if sniffed in _CSV_ALIASES or ext in (".csv", ".tsv"):
            return _allow(CSV)
        return _allow(TEXT)

    if head.startswith(_ZIP_SIGS) or sniffed in _ZIP_ALIASES:
        if path is None:
            mime = sniffed if sniffed in (DOCX, XLSX, PPTX) else ZIP
            return _allow(mime)
        return _classify_zip(path)

    if head.startswith(_CDF_SIG) or sniffed in _CDF_ALIASES:
        return _classify_cdf(head, sniffed, ext, path)

    if sniffed in ("text/html", "image/svg+xml", "text/xml", "application/xml", "application/xhtml+xml"):
        return _refuse(sniffed, "HTML, SVG and XML files are not accepted.")
    if "javascript" in sniffed or sniffed.startswith("text/x-"):
        return _refuse(sniffed, "Scripts are not accepted.")
    return _refuse(sniffed, f"Files of type {sniffed} are not accepted. Accepted: PDF, PNG, JPEG, WebP, CSV, text, Office documents, ZIP.")


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
        raise UnsafeArchive(_('The ZIP archive holds a %(value)s archive (%(value2)s) that cannot be checked; pack everything as one ZIP.', value=kind.upper(), value2=PurePosixPath(name).name[:80]))
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


def check_image(path: str | os.PathLike, *, max_pixels: int = MAX_IMAGE_PIXELS) -> None:
    """Refuse (raise `OversizedImage`) a PNG, JPEG or WebP with more than `max_pixels` pixels,
    judged from its header alone - nothing is decoded. A browser showing it, or anyone making a
    thumbnail of it, would need gigabytes of memory (a decompression bomb needs only kilobytes
    of file)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path, formats=("PNG", "JPEG", "WEBP")) as img:
                width, height = img.size
    except Image.DecompressionBombError as exc:
        raise OversizedImage(_('The image is too large (%(exc)s).', exc=exc)) from exc
    except (OSError, ValueError, SyntaxError):
        return  # not readable as an image: its type was judged by its first bytes; no preview will be made
    if width * height > max_pixels:
        raise OversizedImage(
            f"The image has {width * height / 1e6:.1f} megapixels ({width} x {height}); at most {max_pixels / 1e6:g} megapixels are accepted. "
            "Scale it down and upload it again."
        )


# --- internals ---------------------------------------------------------------------------------


def _allow(mime: str) -> tuple[Classification, None]:
    return Classification(mime, True, ALLOWED[mime]), None


def _refuse(mime: str, reason: str) -> tuple[Classification, DisallowedType]:
    return Classification(mime, False, False), DisallowedType(mime, reason)


def _image(mime: str, path) -> tuple[Classification, DisallowedType | None]:
    """An image is accepted when it has no more than MAX_IMAGE_PIXELS (judged with `path`)."""
    if path is not None:
        try:
            check_image(path)
        except OversizedImage as exc:
            exc.mime = mime
            return Classification(mime, False, False), exc
    return _allow(mime)


def _extension(filename: str | None) -> str:
    if not filename:
        return ""
    name = PurePosixPath(str(filename).replace("\\", "/")).name
    return PurePosixPath(name.rstrip(" .")).suffix.lower()


def _looks_like_markup(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n\x0c")
    if text.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16: look at the ASCII bytes only
        text = text[2:].replace(b"\x00", b"").lstrip(b" \t\r\n\x0c")
    return bool(_MARKUP_START.match(text[:512]))


def _classify_zip(path: str | os.PathLike) -> tuple[Classification, DisallowedType | None]:
    try:
        check_zip(path)
    except UnsafeArchive as exc:
        return Classification(ZIP, False, False), exc
    try:
        with zipfile.ZipFile(path) as zf:
            try:
                info = zf.getinfo("[Content_Types].xml")
            except KeyError:
                return _allow(ZIP)
            if info.file_size > _MAX_CONTENT_TYPES_XML:
                return _refuse(ZIP, "The Office document's [Content_Types].xml is too large.")
            with zf.open(info) as fh:
                xml = fh.read(_MAX_CONTENT_TYPES_XML + 1).decode("utf-8", "replace")
            names = {n.lower() for n in zf.namelist()}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError) as exc:
        return Classification(ZIP, False, False), UnsafeArchive(f"The ZIP archive cannot be read ({exc}).")
    types = {t.strip().lower() for t in re.findall(r'ContentType\s*=\s*["\']([^"\']+)["\']', xml)}
    if any("macroenabled" in t or "vbaproject" in t for t in types) or any(n.endswith("vbaproject.bin") for n in names):
        return _refuse(ZIP, "Office documents with macros are not accepted; save the document without macros (docx, xlsx, pptx).")
    if "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml" in types:
        return _allow(DOCX)
    if "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml" in types:
        return _allow(XLSX)
    if "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml" in types:
        return _allow(PPTX)
    return _allow(ZIP)


def _classify_cdf(head: bytes, sniffed: str, ext: str, path) -> tuple[Classification, DisallowedType | None]:
    full = sniffed
    if path is not None:
        try:
            full = magic.from_file(os.fspath(path), mime=True)
        except Exception:  # libmagic errors on odd files: fall back to the head
            full = sniffed
    if full in (DOC, XLS, PPT):
        return _allow(full)
    if full in ("application/x-ole-storage", "application/CDFV2", "application/CDFV2-corrupt") and ext in _LEGACY_BY_EXT:
        return _allow(_LEGACY_BY_EXT[ext])
    return _refuse(full, f"Compound files of type {full} are not accepted (only legacy .doc, .xls and .ppt).")


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
