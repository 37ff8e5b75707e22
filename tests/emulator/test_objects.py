"""Object basics as a real apiserver keeps them: identity, versions, generation, answers, errors."""

from __future__ import annotations

import json
import urllib.request

import pytest
from kubernetes import client
from kubernetes.client import ApiException

from tests.conftest import Kube

from .objects import configmap, deployment, pod


def _status(exc: ApiException) -> dict:
    return json.loads(exc.body)


def test_create_sets_identity_and_answers_201(kube: Kube) -> None:
    _, code, _ = kube.core.create_namespaced_config_map_with_http_info(
        kube.namespace, configmap("a", {"k": "v"}))
    assert code == 201
    cm = kube.core.read_namespaced_config_map("a", kube.namespace)
    assert len(cm.metadata.uid) == 36
    assert cm.metadata.creation_timestamp is not None
    assert cm.metadata.namespace == kube.namespace
    assert cm.metadata.resource_version.isdigit()


def test_resource_versions_are_one_global_increasing_sequence(kube: Kube) -> None:
    a = kube.core.create_namespaced_config_map(kube.namespace, configmap("a"))
    b = kube.apps.create_namespaced_deployment(kube.namespace, deployment("b"))
    a2 = kube.core.patch_namespaced_config_map("a", kube.namespace, {"data": {"x": "1"}})
    versions = [int(o.metadata.resource_version) for o in (a, b, a2)]
    assert versions == sorted(versions) and len(set(versions)) == 3


def test_a_write_that_changes_nothing_keeps_the_resource_version(kube: Kube) -> None:
    cm = kube.core.create_namespaced_config_map(kube.namespace, configmap("a", {"k": "v"}))
    same = kube.core.replace_namespaced_config_map("a", kube.namespace, cm)
    again = kube.core.patch_namespaced_config_map("a", kube.namespace, {"data": {"k": "v"}})
    assert same.metadata.resource_version == cm.metadata.resource_version
    assert again.metadata.resource_version == cm.metadata.resource_version


def test_generation_moves_on_spec_changes_only(kube: Kube) -> None:
    d = kube.apps.create_namespaced_deployment(kube.namespace, deployment("web"))
    assert d.metadata.generation == 1
    d = kube.apps.patch_namespaced_deployment("web", kube.namespace,
                                              {"metadata": {"labels": {"team": "x"}}})
    assert d.metadata.generation == 1
    d = kube.apps.patch_namespaced_deployment("web", kube.namespace, {"spec": {"replicas": 4}})
    assert d.metadata.generation == 2
    cm = kube.core.create_namespaced_config_map(kube.namespace, configmap("c"))
    assert cm.metadata.generation is None  # kinds without a spec keep no generation


def test_generate_name(kube: Kube) -> None:
    body = {"metadata": {"generateName": "claim-snap-"}, "data": {}}
    first = kube.core.create_namespaced_config_map(kube.namespace, body)
    second = kube.core.create_namespaced_config_map(kube.namespace, body)
    assert first.metadata.name.startswith("claim-snap-") and len(first.metadata.name) == 16
    assert first.metadata.name != second.metadata.name


def test_name_or_generate_name_is_required(kube: Kube) -> None:
    with pytest.raises(ApiException) as err:
        kube.core.create_namespaced_config_map(kube.namespace, {"metadata": {}, "data": {}})
    assert err.value.status == 422
    assert _status(err.value)["reason"] == "Invalid"


def test_not_found_and_already_exists(kube: Kube) -> None:
    with pytest.raises(ApiException) as err:
        kube.core.read_namespaced_config_map("missing", kube.namespace)
    status = _status(err.value)
    assert (err.value.status, status["reason"]) == (404, "NotFound")
    assert status["message"] == 'configmaps "missing" not found'
    kube.core.create_namespaced_config_map(kube.namespace, configmap("a"))
    with pytest.raises(ApiException) as err:
        kube.core.create_namespaced_config_map(kube.namespace, configmap("a"))
    assert (err.value.status, _status(err.value)["reason"]) == (409, "AlreadyExists")
    with pytest.raises(ApiException) as err:
        kube.apps.read_namespaced_deployment("missing", kube.namespace)
    assert _status(err.value)["message"] == 'deployments.apps "missing" not found'


