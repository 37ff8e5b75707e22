"""The S3 port against a real SeaweedFS (tests/servers), a bucket per test."""

from __future__ import annotations

import hashlib
import urllib.request
from datetime import timedelta

import pytest

from shared.ports.errors import ApiError
from shared.ports.s3 import S3, connect
from tests.servers.fixtures import S3Bucket


@pytest.fixture
def port(s3: S3Bucket) -> S3:
    # Built the way production builds it: our own client from the endpoint, a session injected.
    import boto3

    session = boto3.session.Session(aws_access_key_id=s3.endpoint.access_key,
                                     aws_secret_access_key=s3.endpoint.secret_key)
    return S3(connect(s3.endpoint.endpoint_url, s3.endpoint.region, session), s3.name)


def test_put_head_get_delete(port: S3) -> None:
    data = b"alice's notebook\n" * 1000
    stored = port.put_bytes("cs101/fall-2026/alice/1.tar.gz", data, "application/gzip")
    head = port.head("cs101/fall-2026/alice/1.tar.gz")
    assert head is not None and head.size == len(data) and head.etag == stored.etag
    assert head.etag == hashlib.md5(data).hexdigest()  # a single PUT's ETag is its MD5
    assert port.get_bytes("cs101/fall-2026/alice/1.tar.gz") == data
    port.delete("cs101/fall-2026/alice/1.tar.gz")
    port.delete("cs101/fall-2026/alice/1.tar.gz")  # already gone is fine
    assert port.head("cs101/fall-2026/alice/1.tar.gz") is None


def test_a_missing_key_is_a_404_apierror(port: S3) -> None:
    with pytest.raises(ApiError) as err:
        port.get_bytes("nope")
    assert (err.value.system, err.value.status, err.value.reason) == ("s3", 404, "NoSuchKey")
    assert not err.value.retryable


def test_objects_follow_every_page(port: S3) -> None:
    keys = [f"cs101/fall-2026/u{i:02d}/m.json" for i in range(7)]
    for key in keys:
        port.put_bytes(key, b"{}")
    port.put_bytes("cs102/other", b"x")
    assert [o.key for o in port.objects("cs101/", page=3)] == keys
    assert len(list(port.objects())) == 8


def test_a_presigned_url_opens_without_credentials(port: S3) -> None:
    port.put_bytes("alice/1.tar.gz", b"archive")
    url = port.presign_get("alice/1.tar.gz", timedelta(hours=1))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as answer:
        assert answer.read() == b"archive"
    with pytest.raises(ValueError, match="7 days"):
        port.presign_get("alice/1.tar.gz", timedelta(days=8))


def test_a_bucket_that_does_not_exist(s3: S3Bucket) -> None:
    # Reads, not a PUT: SeaweedFS creates a bucket on a first PUT where AWS answers NoSuchBucket.
    missing = S3(s3.client, s3.name + "-missing")
    for call in (lambda: missing.get_bytes("k"), lambda: list(missing.objects())):
        with pytest.raises(ApiError) as err:
            call()
        assert (err.value.status, err.value.reason) == (404, "NoSuchBucket")
