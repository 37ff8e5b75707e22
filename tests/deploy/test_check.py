"""`classops check` against real servers: the emulator (RBAC enforced, classops's own
ServiceAccount token), SeaweedFS and a real JupyterHub. All pass; a missing snapshot CRD or class,
a Role lacking one verb, a bad S3 key and a wrong hub token each fail with what to do."""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from shared.archive import lifecycle
from shared.cli import inspection_group
from shared.ports.hub import Hub
from shared.ports.kube import Kube
from shared.ports.s3 import S3
from shared.settings import Secret
from shared.stack import admin, probes, verdicts
from shared.stack.config import HubSettings
from shared.stack.manifests import render
from tests.conftest import Kube as KubeFixture
from tests.servers.fixtures import HubUsers, S3Bucket
from tests.servers.seaweed import S3Endpoint
from tests.wait import until

SCHEDULE = "course: cs101\n"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Course:
    k: KubeFixture
    settings: HubSettings
    driver: str

    def as_classops(self) -> Kube:
        token = self.k.emu.service_account_token(self.k.namespace, "classops")
        return Kube(self.k.emu.api_client(token=token))

    def check(self, s3: S3 | None, hub: Hub | None) -> list[verdicts.Finding]:
        kube = self.as_classops()
        try:
            return verdicts.verdicts(probes.observe(probes.Systems(kube, s3, hub),
                                                    self.settings))
        finally:
            kube.close()


def prepare(k: KubeFixture, snapshot_class: bool = True) -> Course:
    """The admin parts applied, a StorageClass of the test's own with a CSI driver, its
    VolumeSnapshotClass and cluster-autoscaler's status ConfigMap."""
    ns = k.namespace
    driver = f"{ns}.csi.example.org"
    settings = HubSettings(course="cs101", namespace=ns, release=ns, storage_class=f"{ns}-ssd")
    kube = Kube(k.api)
    try:
        for manifest in render(settings, SCHEDULE, ("cluster", "classops")):
            kube.apply(manifest, "classops")
        kube.create({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                     "metadata": {"name": f"{ns}-ssd"}, "provisioner": driver})
        if snapshot_class:
            kube.create({"apiVersion": "snapshot.storage.k8s.io/v1",
                         "kind": "VolumeSnapshotClass", "metadata": {"name": f"{ns}-snap"},
                         "driver": driver, "deletionPolicy": "Retain"})
        if kube.get("v1", "ConfigMap", "cluster-autoscaler-status", "kube-system") is None:
            kube.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
                "name": "cluster-autoscaler-status", "namespace": "kube-system"},
                "data": {"status": "Cluster-autoscaler status at 2026-09-01: Healthy"}})
    finally:
        kube.close()
    return Course(k, settings, driver)


@pytest.fixture
def course(kube: KubeFixture) -> Course:
    return prepare(kube)


@pytest.fixture
def storage(s3: S3Bucket) -> S3:
    s3.client.put_bucket_lifecycle_configuration(  # what copies need (issue 16)
        Bucket=s3.name, LifecycleConfiguration={"Rules": [lifecycle.abort_rule()]})
    return S3(s3.client, s3.name)


@pytest.fixture
def hub_port(hub: HubUsers) -> Iterator[Hub]:
    yield Hub(hub.api_url, Secret(hub.token))


def by_check(found: list[verdicts.Finding]) -> dict[str, list[verdicts.Finding]]:
    grouped: dict[str, list[verdicts.Finding]] = {}
    for f in found:
        grouped.setdefault(f.check, []).append(f)
    return grouped