def test_put_with_a_stale_resource_version_is_a_conflict(kube: Kube) -> None:
    old = kube.core.create_namespaced_config_map(kube.namespace, configmap("a", {"n": "0"}))
    kube.core.patch_namespaced_config_map("a", kube.namespace, {"data": {"n": "1"}})
    old.data = {"n": "2"}
    with pytest.raises(ApiException) as err:
        kube.core.replace_namespaced_config_map("a", kube.namespace, old)
    assert (err.value.status, _status(err.value)["reason"]) == (409, "Conflict")
    assert kube.core.read_namespaced_config_map("a", kube.namespace).data == {"n": "1"}


def test_bad_request_and_method_not_allowed(kube: Kube) -> None:
    with pytest.raises(ApiException) as err:
        kube.core.create_namespaced_config_map(
            kube.namespace, {"metadata": {"name": "x", "namespace": "other"}})
    assert (err.value.status, _status(err.value)["reason"]) == (400, "BadRequest")
    req = urllib.request.Request(f"{kube.emu.url}/api/v1/namespaces", method="DELETE",
                                 headers={"Authorization": f"Bearer {kube.emu.admin_token}"})
    with pytest.raises(urllib.error.HTTPError) as http_err:
        urllib.request.urlopen(req, timeout=10)
    assert http_err.value.code == 405
    assert json.loads(http_err.value.read())["reason"] == "MethodNotAllowed"


def test_namespace_missing_for_create(kube: Kube) -> None:
    with pytest.raises(ApiException) as err:
        kube.core.create_namespaced_config_map("no-such-namespace", configmap("a"))
    assert err.value.status == 404
    assert _status(err.value)["message"] == 'namespaces "no-such-namespace" not found'


def test_cluster_scoped_paths(kube: Kube) -> None:
    pv = kube.core.create_persistent_volume({
        "metadata": {"name": f"pv-{kube.namespace}"},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                 "hostPath": {"path": "/tmp"}}})
    assert pv.metadata.namespace is None
    node = kube.core.create_node({"metadata": {"name": f"node-{kube.namespace}"}})
    assert node.metadata.name in [n.metadata.name for n in kube.core.list_node().items]
    kube.core.delete_node(node.metadata.name)
    assert node.metadata.name not in [n.metadata.name for n in kube.core.list_node().items]


def test_status_subresource_is_apart_from_the_main_resource(kube: Kube) -> None:
    kube.apps.create_namespaced_deployment(kube.namespace, deployment("web"))
    kube.apps.patch_namespaced_deployment_status("web", kube.namespace,
                                                 {"status": {"readyReplicas": 1, "replicas": 1}})
    d = kube.apps.patch_namespaced_deployment("web", kube.namespace,
                                              {"status": {"readyReplicas": 7}})
    assert d.status.ready_replicas == 1  # a write to the main resource ignores .status
    d = kube.apps.patch_namespaced_deployment_status("web", kube.namespace,
                                                     {"spec": {"replicas": 9}})
    assert d.spec.replicas == 1  # and a status write ignores the spec


def test_scale_subresource_reads_and_sets_replicas(kube: Kube) -> None:
    kube.apps.create_namespaced_stateful_set(kube.namespace, {
        "metadata": {"name": "user-placeholder"},
        "spec": {"serviceName": "user-placeholder", "selector": {"matchLabels": {"c": "p"}},
                 "template": {"metadata": {"labels": {"c": "p"}},
                              "spec": {"containers": [{"name": "pause", "image": "pause"}]}}}})
    scale = kube.apps.read_namespaced_stateful_set_scale("user-placeholder", kube.namespace)
    assert scale.spec.replicas == 1 and scale.status.selector == "c=p"
    kube.apps.patch_namespaced_stateful_set_scale("user-placeholder", kube.namespace,
                                                  {"spec": {"replicas": 30}})
    sts = kube.apps.read_namespaced_stateful_set("user-placeholder", kube.namespace)
    assert sts.spec.replicas == 30 and sts.metadata.generation == 2


