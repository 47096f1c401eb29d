"""Evidence in S3-compatible object storage (AWS S3, MinIO, Ceph RGW, Garage, `rclone serve s3`...).

Objects are named `<prefix>aa/bb/<sha256>`, carry `Content-Type` and the metadata `sha256`.
An upload is first written and fsynced to a local temporary file (the same ingest pipeline as the
local store), then sent with `upload_file` (multipart above `multipart_threshold`); S3 makes an
object visible only when its PUT or multipart upload completes, so a crash leaves at worst an
incomplete multipart upload, which `sweep_temp` aborts. Signature V4, path-style addressing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import botocore.config
import botocore.exceptions
from boto3.s3.transfer import TransferConfig
from flask_babel import gettext as _

from app.storage.base import KEY_RE, BlobReader, BlobStore, check_key, file_chunks
from app.storage.errors import BlobMissing, CorruptBlob, StorageError, StorageUnavailable

log = logging.getLogger("app.storage")

MiB = 1 << 20


class S3Store(BlobStore):
    # After the store failed to answer, this process does not ask it again for a few seconds: every
    # call fails at once with StorageUnavailable. Otherwise each upload and download during an
    # outage would hold a web worker for the client's retries (and an upload the report's lock),
    # and a few of them would starve the whole site. The first call after the pause finds out.
    unreachable_pause = 5.0

    def __init__(
        self,
        bucket: str,
        *,
        tmp_dir: str | os.PathLike,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = "us-east-1",
        access_key: str | None = None,
        secret_key: str | None = None,
        checksum: str = "when_supported",
        multipart_threshold: int = 64 * MiB,
        multipart_chunksize: int = 16 * MiB,
        max_concurrency: int = 4,
        client=None,
    ) -> None:
        super().__init__(tmp_dir)
        if not bucket:
            raise ValueError("S3Store needs a bucket name")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url
        if client is None:
            config = botocore.config.Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                # Two retries: a store that is away answers the upload with 503 in about two seconds
                # instead of holding a web worker for twenty (five attempts with backoff).
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=120,
                # "when_required" for servers that do not understand the CRC trailers of recent boto3.
                request_checksum_calculation=checksum,
                response_checksum_validation=checksum,
            )
            client = boto3.session.Session().client(
                "s3",
                endpoint_url=endpoint_url or None,
                region_name=region or None,
                aws_access_key_id=access_key or None,
                aws_secret_access_key=secret_key or None,
                config=config,
            )
        self.client = client
        self._unreachable_until = 0.0
        # Parts are uploaded in order by few threads: servers that stream multipart uploads (rclone)
        # then buffer little, and the client holds at most max_concurrency parts in flight.
        self.transfer_config = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=multipart_chunksize,
            max_concurrency=max_concurrency,
            use_threads=max_concurrency > 1,
        )

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"S3Store(s3://{self.bucket}/{self.prefix}{where}, tmp {self.tmp_dir})"

    def object_name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (development and tests; production buckets are
        made by whoever runs the object store)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except botocore.exceptions.ClientError as exc:
            if not _is_missing(exc):
                raise
            self.client.create_bucket(Bucket=self.bucket)

    # -- writing ---------------------------------------------------------------------------------

    def _publish(self, tmp_path: Path, key: str, sha256: str, size: int, mime: str) -> bool:
        name = self.object_name(key)
        existing = self._head(name)
        if existing is not None:
            stored_sha = _meta(existing, "sha256")
            if existing.get("ContentLength") == size and stored_sha in (None, sha256):
                return False
            log.error(
                "object %s in s3://%s is damaged (size %s, sha256 %s); uploading it again",
                name,
                self.bucket,
                existing.get("ContentLength"),
                stored_sha,
            )
        try:
            self.client.upload_file(
                str(tmp_path),
                self.bucket,
                name,
                ExtraArgs={"ContentType": mime, "Metadata": {"sha256": sha256}},
                Config=self.transfer_config,
            )
        except (botocore.exceptions.BotoCoreError, boto3.exceptions.S3UploadFailedError) as exc:
            self._unreachable()
            raise StorageUnavailable(_('The file could not be saved to object storage (%(exc)s).', exc=exc)) from exc
        except botocore.exceptions.ClientError as exc:
            raise StorageUnavailable(_('The file could not be saved to object storage (%(exc)s).', exc=exc)) from exc
        for wait in (0, 0.05, 0.1, 0.2, 0.4):  # an identical upload running at the same time may be mid-write
            time.sleep(wait)
            after = self._head(name)
            if after is not None and after.get("ContentLength") == size:
                return True
        raise StorageError(f"Object storage did not confirm the upload of {key}.")

    # -- reading ---------------------------------------------------------------------------------

    def open(self, key: str, sha256: str) -> BlobReader:
        name = self.prefix + check_key(key, sha256)
        self._check_reachable()
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=name)
        except botocore.exceptions.ClientError as exc:
            if _is_missing(exc):
                raise BlobMissing(key) from None
            raise _refused(exc, f"Object storage refused to read {key} ({exc}).") from exc
        except botocore.exceptions.BotoCoreError as exc:
            self._unreachable()
            raise StorageUnavailable(_('Object storage does not answer (%(exc)s).', exc=exc)) from exc
        body = resp["Body"]
        return BlobReader(_body_chunks(body, key, sha256, self.chunk_size), key, sha256, size=resp.get("ContentLength"), on_close=body.close)

    def open_verified(self, key: str, sha256: str) -> BlobReader:
        # Download once into an anonymous local file while hashing, then stream that file: the
        # bytes sent are the bytes checked, and nothing is left behind even after a crash.
        f = tempfile.TemporaryFile(dir=self.tmp_dir)
        try:
            with self.open(key, sha256) as reader:
                for chunk in reader:
                    f.write(chunk)
            size = f.tell()
            f.seek(0)
        except BaseException:
            f.close()
            raise
        return BlobReader(file_chunks(f, self.chunk_size), key, sha256, size=size, on_close=f.close, checked=True)

    def exists(self, key: str) -> bool:
        return self._head(self.object_name(key)) is not None

    def size(self, key: str) -> int:
        head = self._head(self.object_name(key))
        if head is None:
            raise BlobMissing(key)
        return int(head["ContentLength"])

    # -- housekeeping ----------------------------------------------------------------------------

    def delete(self, key: str) -> bool:
        name = self.object_name(key)
        existed = self._head(name) is not None
        self._check_reachable()
        try:
            self.client.delete_object(Bucket=self.bucket, Key=name)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise StorageUnavailable(_('Object storage could not delete %(name)s (%(exc)s).', name=name, exc=exc)) from exc
        return existed

    def iter_keys(self) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"][len(self.prefix) :]
                if KEY_RE.fullmatch(key):
                    yield key

    def sweep_temp(self, older_than_seconds: float = 3600) -> int:
        """Local temporary files, plus multipart uploads under our prefix started more than
        `older_than_seconds` ago and never completed (a crash in the middle of an upload)."""
        removed = super().sweep_temp(older_than_seconds)
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=older_than_seconds)
        try:
            paginator = self.client.get_paginator("list_multipart_uploads")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
                for upload in page.get("Uploads", []):
                    initiated = upload.get("Initiated")
                    if initiated is None or initiated.tzinfo is None or initiated >= cutoff:
                        continue
                    with contextlib.suppress(botocore.exceptions.ClientError):
                        self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
                        removed += 1
                        log.warning("aborted abandoned multipart upload of %s (started %s)", upload["Key"], initiated)
        except botocore.exceptions.ClientError as exc:
            log.warning("could not list multipart uploads of s3://%s: %s", self.bucket, exc)
        return removed

    # -- internals -------------------------------------------------------------------------------

    def _check_reachable(self) -> None:
        if time.monotonic() < self._unreachable_until:
            raise StorageUnavailable(_('Object storage did not answer a moment ago; it is asked again in a few seconds.'))

    def _unreachable(self) -> None:
        self._unreachable_until = time.monotonic() + self.unreachable_pause
        log.warning("object storage at %s does not answer; no calls for %.0f s", self.endpoint_url or "AWS", self.unreachable_pause)

    def _head(self, name: str) -> dict | None:
        self._check_reachable()
        try:
            return self.client.head_object(Bucket=self.bucket, Key=name)
        except botocore.exceptions.ClientError as exc:
            if _is_missing(exc):
                return None
            raise _refused(exc, f"Object storage could not be asked about {name} ({exc}).") from exc
        except botocore.exceptions.BotoCoreError as exc:  # connection refused or cut, timeout
            self._unreachable()
            raise StorageUnavailable(_('Object storage does not answer (%(exc)s).', exc=exc)) from exc


def _body_chunks(body, key: str, sha256: str, chunk_size: int) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(chunk_size)
    except botocore.exceptions.FlexibleChecksumError as exc:  # the server's own checksum disagrees
        raise CorruptBlob(key, sha256, "unknown (object storage checksum mismatch)") from exc
    except (botocore.exceptions.ResponseStreamingError, botocore.exceptions.IncompleteReadError, botocore.exceptions.ReadTimeoutError) as exc:
        raise StorageUnavailable(_('Reading %(key)s from object storage was interrupted (%(exc)s).', key=key, exc=exc)) from exc


def _refused(exc: botocore.exceptions.ClientError, message: str) -> StorageError:
    """A server error (5xx: busy, failing) is an outage; anything else (403: wrong credentials or
    policy) is a configuration error - still the server side's, never the uploader's."""
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    return StorageUnavailable(message) if status >= 500 else StorageError(message)


def _is_missing(exc: botocore.exceptions.ClientError) -> bool:
    err = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return err.get("Code") in ("404", "NoSuchKey", "NotFound") or status == 404


def _meta(head: dict, name: str) -> str | None:
    for k, v in (head.get("Metadata") or {}).items():
        if k.lower() == name:
            return v
    return None
