"""The S3 port: boto3, one bucket. Integrity is the server's to check: every PUT carries a
SHA-256 checksum (boto3 computes it), so a corrupted upload is refused, not stored.

The client (and its session, hence its credentials) is injected: `connect()` builds one from
boto3's default chain, tests pass the test server's. Presigned URLs are capped at 7 days, the
SigV4 limit (temporary credentials expire sooner, and the URL with them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, TypeVar

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from shared.handlers.readers import StoredObject

from .errors import ApiError

MAX_PRESIGN = timedelta(days=7)
T = TypeVar("T")


def connect(endpoint_url: str | None = None, region: str | None = None,
            session: boto3.session.Session | None = None) -> BaseClient:
    config = Config(retries={"max_attempts": 3, "mode": "standard"},
                    s3={"addressing_style": "path" if endpoint_url else "auto"})
    return (session or boto3.session.Session()).client(
        "s3", endpoint_url=endpoint_url, region_name=region, config=config)


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
                  content_type: str = "application/octet-stream") -> StoredObject:
        answer = _calling(lambda: self.client.put_object(
            Bucket=self.bucket, Key=key, Body=data, ContentType=content_type,
            ChecksumAlgorithm="SHA256"))
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
