"""Errors of the evidence blob store. Every message is fit to show to the person who uploaded or
asked for the file; the attributes carry the details for logs and for mapping to HTTP codes."""

from __future__ import annotations


class StorageError(Exception):
    """Base of every error raised by app.storage."""


class TooLarge(StorageError):
    """More than `max_bytes` arrived (HTTP 413). The partial temporary file is already removed."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        super().__init__(f"The file is larger than the limit of {_human(max_bytes)}.")


class EmptyFile(StorageError):
    """The upload had no content (HTTP 400/422)."""

    def __init__(self) -> None:
        super().__init__("The file is empty.")


class DisallowedType(StorageError):
    """The content (sniffed, not the name) is not on the allow-list (HTTP 415)."""

    def __init__(self, mime: str, reason: str = "") -> None:
        self.mime = mime
        self.reason = reason or f"Files of type {mime} are not accepted."
        super().__init__(self.reason)


class UnsafeArchive(DisallowedType):
    """A ZIP (or Office) archive that looks like a ZIP bomb or cannot be read."""

    def __init__(self, reason: str) -> None:
        super().__init__("application/zip", reason)


class OversizedImage(DisallowedType):
    """An image with more pixels than accepted (judged from its header): a browser or a
    thumbnail would need gigabytes of memory for it."""

    def __init__(self, reason: str, mime: str = "image/png") -> None:
        super().__init__(mime, reason)


class StorageUnavailable(StorageError):
    """The store does not answer (connection refused or cut, timeout, server error): nothing was
    stored or read; try again later (HTTP 503)."""


class BlobMissing(StorageError):
    """No blob is stored under this key (the database row points at nothing: HTTP 500 + alert)."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"The stored file {key} is missing.")


class CorruptBlob(StorageError):
    """The stored bytes no longer hash to the SHA-256 recorded at upload: refuse to serve them."""

    def __init__(self, key: str, expected: str, actual: str) -> None:
        self.key = key
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"The stored file {key} is corrupted: its content no longer matches the SHA-256 checksum "
            f"recorded at upload (expected {expected}, found {actual}). It was not delivered; restore it from a backup."
        )


class InvalidKey(StorageError, ValueError):
    """A key that is not `aa/bb/<64 hex>`, or that does not belong to the given SHA-256."""


class ThumbnailError(StorageError):
    """The image cannot be turned into a thumbnail (not PNG/JPEG/WebP, or unreadable)."""


class ImageTooLarge(ThumbnailError):
    """The image has more pixels than allowed: a possible decompression bomb."""


def _human(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            if unit == "bytes":
                return f"{int(value)} bytes"
            return f"{value:.1f}".rstrip("0").rstrip(".") + f" {unit}"
        value /= 1024
    raise AssertionError("unreachable")
