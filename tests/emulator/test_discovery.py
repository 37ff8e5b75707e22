"""Discovery and OpenAPI: what the dynamic client and kubectl read before anything else."""

from __future__ import annotations

import json
import urllib.request

import pytest
from kubernetes import client, dynamic

from tests.conftest import Kube
from tests.kubeemu.resources import RESOURCES


def _get(kube: Kube, path: str) -> dict:
    with urllib.request.urlopen(f"{kube.emu.url}{path}", timeout=30) as answer:
        return json.loads(answer.read())


def test_version_has_every_field_the_client_validates(kube: Kube) -> None:
    info = client.VersionApi(kube.api).get_code()
    assert (info.major, info.minor) == ("1", "33")
    assert info.git_version.startswith("v1.33.") and info.platform == "linux/amd64"
    assert info.go_version and info.build_date and info.git_commit and info.compiler


def test_core_and_group_discovery(kube: Kube) -> None:
    assert _get(kube, "/api")["versions"] == ["v1"]
    groups = {g["name"]: g for g in _get(kube, "/apis")["groups"]}
    assert {"apps", "batch", "autoscaling", "rbac.authorization.k8s.io", "scheduling.k8s.io",
            "policy", "coordination.k8s.io", "events.k8s.io", "networking.k8s.io",
            "storage.k8s.io", "snapshot.storage.k8s.io"} <= set(groups)
    assert groups["autoscaling"]["preferredVersion"]["version"] == "v2"
    apps = {r["name"]: r for r in _get(kube, "/apis/apps/v1")["resources"]}
    assert apps["statefulsets/scale"]["kind"] == "Scale"
    assert apps["statefulsets/scale"]["group"] == "autoscaling"
    assert apps["deployments"]["shortNames"] == ["deploy"]


@pytest.mark.parametrize("res", [r for r in RESOURCES if "list" in r.verbs],
                         ids=lambda r: r.key)  # the create-only reviews cannot be listed
def test_dynamic_client_finds_and_lists_every_resource(kube: Kube, res) -> None:
    dyn = dynamic.DynamicClient(kube.api)
    api = dyn.resources.get(api_version=res.api_version, kind=res.kind)
    assert api.namespaced == res.namespaced
    listed = api.get(namespace=kube.namespace) if res.namespaced else api.get()
    assert listed.kind == f"{res.kind}List"


def test_openapi_v3_documents_carry_the_merge_keys(kube: Kube) -> None:
    root = _get(kube, "/openapi/v3")
    assert {"api/v1", "apis/apps/v1", "apis/snapshot.storage.k8s.io/v1"} <= set(root["paths"])
    doc = _get(kube, root["paths"]["apis/apps/v1"]["serverRelativeURL"])
    schemas = doc["components"]["schemas"]
    pod_spec = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert pod_spec["x-kubernetes-patch-merge-key"] == "name"
    deployment = schemas["io.k8s.api.apps.v1.Deployment"]
    assert deployment["x-kubernetes-group-version-kind"] == [
        {"group": "apps", "kind": "Deployment", "version": "v1"}]
    snap = _get(kube, root["paths"]["apis/snapshot.storage.k8s.io/v1"]["serverRelativeURL"])
    vs = snap["components"]["schemas"]["io.k8s.storage.snapshot.v1.VolumeSnapshot"]
    assert "persistentVolumeClaimName" in vs["properties"]["spec"]["properties"]["source"][
        "properties"]


def test_unknown_paths_are_404(kube: Kube) -> None:
    with pytest.raises(urllib.error.HTTPError) as err:
        _get(kube, "/apis/example.com/v1")
    assert err.value.code == 404
    with pytest.raises(urllib.error.HTTPError) as err:
        _get(kube, "/api/v1/namespaces/default/widgets")
    assert err.value.code == 404