def test_everything_passes_on_a_ready_cluster(course: Course, storage: S3,
                                              hub_port: Hub) -> None:
    found = course.check(storage, hub_port)
    assert [f for f in found if f.verdict != "pass"] == []
    assert {f.check for f in found} == {"snapshot CRDs", "VolumeSnapshotClass", "S3 bucket",
                                        "S3 lifecycle", "hub token", "permissions",
                                        "autoscaler"}
    access = by_check(found)["permissions"][0]
    assert access.detail == f"all {len(admin.permissions(course.settings))} access reviews allowed"
    assert f"{course.k.namespace}-snap" in by_check(found)["VolumeSnapshotClass"][0].detail
    assert list(storage.objects("classops-check/")) == []  # the probe object is gone


def test_the_command_prints_a_table_or_json_and_exits_0(course: Course, storage: S3,
                                                        hub_port: Hub, tmp_path: Any) -> None:
    bundled = (ROOT / "schedules.yaml").read_text(encoding="utf-8")
    schedule = tmp_path / "schedules.yaml"
    schedule.write_text(bundled.replace(
        "storage: {capacity: 10Gi}",
        f"storage: {{capacity: 10Gi, class: {course.settings.storage_class}}}"))
    # The bundled course serves HTTPS with the university's certificate: check looks for it.
    course.k.core.create_namespaced_secret(course.k.namespace, {
        "metadata": {"name": "hub-tls"}, "type": "kubernetes.io/tls",
        "data": {"tls.crt": "", "tls.key": ""}})
    outputs = {}
    for output in ("table", "json"):
        kube = course.as_classops()
        args = argparse.Namespace(schedule=str(schedule), namespace=course.k.namespace,
                                  kubeconfig=None, output=output, api_client=kube.api,
                                  s3=storage, hub=hub_port)
        out = io.StringIO()
        with redirect_stdout(out):
            code = inspection_group.cmd_check(args)
        kube.close()
        assert code == 0, out.getvalue()
        outputs[output] = out.getvalue()
    assert outputs["table"].splitlines()[-1] == "# 8 pass, 0 fail, 0 warn"
    answer = json.loads(outputs["json"])
    # Both capabilities' checks are there: the TLS Secret (issue 12) and the bucket's rule for
    # incomplete multipart uploads (issue 16).
    names = json.dumps(answer["checks"]).lower()
    assert "tls" in names and "multipart" in names, names
    assert answer["ok"] is True and {c["verdict"] for c in answer["checks"]} == {"pass"}
    print(outputs["table"])


def test_a_missing_snapshot_crd_fails_with_its_fix(lone_kube: KubeFixture) -> None:
    course = prepare(lone_kube)
    ext = client.ApiextensionsV1Api(lone_kube.api)
    ext.delete_custom_resource_definition("volumesnapshotcontents.snapshot.storage.k8s.io")
    # Its cleanup finalizer makes the deletion asynchronous, as on a real cluster.
    until(lambda: "volumesnapshotcontents.snapshot.storage.k8s.io" not in {
        c.metadata.name for c in ext.list_custom_resource_definition().items}, timeout=60,
        what="the CRD gone")
    found = by_check(course.check(None, None))
    crd = found["snapshot CRDs"][0]
    assert crd.verdict == "fail"
    assert "volumesnapshotcontents.snapshot.storage.k8s.io" in crd.detail
    assert "external-snapshotter" in crd.fix


def test_a_missing_snapshot_class_fails_with_its_fix(kube: KubeFixture) -> None:
    course = prepare(kube, snapshot_class=False)
    found = by_check(course.check(None, None))
    assert found["snapshot CRDs"][0].verdict == "pass"
    missing = found["VolumeSnapshotClass"][0]
    assert missing.verdict == "fail"
    assert f"create a VolumeSnapshotClass with driver: {course.driver}" in missing.fix
    other = dataclasses.replace(course, settings=dataclasses.replace(
        course.settings, storage_class="no-such-class"))
    absent = by_check(other.check(None, None))["VolumeSnapshotClass"][0]
    assert (absent.verdict, absent.detail) == ("fail", "StorageClass no-such-class does not exist")


