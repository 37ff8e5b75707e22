"""The test servers behave as the real systems do: S3 semantics incl. integrity, hub lifecycle.

These prove the fixtures are worth building on: SeaweedFS rejects bad digests (moto does not),
each test is isolated, and the hub's `classops` token sees, and stops, a really running server.
"""

from __future__ import annotations

import base64
import hashlib
import socket
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError

from .fixtures import HubUsers, S3Bucket
from .jupyterhub import JupyterHubServer
from .process import ServerError, free_ports
from .seaweed import SeaweedS3


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


# --- S3 ---------------------------------------------------------------------------------------


def test_s3_put_get_list_delete(s3: S3Bucket) -> None:
    c = s3.client
    c.put_object(Bucket=s3.name, Key="alice/2026-10-12.tar.gz", Body=b"archive")
    c.put_object(Bucket=s3.name, Key="alice/2026-10-12.manifest.json", Body=b"{}")
    c.put_object(Bucket=s3.name, Key="bob/2026-10-12.tar.gz", Body=b"other")

    assert c.get_object(Bucket=s3.name, Key="alice/2026-10-12.tar.gz")["Body"].read() == b"archive"
    listed = c.list_objects_v2(Bucket=s3.name, Prefix="alice/")
    assert [o["Key"] for o in listed["Contents"]] == [
        "alice/2026-10-12.manifest.json",
        "alice/2026-10-12.tar.gz",
    ]

    c.delete_object(Bucket=s3.name, Key="alice/2026-10-12.tar.gz")
    with pytest.raises(ClientError) as missing:
        c.get_object(Bucket=s3.name, Key="alice/2026-10-12.tar.gz")
    assert missing.value.response["Error"]["Code"] == "NoSuchKey"
    assert c.list_objects_v2(Bucket=s3.name)["KeyCount"] == 2


def test_s3_paginates(s3: S3Bucket) -> None:
    for i in range(5):
        s3.client.put_object(Bucket=s3.name, Key=f"k{i}", Body=b"x")
    pages = s3.client.get_paginator("list_objects_v2").paginate(
        Bucket=s3.name, PaginationConfig={"PageSize": 2}
    )
    assert [len(page["Contents"]) for page in pages] == [2, 2, 1]


def test_s3_multipart_upload(s3: S3Bucket) -> None:
    c = s3.client
    part1, part2 = b"a" * (5 * 2**20), b"b" * 1234  # every part but the last is >= 5 MiB
    upload = c.create_multipart_upload(Bucket=s3.name, Key="big.tar.gz")
    parts = []
    for number, body in enumerate((part1, part2), start=1):
        answer = c.upload_part(
            Bucket=s3.name,
            Key="big.tar.gz",
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=body,
        )
        parts.append({"PartNumber": number, "ETag": answer["ETag"]})
    c.complete_multipart_upload(
        Bucket=s3.name,
        Key="big.tar.gz",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": parts},
    )

    got = c.get_object(Bucket=s3.name, Key="big.tar.gz")
    assert got["ContentLength"] == len(part1) + len(part2)
    assert hashlib.sha256(got["Body"].read()).digest() == hashlib.sha256(part1 + part2).digest()
    assert got["ETag"].strip('"').endswith("-2")  # the multipart ETag form


def test_s3_accepts_a_right_sha256_and_rejects_a_wrong_one(s3: S3Bucket) -> None:
    body = b"the archive"
    s3.client.put_object(
        Bucket=s3.name, Key="good", Body=body, ChecksumSHA256=_b64(hashlib.sha256(body).digest())
    )
    with pytest.raises(ClientError) as rejected:
        s3.client.put_object(
            Bucket=s3.name,
            Key="bad",
            Body=body,
            ChecksumSHA256=_b64(hashlib.sha256(b"something else").digest()),
        )
    assert rejected.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    keys = [o["Key"] for o in s3.client.list_objects_v2(Bucket=s3.name)["Contents"]]
    assert keys == ["good"]


def test_s3_rejects_a_wrong_content_md5(s3: S3Bucket) -> None:
    with pytest.raises(ClientError) as rejected:
        s3.client.put_object(
            Bucket=s3.name,
            Key="bad",
            Body=b"the archive",
            ContentMD5=_b64(hashlib.md5(b"something else").digest()),
        )
    assert rejected.value.response["Error"]["Code"] in {"BadDigest", "InvalidDigest"}
    assert s3.client.list_objects_v2(Bucket=s3.name)["KeyCount"] == 0


@pytest.mark.parametrize("run", [1, 2])
def test_s3_each_test_gets_an_empty_bucket_of_its_own(s3: S3Bucket, run: int) -> None:
    assert s3.client.list_objects_v2(Bucket=s3.name)["KeyCount"] == 0
    s3.client.put_object(Bucket=s3.name, Key="left-behind", Body=b"x")
    # The endpoint is data: code under test builds its own client from it.
    own = s3.endpoint.client()
    assert own.head_object(Bucket=s3.name, Key="left-behind")["ContentLength"] == 1


def test_s3_a_test_may_drop_its_own_bucket(s3: S3Bucket) -> None:
    s3.client.delete_bucket(Bucket=s3.name)
    assert s3.name not in [b["Name"] for b in s3.client.list_buckets()["Buckets"]]


# --- JupyterHub ---------------------------------------------------------------------------------


