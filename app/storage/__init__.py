"""Evidence blob storage: content-addressed, streamed, verified on every read.

    store = get_store(current_app)                       # from STORAGE_URL
    blob = store.ingest(file.stream, max_bytes, filename=file.filename)   # may raise, see errors
    ... add the Evidence row with blob.sha256/size/key/mime, then commit ...
    reader = store.open_verified(row.key, row.sha256)    # CorruptBlob/BlobMissing before any byte
    Response(reader, mimetype=row.mime, headers={"Content-Disposition": content_disposition(row.name),
             "Content-Length": str(reader.size), "X-Content-Type-Options": "nosniff"})

STORAGE_URL:
    ""                                   local disk, <INSTANCE_PATH>/evidence (the default)
    file:///abs/path                     local disk at that absolute path
    s3://bucket[/prefix]?endpoint=http://127.0.0.1:9000&region=us-east-1[&access_key=..&secret_key=..]
                                         [&tmp=/abs/local/tmp][&checksum=when_required]
S3 credentials come from the URL's access_key/secret_key, else AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY (else boto3's usual chain). Values in the query are percent-decoded, and a
"+" stays a "+" (secret keys often contain one).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from app.storage.base import CHUNK_SIZE, BlobReader, BlobStore, StoredBlob, check_key, key_for
from app.storage.errors import (
    BlobMissing,
    CorruptBlob,
    DisallowedType,
    EmptyFile,
    ImageTooLarge,
    InvalidKey,
    StorageError,
    StorageUnavailable,
    ThumbnailError,
    TooLarge,
    UnsafeArchive,
)
from app.storage.filetypes import ALLOWED, Classification, check_zip, classify
from app.storage.local import LocalStore
from app.storage.names import content_disposition, safe_display_name
from app.storage.thumbs import make_thumbnail

__all__ = [
    "ALLOWED",
    "CHUNK_SIZE",
    "BlobMissing",
    "BlobReader",
    "BlobStore",
    "Classification",
    "CorruptBlob",
    "DisallowedType",
    "EmptyFile",
    "ImageTooLarge",
    "InvalidKey",
    "LocalStore",
    "StorageError",
    "StorageUnavailable",
    "StoredBlob",
    "ThumbnailError",
    "TooLarge",
    "UnsafeArchive",
    "check_key",
    "check_zip",
    "classify",
    "content_disposition",
    "get_store",
    "key_for",
    "make_thumbnail",
    "safe_display_name",
    "store_from_url",
]

_EXTENSION_KEY = "evidence_store"


def get_store(app_or_config=None) -> BlobStore:
    """The store configured by STORAGE_URL. Accepts a Flask app (the store is built once and
    kept in `app.extensions`), a mapping (e.g. `app.config`) or a config object with attributes;
    with no argument, the current Flask app."""
    if app_or_config is None:
        from flask import current_app

        app_or_config = current_app._get_current_object()
    config = getattr(app_or_config, "config", None)
    if isinstance(config, Mapping) and hasattr(app_or_config, "extensions"):  # a Flask app
        url = (config.get("STORAGE_URL") or "").strip()
        instance = config.get("INSTANCE_PATH") or app_or_config.instance_path
        cached = app_or_config.extensions.get(_EXTENSION_KEY)
        if cached is not None and cached[0] == (url, instance):
            return cached[1]
        store = store_from_url(url, instance)
        app_or_config.extensions[_EXTENSION_KEY] = ((url, instance), store)
        return store
    if isinstance(app_or_config, Mapping):
        return store_from_url(app_or_config.get("STORAGE_URL") or "", app_or_config.get("INSTANCE_PATH"))
    return store_from_url(getattr(app_or_config, "STORAGE_URL", "") or "", getattr(app_or_config, "INSTANCE_PATH", None))


def store_from_url(url: str, instance_path: str | os.PathLike | None = None, *, environ: Mapping[str, str] | None = None) -> BlobStore:
    env = os.environ if environ is None else environ
    url = (url or "").strip()
    if not url:
        if not instance_path:
            raise ValueError("STORAGE_URL is empty and no INSTANCE_PATH is configured")
        return LocalStore(Path(instance_path) / "evidence")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"STORAGE_URL {url!r}: use file:///absolute/path (three slashes)")
        path = unquote(parts.path)
        if not os.path.isabs(path):
            raise ValueError(f"STORAGE_URL {url!r}: the path must be absolute")
        return LocalStore(path)
    if scheme == "s3":
        from app.storage.s3 import S3Store  # boto3 is only needed when S3 is configured

        query = _query(parts.query)
        unknown = set(query) - {"endpoint", "region", "access_key", "secret_key", "tmp", "checksum"}
        if unknown:
            raise ValueError(f"STORAGE_URL: unknown parameter(s) {', '.join(sorted(unknown))}")
        if not parts.netloc:
            raise ValueError(f"STORAGE_URL {url!r}: the bucket is missing (s3://bucket?endpoint=...)")
        tmp = query.get("tmp") or (str(Path(instance_path) / "evidence-tmp") if instance_path else None)
        if not tmp:
            raise ValueError("STORAGE_URL s3://...: give tmp=/abs/path or configure INSTANCE_PATH for the local temporary files")
        checksum = query.get("checksum", "when_supported")
        if checksum not in ("when_supported", "when_required"):
            raise ValueError("STORAGE_URL: checksum must be when_supported or when_required")
        return S3Store(
            unquote(parts.netloc),
            prefix=unquote(parts.path),
            endpoint_url=query.get("endpoint") or None,
            region=query.get("region") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            access_key=query.get("access_key") or env.get("AWS_ACCESS_KEY_ID") or None,
            secret_key=query.get("secret_key") or env.get("AWS_SECRET_ACCESS_KEY") or None,
            tmp_dir=tmp,
            checksum=checksum,
        )
    raise ValueError(f"STORAGE_URL {url!r}: the scheme must be file:// or s3:// (or leave it empty for instance/evidence)")


def _query(qs: str) -> dict[str, str]:
    # Not parse_qs: it turns "+" into a space, and secret keys contain "+".
    out: dict[str, str] = {}
    for pair in qs.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        out[unquote(name)] = unquote(value)
    return out