def test_a_role_lacking_one_verb_fails_the_permission_check(course: Course) -> None:
    ns = course.k.namespace
    rbac = client.RbacAuthorizationV1Api(course.k.api)
    role = rbac.read_namespaced_role("classops", ns)
    for r in role.rules:
        if r.resources == ["statefulsets/scale"]:
            r.verbs = ["get"]  # the warm-up could no longer scale the placeholders
    rbac.replace_namespaced_role("classops", ns, role)
    found = course.check(None, None)
    denied = [f for f in found if f.check == "permissions"]
    assert [f.detail for f in denied] == [f"denied: patch statefulsets/scale.apps in {ns}"]
    assert denied[0].verdict == "fail" and "--parts classops" in denied[0].fix
    assert verdicts.failed(found)


def test_a_bad_s3_key_fails(course: Course, s3: S3Bucket) -> None:
    wrong = S3Endpoint(s3.endpoint.endpoint_url, s3.endpoint.access_key, "not-the-secret-key")
    found = by_check(course.check(S3(wrong.client(), s3.name), None))["S3 bucket"][0]
    assert found.verdict == "fail"
    assert found.detail.startswith(f"{s3.name}: write failed: s3 answered 403")
    assert "s3:PutObject" in found.fix


def test_a_bucket_without_an_abort_rule_gets_one_proposed(course: Course, s3: S3Bucket) -> None:
    """A copy Job killed mid-upload leaves parts only a lifecycle rule removes (issue 16)."""
    keep = {"ID": "old-logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"},
            "Expiration": {"Days": 30}}
    s3.client.put_bucket_lifecycle_configuration(
        Bucket=s3.name, LifecycleConfiguration={"Rules": [keep]})
    found = by_check(course.check(S3(s3.client, s3.name), None))["S3 lifecycle"][0]
    assert found.verdict == "warn" and "no rule aborts incomplete multipart" in found.detail
    assert found.fix.startswith(f"aws s3api put-bucket-lifecycle-configuration --bucket {s3.name}")
    proposed = json.loads(found.fix.split("--lifecycle-configuration ", 1)[1].strip("'"))
    s3.client.put_bucket_lifecycle_configuration(Bucket=s3.name,
                                                 LifecycleConfiguration=proposed)
    assert [r["ID"] for r in proposed["Rules"]] == ["old-logs", lifecycle.RULE_ID]
    after = by_check(course.check(S3(s3.client, s3.name), None))["S3 lifecycle"][0]
    assert after.verdict == "pass" and "after 2 days" in after.detail


def test_a_wrong_hub_token_fails(course: Course, hub: HubUsers) -> None:
    found = by_check(course.check(None, Hub(hub.api_url, Secret("not-a-token"))))["hub token"][0]
    assert found.verdict == "fail" and "403" in found.detail


def test_the_real_hub_expands_the_classops_token_scopes(hub_port: Hub) -> None:
    probe = probes.hub_token(hub_port)
    assert probe.owner == "service classops"
    assert "list:users" in probe.scopes and "delete:servers" in probe.scopes


# -- pure verdicts ---------------------------------------------------------------------------
def test_scopes_are_covered_by_their_parent_but_not_by_a_filtered_one() -> None:
    assert verdicts.covered("read:users:name", ["read:users"])
    assert verdicts.covered("list:users", ["list:users"])
    assert not verdicts.covered("read:servers", ["read:servers!user=alice"])
    assert not verdicts.covered("delete:servers", ["read:servers"])
    verdict = verdicts._hub(
        verdicts.HubProbe(True, ("list:users", "read:users"), "service classops"),
        ["list:users", "read:users:name", "delete:servers"])[0]
    assert verdict.verdict == "fail" and verdict.detail.endswith("lacks delete:servers")


def test_no_autoscaler_is_a_warning_not_a_failure() -> None:
    found = verdicts._autoscaler(verdicts.Autoscaler(()))
    assert [f.verdict for f in found] == ["warn"]
    assert not verdicts.failed(found)
    assert "-> without one" in verdicts.table(found)

