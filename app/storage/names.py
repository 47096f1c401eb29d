"""File names as people see them: safe to show, safe to put in a header, in any language.

The stored blob is named by its SHA-256; the name the uploader gave is only a display name kept in
the database. It still ends up in a page and in `Content-Disposition`, so it is cleaned here.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

MAX_NAME_CHARS = 255
_MAX_EXT_CHARS = 16
_FALLBACK = "file"

# Bidirectional controls let "invoice\u202efdp.exe" look like "invoiceexe.pdf".
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Characters Windows refuses in names; replaced so a saved download keeps a usable name.
_WINDOWS_RESERVED = str.maketrans({c: "_" for c in '<>:"|?*'})
_ASCII_MAP = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "SS",
        "æ": "ae",
        "Æ": "AE",
        "ø": "o",
        "Ø": "O",
        "œ": "oe",
        "Œ": "OE",
        "đ": "d",
        "Đ": "D",
        "ł": "l",
        "Ł": "L",
        "þ": "th",
        "Þ": "Th",
    }
)
# RFC 8187 attr-char: ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
_ATTR_CHAR_SAFE = "!#$&+-.^_`|~"


def safe_display_name(name: str | bytes | None) -> str:
    """A file name fit to show and to offer for saving: keeps letters of every language, drops any
    path (`../`, `C:\\`), NUL, control and bidi-control characters, leading dots and trailing dots or
    spaces; at most 255 characters, keeping the extension; "file" when nothing is left."""
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    name = unicodedata.normalize("NFC", str(name or ""))
    name = name.replace("\\", "/").split("/")[-1]
    name = "".join(
        " " if ch in "\t\n\r\x0b\x0c\u2028\u2029" else ch
        for ch in name
        if ch in "\t\n\r\x0b\x0c\u2028\u2029" or (unicodedata.category(ch) not in ("Cc", "Cs") and ch not in _BIDI_CONTROLS)
    )
    name = name.translate(_WINDOWS_RESERVED)
    name = " ".join(name.split())  # runs of whitespace become one space
    name = name.lstrip(". ").rstrip(". ")
    if len(name) > MAX_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        if dot and stem and 0 < len(ext) <= _MAX_EXT_CHARS:
            name = stem[: MAX_NAME_CHARS - len(ext) - 1].rstrip(". ") + "." + ext
        else:
            name = name[:MAX_NAME_CHARS].rstrip(". ")
    return name or _FALLBACK


def ascii_fallback(name: str) -> str:
    """An ASCII rendering of a (safe) display name for the plain `filename="..."` parameter."""
    stem, dot, ext = safe_display_name(name).rpartition(".")
    if not dot:
        stem, ext = ext, ""
    stem, ext = _to_ascii(stem).rstrip(". "), _to_ascii(ext).strip(". ")
    if not stem.strip(" _-"):
        stem = _FALLBACK  # nothing readable survived (e.g. a Chinese name): "file" plus the extension
    return stem + ("." + ext if ext else "")


def _to_ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_ASCII_MAP))
    out = "".join(ch for ch in decomposed if ord(ch) < 128 and not unicodedata.combining(ch))
    out = out.replace('"', "_").replace("\\", "_")
    return " ".join(out.split()).lstrip(". ")


def content_disposition(name: str | None, attachment: bool = True) -> str:
    """An RFC 6266 `Content-Disposition` value with both an ASCII `filename="..."` (for old
    clients) and `filename*=UTF-8''...` (RFC 8187) carrying the real name."""
    display = safe_display_name(name)
    kind = "attachment" if attachment else "inline"
    return f"{kind}; filename=\"{ascii_fallback(display)}\"; filename*=UTF-8''{quote(display, safe=_ATTR_CHAR_SAFE)}"
