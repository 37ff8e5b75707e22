"""The S3 port: boto3, one bucket. Integrity is the server's to check: every PUT carries a
SHA-256 checksum (botocore computes it), so a corrupted upload is refused, not stored.

The client (and its session, hence its credentials) is injected: `connect()` builds one from
boto3's default chain, tests pass the test server's.
Presigned URLs are capped at 7 days, the SigV4 limit (temporary credentials expire sooner, and
the URL with them).
"""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from shared.handlers.stored import StoredObject, StoredUpload

from .errors import ApiError

MAX_PRESIGN = timedelta(days=7)
T = TypeVar("T")


def connect(endpoint_url: str | None = None, region: str | None = None,
            session: boto3.session.Session | None = None, pool: int = 10) -> BaseClient:
    """`pool`: connections kept open, at least the threads that share the client.

    Payload signing is off: every body the port sends carries its SHA-256 in a signed
    `x-amz-checksum-sha256` header, which the server checks, so over plain HTTP (an in-cluster
    endpoint, the test server) SigV4 would only hash each body a second time (on HTTPS botocore
    already skips it for such bodies).
    """
    config = Config(retries={"max_attempts": 3, "mode": "standard"},
                    s3={"addressing_style": "path" if endpoint_url else "auto",
                        "payload_signing_enabled": False},
                    max_pool_connections=pool)
    client = (session or boto3.session.Session()).client(
        "s3", endpoint_url=endpoint_url, region_name=region, config=config)
    return client


def _calling(call: Callable[[], T]) -> T:
    try:
        return call()
    except ClientError as err:
        meta, error = err.response.get("ResponseMetadata", {}), err.response.get("Error", {})
        raise ApiError("s3", int(meta.get("HTTPStatusCode") or 0), str(error.get("Code", "")),
                       str(error.get("Message", ""))) from err
    except BotoCoreError as err:
        raise ApiError("s3", 0, "Unreachable", str(err)) from err


def _stored(key: str, meta: dict[str, Any]) -> StoredObject:
    size = meta.get("ContentLength", meta.get("Size", 0))
    return StoredObject(key, int(size), str(meta.get("ETag", "")).strip('"'),
                        meta.get("LastModified"))


class S3:
    def __init__(self, client: BaseClient, bucket: str) -> None:
        self.client, self.bucket = client, bucket

    def put_bytes(self, key: str, data: bytes,
                  content_type: str = "application/octet-stream",
                  sha256: bytes | None = None) -> StoredObject:
        """`sha256`: the body's digest when the caller has it already (not hashed twice)."""
        check = {"ChecksumSHA256": b64encode(sha256).decode()} if sha256 else \
            {"ChecksumAlgorithm": "SHA256"}
        answer = _calling(lambda: self.client.put_object(
            Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, **check))
        return StoredObject(key, len(data), str(answer.get("ETag", "")).strip('"'))

    def get_bytes(self, key: str) -> bytes:
        answer = _calling(lambda: self.client.get_object(Bucket=self.bucket, Key=key))
        body: bytes = answer["Body"].read()
        return body

    def head(self, key: str) -> StoredObject | None:
        try:
            return _stored(key, _calling(lambda: self.client.head_object(Bucket=self.bucket,
                                                                         Key=key)))
        except ApiError as err:
            if err.not_found:
                return None
            raise

    def objects(self, prefix: str = "", page: int = 1000) -> Iterator[StoredObject]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix, PaginationConfig={"PageSize": page})
        iterator = iter(pages)
        while True:
            answer = _calling(lambda: next(iterator, None))
            if answer is None:
                return
            yield from (_stored(o["Key"], o) for o in answer.get("Contents", []))

    def delete(self, key: str) -> None:
        """Gone afterwards, whether it was there or not (S3's DELETE is idempotent)."""
        _calling(lambda: self.client.delete_object(Bucket=self.bucket, Key=key))

    def presign_get(self, key: str, expires: timedelta) -> str:
        if not timedelta(0) < expires <= MAX_PRESIGN:
            raise ValueError(f"a presigned URL lasts up to 7 days, not {expires}")
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=int(expires.total_seconds()))
        return url

    # -- archive copies (issue 16): streamed reads, multipart writes, lifecycle rules --------

    def open(self, key: str) -> Any:
        """The object's body as a stream (`.read(n)`, `.close()`), for reads flat in memory."""
        return _calling(lambda: self.client.get_object(Bucket=self.bucket, Key=key))["Body"]

    def start_upload(self, key: str, content_type: str = "application/octet-stream") -> str:
        """A multipart upload whose parts each carry a SHA-256 the server checks; its id."""
        answer = _calling(lambda: self.client.create_multipart_upload(
            Bucket=self.bucket, Key=key, ContentType=content_type, ChecksumAlgorithm="SHA256"))
        return str(answer["UploadId"])

    def upload_part(self, key: str, upload_id: str, number: int, data: bytes,
                    sha256: bytes) -> dict[str, Any]:
        digest = b64encode(sha256).decode()
        answer = _calling(lambda: self.client.upload_part(
            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data,
            ChecksumSHA256=digest))
        return {"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": digest}

    def finish_upload(self, key: str, upload_id: str, parts: Sequence[dict[str, Any]]) -> None:
        _calling(lambda: self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=key, UploadId=upload_id,
            MultipartUpload={"Parts": list(parts)}))

    def abort_upload(self, key: str, upload_id: str) -> None:
        """The parts are freed; an upload already gone (aborted, finished) is fine."""
        try:
            _calling(lambda: self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id))
        except ApiError as err:
            if not err.not_found:
                raise

    def unfinished_uploads(self, prefix: str = "") -> list[tuple[str, str]]:
        """(key, upload id) of multipart uploads started and neither finished nor aborted."""
        return [(u.key, u.upload_id) for u in self.uploads(prefix)]

    def uploads(self, prefix: str = "") -> Iterator[StoredUpload]:
        """Multipart uploads started and neither finished nor aborted, with when they began."""
        pages = iter(self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=prefix))
        while (answer := _calling(lambda: next(pages, None))) is not None:
            yield from (StoredUpload(u["Key"], u["UploadId"], u.get("Initiated"))
                        for u in answer.get("Uploads", []))

    def lifecycle_rules(self) -> list[dict[str, Any]]:
        """The bucket's lifecycle rules; none configured is an empty list."""
        try:
            answer = _calling(lambda: self.client.get_bucket_lifecycle_configuration(
                Bucket=self.bucket))
        except ApiError as err:
            if err.not_found or err.reason == "NoSuchLifecycleConfiguration":
                return []
            raise
        return list(answer.get("Rules", []))

    def temporary_credentials(self) -> tuple[bool, Any]:
        """Whether the client signs with temporary credentials (a session token: STS, a web
        identity, an instance role), and when they expire if botocore knows (a datetime)."""
        signer = getattr(self.client, "_request_signer", None)
        creds = getattr(signer, "_credentials", None)
        if creds is None or not getattr(creds, "token", None):
            return False, None
        return True, getattr(creds, "_expiry_time", None)
