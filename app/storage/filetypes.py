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

import os
import re
import warnings
import zipfile
from pathlib import PurePosixPath
from typing import NamedTuple

import magic
from flask_babel import gettext as _
from PIL import Image

from app.storage.archives import (  # noqa: F401 - part of this module's interface
    MAX_ARCHIVE_DEPTH,
    MAX_ZIP_ENTRIES,
    MAX_ZIP_RATIO,
    MAX_ZIP_TOTAL,
    ZipSummary,
    check_zip,
)
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

_MAX_CONTENT_TYPES_XML = 2 << 20
#: Images with more pixels are refused (a browser or a thumbnail would need gigabytes).
MAX_IMAGE_PIXELS = 50_000_000


class Classification(NamedTuple):
    mime: str
    allowed: bool
    inline_ok: bool


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
        return _classify_cdf(sniffed, ext, path)

    if sniffed in ("text/html", "image/svg+xml", "text/xml", "application/xml", "application/xhtml+xml"):
        return _refuse(sniffed, "HTML, SVG and XML files are not accepted.")
    if "javascript" in sniffed or sniffed.startswith("text/x-"):
        return _refuse(sniffed, "Scripts are not accepted.")
    return _refuse(sniffed, f"Files of type {sniffed} are not accepted. Accepted: PDF, PNG, JPEG, WebP, CSV, text, Office documents, ZIP.")


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


def _classify_cdf(sniffed: str, ext: str, path) -> tuple[Classification, DisallowedType | None]:
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