def test_delete_answers_and_preconditions(kube: Kube) -> None:
    p = kube.core.create_namespaced_pod(kube.namespace, pod("p"))
    gone = kube.core.delete_namespaced_pod("p", kube.namespace)
    assert gone.metadata.uid == p.metadata.uid  # pods answer with the deleted object
    kube.core.create_namespaced_config_map(kube.namespace, configmap("c"))
    status = kube.core.delete_namespaced_config_map("c", kube.namespace)
    assert status["status"] == "Success"  # other kinds answer with a Status
    kube.core.create_namespaced_config_map(kube.namespace, configmap("d"))
    with pytest.raises(ApiException) as err:
        kube.core.delete_namespaced_config_map(
            "d", kube.namespace, body=client.V1DeleteOptions(
                preconditions=client.V1Preconditions(uid="not-the-uid")))
    assert err.value.status == 409
    with pytest.raises(ApiException) as err:
        kube.core.delete_namespaced_config_map("c", kube.namespace)
    assert err.value.status == 404


def test_merge_json_and_strategic_patches(kube: Kube) -> None:
    body = deployment("web")
    body["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    kube.apps.create_namespaced_deployment(kube.namespace, body)
    d = kube.apps.patch_namespaced_deployment("web", kube.namespace, {"spec": {"template": {
        "spec": {"containers": [{"name": "web", "env": [{"name": "B", "value": "2"}]}]}}}})
    container = d.spec.template.spec.containers[0]
    assert container.image == "nginx:1.27"  # strategic merge kept the rest of the container
    assert [e.name for e in container.env] == ["A", "B"]  # and merged env by name
    kube.core.create_namespaced_config_map(kube.namespace, configmap("c", {"a": "1", "b": "2"}))
    # The typed client always sends strategic merge; the other two types go raw.
    req = urllib.request.Request(
        f"{kube.emu.url}/api/v1/namespaces/{kube.namespace}/configmaps/c", method="PATCH",
        data=json.dumps([{"op": "remove", "path": "/data/a"}]).encode(),
        headers={"Authorization": f"Bearer {kube.emu.admin_token}",
                 "Content-Type": "application/json-patch+json"})
    with urllib.request.urlopen(req, timeout=10) as answer:
        assert json.loads(answer.read())["data"] == {"b": "2"}
    req = urllib.request.Request(
        f"{kube.emu.url}/api/v1/namespaces/{kube.namespace}/configmaps/c", method="PATCH",
        data=json.dumps({"data": {"b": None, "c": "3"}}).encode(),
        headers={"Authorization": f"Bearer {kube.emu.admin_token}",
                 "Content-Type": "application/merge-patch+json"})
    with urllib.request.urlopen(req, timeout=10) as answer:
        assert json.loads(answer.read())["data"] == {"c": "3"}


def test_dry_run_stores_nothing(kube: Kube) -> None:
    made = kube.core.create_namespaced_config_map(kube.namespace, configmap("a"), dry_run="All")
    assert made.metadata.name == "a"
    with pytest.raises(ApiException) as err:
        kube.core.read_namespaced_config_map("a", kube.namespace)
    assert err.value.status == 404


def test_system_namespaces_may_not_be_deleted(kube: Kube) -> None:
    with pytest.raises(ApiException) as err:
        kube.core.delete_namespace("kube-system")
    assert err.value.status == 403
    assert "may not be deleted" in _status(err.value)["message"]


def test_create_refuses_a_resource_version_and_update_a_foreign_uid(kube: Kube) -> None:
    with pytest.raises(ApiException) as err:
        kube.core.create_namespaced_config_map(kube.namespace, {
            "metadata": {"name": "a", "resourceVersion": "5"}})
    assert err.value.status == 500
    cm = kube.core.create_namespaced_config_map(kube.namespace, configmap("a"))
    cm.metadata.uid = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(ApiException) as err:
        kube.core.replace_namespaced_config_map("a", kube.namespace, cm)
    assert err.value.status == 409 and "Precondition failed: UID" in _status(err.value)["message"]
