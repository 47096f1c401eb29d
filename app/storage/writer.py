"""Steps 1-2 of the ingest (see app/storage/base.py): bytes pushed in go to a temporary file and
into SHA-256, hashed and written back in parallel, fsynced at the end."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

CHUNK_SIZE = 1 << 20  # 1 MiB: the most any single step holds in memory
HEAD_SIZE = 64 * 1024  # bytes given to libmagic
TMP_PREFIX = "ingest-"
TMP_SUFFIX = ".part"


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


