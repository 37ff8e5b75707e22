"""Test bed 2, CRDs: a created CRD is served like the real apiextensions-apiserver serves it."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from kubernetes import client, dynamic, watch
from kubernetes.client import ApiException

from tests.conftest import Kube
from tests.wait import until

GROUP = "classops.example.edu"


def crd(plural: str = "courses") -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP, "scope": "Namespaced",
            "names": {"plural": plural, "singular": plural[:-1], "kind": plural[:-1].title(),
                      "shortNames": [plural[:3]]},
            "versions": [{
                "name": "v1", "served": True, "storage": True,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {"type": "object", "required": ["students"], "properties": {
                            "students": {"type": "integer", "minimum": 0},
                            "term": {"type": "string", "enum": ["fall", "spring"]}}},
                        "status": {"type": "object", "properties": {
                            "phase": {"type": "string"}}}}}}}]}}


def course(name: str, students: Any = 240, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/v1", "kind": "Course",
            "metadata": {"name": name, "labels": {"term": "fall"}},
            "spec": {"students": students, **spec}}


@pytest.fixture
def courses(lone_kube: Kube) -> tuple[Kube, client.CustomObjectsApi]:
    ext = client.ApiextensionsV1Api(lone_kube.api)
    ext.create_custom_resource_definition(crd())
    return lone_kube, client.CustomObjectsApi(lone_kube.api)


def test_a_created_crd_becomes_established_and_discoverable(courses) -> None:
    kube, _ = courses
    got = client.ApiextensionsV1Api(kube.api).read_custom_resource_definition(
        f"courses.{GROUP}")
    conditions = {c.type: c.status for c in got.status.conditions}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    api = dynamic.DynamicClient(kube.api).resources.get(api_version=f"{GROUP}/v1", kind="Course")
    assert api.namespaced and api.short_names == ["cou"]
    with urllib.request.urlopen(f"{kube.emu.url}/openapi/v3", timeout=10) as answer:
        assert f"apis/{GROUP}/v1" in json.loads(answer.read())["paths"]


def test_custom_objects_crud_list_watch_and_selectors(courses) -> None:
    kube, custom = courses
    args = (GROUP, "v1", kube.namespace, "courses")
    made = custom.create_namespaced_custom_object(*args, course("cs101"))
    assert made["metadata"]["generation"] == 1 and made["metadata"]["uid"]
    custom.create_namespaced_custom_object(*args, {**course("cs102"),
                                                   "metadata": {"name": "cs102"}})
    listed = custom.list_namespaced_custom_object(*args, label_selector="term=fall")
    assert [i["metadata"]["name"] for i in listed["items"]] == ["cs101"]
    rv = listed["metadata"]["resourceVersion"]
    custom.patch_namespaced_custom_object(*args, "cs101", {"spec": {"students": 250}})
    events = [(e["type"], e["object"]["spec"]["students"]) for e in watch.Watch().stream(
        custom.list_namespaced_custom_object, *args, resource_version=rv, timeout_seconds=1)]
    assert events == [("MODIFIED", 250)]


def test_status_subresource_and_main_resource_are_apart(courses) -> None:
    kube, custom = courses
    args = (GROUP, "v1", kube.namespace, "courses")
    custom.create_namespaced_custom_object(*args, course("cs101"))
    custom.patch_namespaced_custom_object_status(*args, "cs101", {"status": {"phase": "Live"}})
    after = custom.patch_namespaced_custom_object(*args, "cs101", {
        "status": {"phase": "Ignored"}, "spec": {"students": 10}})
    assert after["status"] == {"phase": "Live"} and after["spec"]["students"] == 10
    assert after["metadata"]["generation"] == 2


@pytest.mark.parametrize(("bad", "field"), [
    (course("x", students="many"), "spec.students"),
    ({**course("x"), "spec": {}}, "spec.students"),
    (course("x", term="summer"), "spec.term"),
])
def test_objects_are_validated_against_the_schema(courses, bad, field) -> None:
    kube, custom = courses
    with pytest.raises(ApiException) as err:
        custom.create_namespaced_custom_object(GROUP, "v1", kube.namespace, "courses", bad)
    status = json.loads(err.value.body)
    assert err.value.status == 422
    assert field in [c["field"] for c in status["details"]["causes"]]


def test_unknown_fields_are_pruned(courses) -> None:
    kube, custom = courses
    made = custom.create_namespaced_custom_object(
        GROUP, "v1", kube.namespace, "courses", course("cs101", room="B12"))
    assert "room" not in made["spec"]


def test_deleting_the_crd_deletes_its_objects_and_stops_serving(courses) -> None:
    kube, custom = courses
    args = (GROUP, "v1", kube.namespace, "courses")
    custom.create_namespaced_custom_object(*args, course("cs101"))
    client.ApiextensionsV1Api(kube.api).delete_custom_resource_definition(f"courses.{GROUP}")

    def gone() -> bool:
        try:
            custom.list_namespaced_custom_object(*args)
            return False
        except ApiException as err:
            return err.status == 404

    until(gone, what="the CRD's resources to stop being served")
    names = [c.metadata.name for c in client.ApiextensionsV1Api(
        kube.api).list_custom_resource_definition().items]
    assert f"courses.{GROUP}" not in names


def test_the_snapshot_crds_are_installed_at_start(kube: Kube) -> None:
    names = {c.metadata.name for c in client.ApiextensionsV1Api(
        kube.api).list_custom_resource_definition().items}
    assert {"volumesnapshots.snapshot.storage.k8s.io",
            "volumesnapshotclasses.snapshot.storage.k8s.io",
            "volumesnapshotcontents.snapshot.storage.k8s.io"} <= names
    custom = client.CustomObjectsApi(kube.api)
    with pytest.raises(ApiException) as err:  # exactly one source is required
        custom.create_namespaced_custom_object(
            "snapshot.storage.k8s.io", "v1", kube.namespace, "volumesnapshots",
            {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
             "metadata": {"name": "s"}, "spec": {"source": {}}})
    assert err.value.status == 422
