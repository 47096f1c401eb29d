"""Evidence on the local disk: `<root>/aa/bb/<sha256>`, temporary files in `<root>/tmp/`.

The tmp area lives inside the root so that publishing is a rename on one file system
(`os.replace`, atomic), followed by an fsync of the directory that received the name.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from app.storage.base import BlobReader, BlobStore, check_key, file_chunks, fsync_dir, hash_file
from app.storage.errors import BlobMissing, CorruptBlob

log = logging.getLogger("app.storage")

_HEX2 = re.compile(r"[0-9a-f]{2}")
_BLOB_MODE = 0o440  # blobs are write-once


class LocalStore(BlobStore):
    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        super().__init__(self.root / "tmp")

    def path_for(self, key: str) -> Path:
        """The file of a key (for `send_file`/X-Sendfile; prefer `open_verified` to serve it)."""
        return self.root / check_key(key)

    def describe(self) -> str:
        return f"LocalStore({self.root})"

    # -- writing ---------------------------------------------------------------------------------

    def _publish(self, tmp_path: Path, key: str, sha256: str, size: int, mime: str) -> bool:
        dest = self.path_for(key)
        self._ensure_dir(dest.parent)
        if dest.exists():
            if self._intact(dest, sha256, size):
                return False
            log.error("blob %s on disk is damaged; replacing it with the freshly uploaded identical content", key)
        os.chmod(tmp_path, _BLOB_MODE)
        os.replace(tmp_path, dest)
        fsync_dir(dest.parent)
        return True

    def _ensure_dir(self, directory: Path) -> None:
        """mkdir -p, fsyncing the parent of every directory created so the new entry is durable."""
        missing = []
        d = directory
        while not d.exists() and d != self.root:
            missing.append(d)
            d = d.parent
        for d in reversed(missing):
            with contextlib.suppress(FileExistsError):
                d.mkdir()
            fsync_dir(d.parent)

    @staticmethod
    def _intact(path: Path, sha256: str, size: int) -> bool:
        try:
            if path.stat().st_size != size:
                return False
            with open(path, "rb") as f:
                return hash_file(f)[0] == sha256
        except FileNotFoundError:
            return False

    # -- reading ---------------------------------------------------------------------------------

    def _open_file(self, key: str, sha256: str) -> BinaryIO:
        path = self.root / check_key(key, sha256)
        try:
            return open(path, "rb")
        except FileNotFoundError:
            raise BlobMissing(key) from None

    def open(self, key: str, sha256: str) -> BlobReader:
        f = self._open_file(key, sha256)
        return BlobReader(file_chunks(f, self.chunk_size), key, sha256, size=os.fstat(f.fileno()).st_size, on_close=f.close)

    def open_verified(self, key: str, sha256: str) -> BlobReader:
        # Hash and stream through ONE open file: a blob is never rewritten in place (a replacement
        # is a rename to a new inode), so what is streamed is exactly what was checked.
        f = self._open_file(key, sha256)
        try:
            self._check(f, key, sha256)
        except BaseException:
            f.close()
            raise
        return BlobReader(file_chunks(f, self.chunk_size), key, sha256, size=os.fstat(f.fileno()).st_size, on_close=f.close, checked=True)

    @contextlib.contextmanager
    def verified_file(self, key: str, sha256: str) -> Iterator[BinaryIO]:
        with self._open_file(key, sha256) as f:
            self._check(f, key, sha256)
            yield f

    @staticmethod
    def _check(f: BinaryIO, key: str, sha256: str) -> None:
        actual, _ = hash_file(f)
        if actual != sha256:
            log.error("corrupt blob %s: expected %s, found %s", key, sha256, actual)
            raise CorruptBlob(key, sha256, actual)
        f.seek(0)

    def verify(self, key: str, sha256: str) -> bool:
        try:
            with self._open_file(key, sha256) as f:
                return hash_file(f)[0] == sha256
        except BlobMissing:
            return False

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self.path_for(key).stat().st_size
        except FileNotFoundError:
            raise BlobMissing(key) from None

    # -- housekeeping ----------------------------------------------------------------------------

    def delete(self, key: str) -> bool:
        path = self.path_for(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        fsync_dir(path.parent)
        # Empty aa/bb directories are kept: removing them could race with an ingest into them.
        return True

    def iter_keys(self) -> Iterator[str]:
        for first in sorted(_subdirs(self.root)):
            for second in sorted(_subdirs(self.root / first)):
                prefix = first + second
                with os.scandir(self.root / first / second) as it:
                    names = sorted(e.name for e in it if e.is_file(follow_symlinks=False))
                for name in names:
                    if len(name) == 64 and name.startswith(prefix) and all(c in "0123456789abcdef" for c in name):
                        yield f"{first}/{second}/{name}"


def _subdirs(path: Path) -> list[str]:
    try:
        with os.scandir(path) as it:
            return [e.name for e in it if _HEX2.fullmatch(e.name) and e.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return []