def test_hub_classops_token_lists_users(hub: HubUsers) -> None:
    alice = hub.create_user("alice")
    bob = hub.create_user("bob")
    names = {user["name"] for user in hub.api.users()}
    assert {alice, bob} <= names


def test_hub_server_really_starts_and_classops_stops_it(hub: HubUsers) -> None:
    alice = hub.create_user("alice")
    hub.start_server(alice)

    model = hub.api.server(alice)  # read with the classops token
    assert model is not None and model["ready"] is True
    # Really running: the proxy routes to the spawned process, which answers.
    answer = requests.get(f"{hub.endpoint.public_url}user/{alice}/api/status", timeout=30)
    assert answer.status_code == 200
    assert answer.json()["user"] == alice

    hub.api.stop_server(alice)  # classops holds delete:servers
    assert hub.api.server(alice) is None
    gone = requests.get(
        f"{hub.endpoint.public_url}user/{alice}/api/status", timeout=30, allow_redirects=False
    )
    assert gone.status_code != 200 or gone.json().get("user") != alice


def test_hub_named_servers_start_and_stop(hub: HubUsers) -> None:
    alice = hub.create_user("alice")
    hub.start_server(alice, "exam")
    assert hub.api.server(alice, "exam") is not None
    hub.api.stop_server(alice, "exam")
    assert hub.api.server(alice, "exam") is None


def test_hub_classops_role_is_scoped(hub: HubUsers) -> None:
    alice = hub.create_user("alice")
    assert hub.api.request("POST", f"/users/{alice}/server").status_code == 403
    assert hub.api.request("POST", f"/users/{hub.prefix}mallory").status_code == 403
    assert hub.api.request("DELETE", f"/users/{alice}").status_code == 403


@pytest.mark.parametrize("authorization", ["token not-a-real-token", None])
def test_hub_rejects_a_bad_or_missing_token(hub: HubUsers, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    answer = requests.get(f"{hub.api_url}/users", headers=headers, timeout=30)
    assert answer.status_code in {401, 403}


def test_hub_each_test_gets_its_own_prefix(hub: HubUsers) -> None:
    assert hub.prefix.startswith("t") and hub.prefix.endswith("-")
    assert not [u for u in hub.admin.users() if u["name"].startswith(hub.prefix)]


# --- Startup robustness --------------------------------------------------------------------------


class _LoseOneRace:
    """Port picker whose first answer includes a port another listener already holds."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.picks: list[list[int]] = []
        self.blocker = socket.socket()
        self.blocker.bind(("127.0.0.1", 0))
        self.blocker.listen()

    def __call__(self, count: int) -> list[int]:
        ports = free_ports(count)
        if not self.picks:
            ports[self.index] = self.blocker.getsockname()[1]
        self.picks.append(ports)
        return ports


def test_seaweed_start_retries_after_losing_a_port_race() -> None:
    picker = _LoseOneRace(index=2)  # the master's port
    server = SeaweedS3(pick_ports=picker)
    try:
        endpoint = server.start(timeout=60)
        assert len(picker.picks) == 2
        assert endpoint.client().list_buckets()["Buckets"] == []
    finally:
        server.stop()
        picker.blocker.close()
    assert not server.workdir.exists()


def test_hub_start_retries_after_losing_a_port_race() -> None:
    picker = _LoseOneRace(index=0)  # the hub's own port
    server = JupyterHubServer(pick_ports=picker)
    try:
        endpoint = server.start(timeout=60)
        assert len(picker.picks) == 2
        assert requests.get(endpoint.api_url, timeout=30).status_code == 200
    finally:
        server.stop()
        picker.blocker.close()


def test_a_start_that_times_out_says_why_and_quotes_the_log() -> None:
    server = SeaweedS3()
    try:
        with pytest.raises(ServerError) as failed:
            server.start(timeout=0.3)
    finally:
        server.stop()
    message = str(failed.value)
    assert "timed out after 0.3 s waiting until S3 answers" in message
    assert "--- last lines of" in message and "weed.log ---" in message


def test_stop_ends_what_the_server_started_in_sessions_of_its_own(tmp_path) -> None:
    """A hub starts its managed services (the idle culler) in sessions of their own, out of
    its process group: stopping the hub must end them too, not leave them to init."""
    import os
    import sys

    from tests.wait import until

    from .process import ServerProcess

    child_pid = tmp_path / "child.pid"
    script = ("import subprocess, sys, time\n"
              "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'],"
              " start_new_session=True)\n"
              f"open({str(child_pid)!r}, 'w').write(str(child.pid))\n"
              "time.sleep(600)\n")
    server = ServerProcess("parent", [sys.executable, "-c", script], cwd=tmp_path,
                           log_path=tmp_path / "parent.log")
    server.start()
    try:
        until(lambda: child_pid.exists() and child_pid.read_text(), what="the child started")
        pid = int(child_pid.read_text())
        assert os.getpgid(pid) != os.getpgid(server.pid)  # its own session, as a service's
    finally:
        server.stop()

    def gone() -> bool:
        try:
            os.kill(pid, 0)
            stat = Path(f"/proc/{pid}/stat").read_text()
        except (ProcessLookupError, FileNotFoundError):
            return True
        return stat.rsplit(")", 1)[1].split()[0] == "Z"  # killed, not yet reaped by init

    until(gone, what="the child started in its own session is gone")
