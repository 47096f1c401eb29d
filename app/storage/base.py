"""The interface every evidence store offers, and the ingest pipeline they share.

Ingest, in this order (the order is the guarantee):
1. stream the upload in 1 MiB chunks into a temporary file in the store's tmp area, hashing
   SHA-256 as it goes (never more than one chunk in memory); too many bytes -> `TooLarge`;
2. fsync the temporary file; 0 bytes -> `EmptyFile`;
3. sniff the type from the content (`filetypes.classify`, ZIPs inspected on disk) and refuse what is
   not allowed -> `DisallowedType`;
4. publish it atomically under the content address `aa/bb/<sha256>` (identical files are stored
   once; a damaged copy already there is replaced);
5. return a `StoredBlob`. Only THEN does the caller add and commit the database row.
Whatever fails or crashes before 5 leaves no row; the temporary file is removed on every error
path, and one left behind by a killed process is removed by `sweep_temp`. A crash between 5 and
the commit leaves a blob without a row: harmless, and deduplicated by the next identical upload.

Reading re-hashes every byte. `open` streams and raises `CorruptBlob` at the end if the hash
differs; `open_verified` checks the whole blob first and raises before the first byte is sent.
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.storage import filetypes
from app.storage.errors import BlobMissing, CorruptBlob, EmptyFile, InvalidKey, TooLarge
from app.storage.writer import CHUNK_SIZE, HEAD_SIZE, TMP_PREFIX, TMP_SUFFIX, BlobWriter, StagedBlob  # noqa: F401 - part of this module's interface

log = logging.getLogger("app.storage")


_SHA_RE = re.compile(r"[0-9a-f]{64}")
KEY_RE = re.compile(r"([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})")


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    key: str
    mime: str
    inline_ok: bool = False
    deduplicated: bool = False  # True when identical content was already stored


def key_for(sha256: str) -> str:
    """The content address of a SHA-256 hex digest: `aa/bb/aabb...`."""
    sha = _check_sha(sha256)
    return f"{sha[:2]}/{sha[2:4]}/{sha}"


def check_key(key: str, sha256: str | None = None) -> str:
    """Return `key` if it is a well-formed content address (and the address of `sha256` when
    given), else raise `InvalidKey`. Keeps `../` and friends out of every store operation."""
    m = KEY_RE.fullmatch(key or "") if isinstance(key, str) else None
    if not m or m.group(3)[:2] != m.group(1) or m.group(3)[2:4] != m.group(2):
        raise InvalidKey(f"Not a blob key: {key!r}")
    if sha256 is not None and m.group(3) != _check_sha(sha256):
        raise InvalidKey(f"The key {key} does not belong to SHA-256 {sha256}")
    return key


def _check_sha(sha256: str) -> str:
    if not isinstance(sha256, str) or not _SHA_RE.fullmatch(sha256):
        raise InvalidKey(f"Not a SHA-256 hex digest: {sha256!r}")
    return sha256


class BlobReader:
    """An iterator of byte chunks that re-hashes what it yields and raises `CorruptBlob` after the
    last chunk if the content does not match. Give it to a streaming response as is: WSGI servers
    call `close()`, which releases the file or connection."""

    def __init__(self, chunks: Iterable[bytes], key: str, sha256: str, size: int | None = None, on_close: Callable[[], None] | None = None,
                 *, checked: bool = False):
        self.key = key
        self._checked = checked  # the whole content was verified before the first chunk: no second hash
        self.sha256 = sha256
        self.size = size
        self.bytes_read = 0
        self._chunks = iter(chunks)
        self._on_close = on_close
        self._hash = hashlib.sha256()
        self._done = False

    def __iter__(self) -> BlobReader:
        return self

    def __next__(self) -> bytes:
        if self._done:
            raise StopIteration
        try:
            chunk = next(self._chunks)
        except StopIteration:
            self._done = True
            self.close()
            actual = self.sha256 if self._checked else self._hash.hexdigest()
            if actual != self.sha256:
                log.error("corrupt blob %s: expected %s, read %s (%d bytes)", self.key, self.sha256, actual, self.bytes_read)
                raise CorruptBlob(self.key, self.sha256, actual) from None
            raise
        except BaseException:
            self._done = True
            self.close()
            raise
        if not self._checked:
            self._hash.update(chunk)
        self.bytes_read += len(chunk)
        return chunk

    def read_all(self) -> bytes:
        """Everything, verified (for small blobs and tests)."""
        return b"".join(self)

    def close(self) -> None:
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def file_chunks(f: BinaryIO, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    while True:
        chunk = f.read(chunk_size)
        if not chunk:
            return
        yield chunk


def hash_file(f: BinaryIO, chunk_size: int = CHUNK_SIZE) -> tuple[str, int]:
    h = hashlib.sha256()
    n = 0
    for chunk in file_chunks(f, chunk_size):
        h.update(chunk)
        n += len(chunk)
    return h.hexdigest(), n


def fsync_dir(path: str | os.PathLike) -> None:
    """Make a rename or new entry in `path` durable."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStore(abc.ABC):
    """Content-addressed, write-once storage of evidence files."""

    chunk_size = CHUNK_SIZE

    def __init__(self, tmp_dir: str | os.PathLike) -> None:
        self.tmp_dir = Path(tmp_dir)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    # -- writing ---------------------------------------------------------------------------------

    def ingest(self, stream: BinaryIO, max_bytes: int, *, filename: str | None = None, enforce_types: bool = True) -> StoredBlob:
        """Store the bytes read from `stream` (any object with `.read(n)` returning bytes).

        Raises `TooLarge` (more than `max_bytes`), `EmptyFile`, `DisallowedType` (content not on
        the allow-list, when `enforce_types`; `UnsafeArchive` for ZIP bombs), or whatever the
        stream raises; in every case nothing is published and the temporary file is gone.
        `filename` is the uploader's name, used only for CSV-vs-text and executable extensions.
        """
        writer = self.writer(max_bytes)
        try:
            while True:
                chunk = stream.read(self.chunk_size)
                if not chunk:
                    break
                if not isinstance(chunk, (bytes, bytearray, memoryview)):
                    raise TypeError("ingest() needs a binary stream (read() must return bytes)")
                writer.write(chunk)
                if writer.too_large:
                    raise TooLarge(max_bytes)
            staged = writer.finish()
        except BaseException:
            writer.abort()
            raise
        return self.publish(staged, filename=filename, enforce_types=enforce_types)

    def writer(self, max_bytes: int) -> BlobWriter:
        """A temporary file in this store's tmp area that hashes what is written to it (steps 1-2);
        `publish` its `finish()`ed result (steps 3-5). For parsers that push bytes as they arrive."""
        return BlobWriter(self.tmp_dir, max_bytes)

    def publish(self, staged: StagedBlob, *, filename: str | None = None, enforce_types: bool = True) -> StoredBlob:
        """Steps 3-5 for a staged file: refuse what is too large, empty or not allowed, else publish.
        The temporary file is gone afterwards in every case."""
        try:
            if staged.too_large:
                raise TooLarge(staged.max_bytes)
            if staged.size == 0:
                raise EmptyFile()
            kind, refusal = filetypes.explain(staged.head, filename, path=staged.path)
            if enforce_types and refusal is not None:
                raise refusal
            key = key_for(staged.sha256)
            created = self._publish(staged.path, key, staged.sha256, staged.size, kind.mime)
            log.info("evidence blob %s %s (%d bytes, %s)", "stored" if created else "deduplicated", key, staged.size, kind.mime)
            return StoredBlob(staged.sha256, staged.size, key, kind.mime, kind.inline_ok, deduplicated=not created)
        finally:
            staged.discard()

    @abc.abstractmethod
    def _publish(self, tmp_path: Path, key: str, sha256: str, size: int, mime: str) -> bool:
        """Make the fsynced temporary file durable under `key`, atomically. Return False when an
        intact copy was already there (then the temporary file is simply dropped by the caller)."""

    # -- reading ---------------------------------------------------------------------------------

    @abc.abstractmethod
    def open(self, key: str, sha256: str) -> BlobReader:
        """Stream the blob in chunks, re-hashing; `CorruptBlob` after the last chunk on mismatch.
        Raises `BlobMissing` at once (before any chunk) when nothing is stored under `key`."""

    @abc.abstractmethod
    def open_verified(self, key: str, sha256: str) -> BlobReader:
        """Check the whole blob first (`CorruptBlob`/`BlobMissing` raised here, before any byte is
        handed out), then stream exactly the bytes that were checked."""

    def verify(self, key: str, sha256: str) -> bool:
        """True when the blob exists and hashes to `sha256`."""
        try:
            with self.open(key, sha256) as reader:
                for _ in reader:
                    pass
        except (CorruptBlob, BlobMissing):
            return False
        return True

    @contextlib.contextmanager
    def verified_file(self, key: str, sha256: str) -> Iterator[BinaryIO]:
        """A seekable local binary file holding the verified blob (for thumbnails, zip checks,
        `send_file`). The default spools to an anonymous temporary file in the tmp area."""
        with tempfile.TemporaryFile(dir=self.tmp_dir) as f, self.open(key, sha256) as reader:
            for chunk in reader:
                f.write(chunk)
            f.seek(0)
            yield f

    @abc.abstractmethod
    def exists(self, key: str) -> bool: ...

    @abc.abstractmethod
    def size(self, key: str) -> int:
        """Size in bytes (`BlobMissing` when absent), e.g. for Content-Length."""

    # -- housekeeping ----------------------------------------------------------------------------

    @abc.abstractmethod
    def delete(self, key: str) -> bool:
        """Remove the blob (admin purge); True if it was there. Identical uploads share a blob:
        the caller must make sure no other row still references this SHA-256."""

    @abc.abstractmethod
    def iter_keys(self) -> Iterator[str]:
        """Every stored key (for backups and garbage collection); temporary files are not keys."""

    def sweep_temp(self, older_than_seconds: float = 3600) -> int:
        """Remove temporary files older than `older_than_seconds` (leftovers of a crash) and return
        how many. An ingest in progress writes its file at least once per chunk, so it is young."""
        cutoff = time.time() - older_than_seconds
        removed = 0
        try:
            entries = list(os.scandir(self.tmp_dir))
        except FileNotFoundError:
            return 0
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                continue
        if removed:
            log.warning("swept %d orphaned temporary file(s) from %s", removed, self.tmp_dir)
        return removed

    def fsck(self) -> Iterator[tuple[str, bool]]:
        """(key, intact) for every stored blob: a key names its own SHA-256, so no database is needed."""
        for key in self.iter_keys():
            yield key, self.verify(key, key.rsplit("/", 1)[1])

    def describe(self) -> str:
        """Where the blobs live, without secrets (for logs and `flask storage info`)."""
        return type(self).__name__
