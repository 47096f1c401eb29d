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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.storage import filetypes
from app.storage.errors import BlobMissing, CorruptBlob, EmptyFile, InvalidKey, TooLarge

log = logging.getLogger("app.storage")

CHUNK_SIZE = 1 << 20  # 1 MiB: the most any single step holds in memory
HEAD_SIZE = 64 * 1024  # bytes given to libmagic
TMP_PREFIX = "ingest-"
TMP_SUFFIX = ".part"

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


@dataclass
class StagedBlob:
    """An fsynced temporary file with its SHA-256, not yet published (see `BlobStore.publish`)."""

    path: Path
    sha256: str
    size: int
    head: bytes
    max_bytes: int
    too_large: bool = False

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


# Helper threads of every BlobWriter in the process: SHA-256 and fdatasync release the GIL, so a
# chunk is hashed while it is written, and the disk is written while the next chunks arrive (the
# final fsync then has little left to do).
_HASHING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="blob-hash")
_FLUSHING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blob-flush")
PARALLEL_MIN = 128 * 1024  # smaller chunks are hashed in the caller's thread
FLUSH_EVERY = 16 * CHUNK_SIZE  # start writing back after this many new bytes


class BlobWriter:
    """Steps 1-2 of the ingest: bytes pushed in go to a temporary file and into SHA-256.

    Bytes beyond `max_bytes` are not written (the writer only counts them and sets `too_large`), so a
    parser can read on to the next part of a request. `finish()` fsyncs and returns a `StagedBlob`;
    `abort()` removes the temporary file (both are safe to call twice). A large chunk is hashed
    while the caller goes on: its bytes must stay unchanged until the next `write()` or `finish()`
    (bytes objects do; the multipart reader alternates between two buffers)."""

    def __init__(self, tmp_dir: Path, max_bytes: int) -> None:
        if not isinstance(max_bytes, int) or max_bytes < 1:
            raise ValueError("max_bytes must be a positive integer")
        self.max_bytes = max_bytes
        fd, name = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=TMP_SUFFIX, dir=tmp_dir)
        self.path = Path(name)
        self._fd: int | None = fd
        self._hash = hashlib.sha256()
        self.size = 0
        self.too_large = False
        self._head = bytearray()
        self._unflushed = 0
        self._flush: Future | None = None
        self._hashing: Future | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        n = len(data)
        if not n:
            return
        self.size += n
        if self.too_large or self.size > self.max_bytes:
            self.too_large = True
            return
        if len(self._head) < HEAD_SIZE:
            self._head += data[: HEAD_SIZE - len(self._head)]
        self._wait_hash()  # updates stay in order
        if n >= PARALLEL_MIN:
            self._hashing = _HASHING.submit(self._hash.update, data)
        else:
            self._hash.update(data)
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]
        self._unflushed += n
        if self._unflushed >= FLUSH_EVERY and (self._flush is None or self._flush.done()):
            self._unflushed = 0
            self._flush = _FLUSHING.submit(os.fdatasync, self._fd)

    def finish(self) -> StagedBlob:
        try:
            self._wait_hash()
            self._wait_flush()
            if not self.too_large:
                os.fsync(self._fd)
        finally:
            self._close()
        return StagedBlob(self.path, self._hash.hexdigest(), self.size, bytes(self._head), self.max_bytes, self.too_large)

    def abort(self) -> None:
        self._close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _wait_hash(self) -> None:
        hashing, self._hashing = self._hashing, None
        if hashing is not None:
            hashing.result()

    def _wait_flush(self) -> None:
        flush, self._flush = self._flush, None
        if flush is not None:
            flush.result()  # an I/O error surfaces here

    def _close(self) -> None:
        # A background flush must end before the descriptor is closed (and its number reused).
        with contextlib.suppress(OSError):
            self._wait_hash()
            self._wait_flush()
        fd, self._fd = self._fd, None
        if fd is not None:
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
