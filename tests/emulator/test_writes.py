"""Test bed 2, writes: server-side apply with managed fields, validation, defaults, immutability."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from typing import Any

import pytest
from kubernetes.client import ApiException

from tests.conftest import Kube

from .objects import configmap, deployment, raw

APPLY = "application/apply-patch+yaml"


def apply(kube: Kube, body: dict[str, Any], manager: str = "classops", force: bool = False,
          **kw: Any) -> Any:
    return kube.apps.patch_namespaced_deployment(
        body["metadata"]["name"], kube.namespace, body, field_manager=manager, force=force,
        _content_type=APPLY, **kw)


def managers(obj: Any) -> list[tuple[str, str, str | None]]:
    return sorted((m.manager, m.operation, m.subresource) for m in obj.metadata.managed_fields)


def _status(err: ApiException) -> dict[str, Any]:
    return json.loads(err.body)


def test_apply_creates_and_a_second_apply_changes_nothing(kube: Kube) -> None:
    created = apply(kube, deployment("hub"))
    assert created.metadata.generation == 1
    assert managers(created) == [("classops", "Apply", None)]
    fields = created.metadata.managed_fields[0].fields_v1
    assert "f:replicas" in fields["f:spec"]
    assert 'k:{"name":"web"}' in fields["f:spec"]["f:template"]["f:spec"]["f:containers"]
    again = apply(kube, deployment("hub"))
    assert again.metadata.resource_version == created.metadata.resource_version


def test_apply_conflicts_with_another_manager_unless_forced(kube: Kube) -> None:
    apply(kube, deployment("hub"))
    kube.apps.patch_namespaced_deployment_scale("hub", kube.namespace, {"spec": {"replicas": 5}},
                                                field_manager="classops-warmup")
    with pytest.raises(ApiException) as err:
        apply(kube, deployment("hub"))
    status = _status(err.value)
    assert err.value.status == 409 and status["reason"] == "Conflict"
    assert status["message"] == ('Apply failed with 1 conflict: conflict with '
                                 '"classops-warmup" using apps/v1: .spec.replicas')
    assert status["details"]["causes"][0]["field"] == ".spec.replicas"
    forced = apply(kube, deployment("hub"), force=True)
    assert forced.spec.replicas == 1
    owners = managers(forced)
    assert ("classops-warmup", "Update", "scale") not in owners  # the field was taken over


def test_a_manager_that_stops_applying_a_field_removes_it(kube: Kube) -> None:
    body = deployment("hub")
    body["metadata"]["labels"]["tier"] = "core"
    apply(kube, body)
    del body["metadata"]["labels"]["tier"]
    del body["spec"]["replicas"]
    after = apply(kube, body)
    assert "tier" not in after.metadata.labels
    assert after.spec.replicas == 1  # replicas falls back to its default, not removed


def test_a_field_someone_else_owns_survives_when_the_applier_drops_it(kube: Kube) -> None:
    # The warm-up owns replicas; a redeploy without replicas must leave its count alone.
    body = deployment("hub")
    del body["spec"]["replicas"]
    apply(kube, body)
    kube.apps.patch_namespaced_deployment_scale("hub", kube.namespace, {"spec": {"replicas": 40}},
                                                field_manager="classops-warmup")
    body["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    after = apply(kube, body)
    assert after.spec.replicas == 40
    assert after.spec.template.spec.containers[0].image == "nginx:1.28"


def test_updates_record_their_managers(kube: Kube) -> None:
    kube.core.create_namespaced_config_map(kube.namespace, configmap("c", {"a": "1"}),
                                           field_manager="maker")
    kube.core.patch_namespaced_config_map("c", kube.namespace, {"data": {"b": "2"}},
                                          field_manager="editor")
    cm = kube.core.read_namespaced_config_map("c", kube.namespace)
    owned = {m.manager: m.fields_v1 for m in cm.metadata.managed_fields}
    assert owned["maker"] == {"f:data": {"f:a": {}}}
    assert owned["editor"] == {"f:data": {"f:b": {}}}


def test_apply_dry_run_stores_nothing(kube: Kube) -> None:
    made = apply(kube, deployment("hub"), dry_run="All")
    assert made.metadata.name == "hub"
    assert kube.apps.list_namespaced_deployment(kube.namespace).items == []


def test_apply_needs_a_field_manager(kube: Kube) -> None:
    req = urllib.request.Request(
        f"{kube.emu.url}/apis/apps/v1/namespaces/{kube.namespace}/deployments/hub",
        method="PATCH", data=json.dumps(deployment("hub")).encode(),
        headers={"Content-Type": APPLY, "Authorization": f"Bearer {kube.emu.admin_token}"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 400


def test_strategic_merge_on_a_custom_resource_is_415(kube: Kube) -> None:
    from kubernetes import client

    custom = client.CustomObjectsApi(kube.api)
    custom.create_namespaced_custom_object(
        "snapshot.storage.k8s.io", "v1", kube.namespace, "volumesnapshots",
        {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
         "metadata": {"name": "s"}, "spec": {"source": {"persistentVolumeClaimName": "c"}}})
    with pytest.raises(ApiException) as err:
        custom.patch_namespaced_custom_object(
            "snapshot.storage.k8s.io", "v1", kube.namespace, "volumesnapshots", "s",
            {"metadata": {"labels": {"a": "b"}}},
            _content_type="application/strategic-merge-patch+json")
    assert err.value.status == 415


def _post(kube: Kube, path: str, body: Any) -> tuple[int, dict[str, Any], Any]:
    return raw(kube.emu.url, kube.emu.admin_token, "POST",
               f"/{path.format(ns=kube.namespace)}", body)


def test_unknown_fields_strict_is_400_and_warn_drops_with_a_warning(kube: Kube) -> None:
    body = configmap("c")
    body["extra"] = "x"
    code, _, status = _post(kube, "api/v1/namespaces/{ns}/configmaps?fieldValidation=Strict",
                            body)
    assert code == 400 and 'unknown field "extra"' in status["message"]
    code, headers, stored = _post(kube, "api/v1/namespaces/{ns}/configmaps", body)
    assert code == 201 and 'unknown field \\"extra\\"' in headers["Warning"]
    assert "extra" not in stored
    assert "extra" not in kube.core.read_namespaced_config_map(
        "c", kube.namespace, _preload_content=False).data.decode()


def test_wrong_type_is_400(kube: Kube) -> None:
    body = deployment("web")
    body["spec"]["replicas"] = "three"
    code, _, status = _post(kube, "apis/apps/v1/namespaces/{ns}/deployments", body)
    assert code == 400 and status["reason"] == "BadRequest"


@pytest.mark.parametrize(("change", "field"), [
    (lambda b: b["metadata"].update(name="Bad_Name"), "metadata.name"),
    (lambda b: b["spec"].pop("selector"), "spec.selector"),
    (lambda b: b["spec"].update(replicas=-1), "spec.replicas"),
    (lambda b: b["spec"]["template"]["metadata"].update(labels={"app": "other"}),
     "spec.template.metadata.labels"),
    (lambda b: b["spec"]["template"]["spec"]["containers"][0].pop("image"),
     "spec.template.spec.containers[0].image"),
    (lambda b: b["metadata"].update(labels={"bad key": "x"}), "metadata.labels"),
])
def test_invalid_values_are_422_with_causes(kube: Kube, change: Any, field: str) -> None:
    body = deployment("web")
    change(body)
    code, _, status = _post(kube, "apis/apps/v1/namespaces/{ns}/deployments", body)
    assert code == 422 and status["reason"] == "Invalid"
    assert field in [c["field"] for c in status["details"]["causes"]]


def test_defaults_are_filled_in(kube: Kube) -> None:
    d = kube.apps.create_namespaced_deployment(kube.namespace, deployment("web"))
    assert d.spec.strategy.type == "RollingUpdate"
    assert d.spec.strategy.rolling_update.max_surge == "25%"
    assert d.spec.template.spec.scheduler_name == "default-scheduler"
    assert d.spec.template.spec.containers[0].image_pull_policy == "IfNotPresent"
    svc = kube.core.create_namespaced_service(kube.namespace, {
        "metadata": {"name": "hub"}, "spec": {"ports": [{"port": 8081}]}})
    assert svc.spec.type == "ClusterIP" and svc.spec.cluster_ip
    assert svc.spec.ports[0].protocol == "TCP" and svc.spec.ports[0].target_port == 8081
    secret = kube.core.create_namespaced_secret(kube.namespace, {
        "metadata": {"name": "s"}, "stringData": {"token": "abc"}})
    assert secret.data == {"token": "YWJj"} and secret.type == "Opaque"


@pytest.mark.parametrize(("path", "value"), [
    (("spec", "selector"), {"matchLabels": {"c": "other"}}),
    (("spec", "serviceName"), "other"),
])
def test_immutable_statefulset_fields_are_422(kube: Kube, path: tuple[str, str],
                                              value: Any) -> None:
    body = {"metadata": {"name": "user-placeholder"},
            "spec": {"serviceName": "ph", "selector": {"matchLabels": {"c": "p"}},
                     "template": {"metadata": {"labels": {"c": "p", "d": "x"}},
                                  "spec": {"containers": [{"name": "p", "image": "pause"}]}}}}
    kube.apps.create_namespaced_stateful_set(kube.namespace, body)
    patch: dict[str, Any] = {path[0]: {path[1]: value}}
    with pytest.raises(ApiException) as err:
        kube.apps.patch_namespaced_stateful_set("user-placeholder", kube.namespace, patch)
    assert err.value.status == 422
    assert "immutable" in _status(err.value)["message"]


def test_pvc_spec_is_immutable_but_for_size(kube: Kube) -> None:
    kube.core.create_namespaced_persistent_volume_claim(kube.namespace, {
        "metadata": {"name": "claim-alice"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                 "storageClassName": "standard"}})
    grown = kube.core.patch_namespaced_persistent_volume_claim(
        "claim-alice", kube.namespace, {"spec": {"resources": {"requests": {"storage": "2Gi"}}}})
    assert grown.spec.resources.requests["storage"] == "2Gi"
    with pytest.raises(ApiException) as err:
        kube.core.patch_namespaced_persistent_volume_claim(
            "claim-alice", kube.namespace, {"spec": {"storageClassName": "fast"}})
    assert err.value.status == 422


def test_kubectl_server_side_apply(kube: Kube, kubectl: str) -> None:
    manifest = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hub-config}\n"
                "data: {a: b}\n")

    def run(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run([kubectl, "--kubeconfig", str(kube.kubeconfig), *args],
                              input=stdin, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "serverside-applied" in run("apply", "--server-side", "-f", "-", stdin=manifest)
    first = kube.core.read_namespaced_config_map("hub-config", kube.namespace)
    run("apply", "--server-side", "-f", "-", stdin=manifest)
    second = kube.core.read_namespaced_config_map("hub-config", kube.namespace)
    assert second.metadata.resource_version == first.metadata.resource_version
    assert managers(second) == [("kubectl", "Apply", None)]


def test_reapplying_ports_without_protocol_changes_nothing(kube: Kube) -> None:
    # ports are keyed by (containerPort, protocol) and protocol defaults to TCP: the applied
    # item without it is the stored item with it, not a second port.
    body = deployment("hub")
    body["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": 8081}]
    first = apply(kube, body)
    again = apply(kube, body)
    assert again.metadata.resource_version == first.metadata.resource_version
    ports = again.spec.template.spec.containers[0].ports
    assert [(p.container_port, p.protocol) for p in ports] == [(8081, "TCP")]
