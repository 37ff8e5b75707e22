"""Reads: label and field selectors, pagination over a consistent snapshot, list versions."""

from __future__ import annotations

import json

import pytest
from kubernetes.client import ApiException

from tests.conftest import Kube

from .objects import pod


def _names(items: list) -> list[str]:
    return sorted(o.metadata.name for o in items)


@pytest.fixture
def pods(kube: Kube) -> Kube:
    labels = {
        "alice": {"component": "singleuser-server", "tier": "student"},
        "bob": {"component": "singleuser-server", "tier": "staff"},
        "ph-0": {"component": "user-placeholder"},
        "hub": {"component": "hub", "canary": "yes"},
    }
    for name, lab in labels.items():
        kube.core.create_namespaced_pod(kube.namespace, pod(name, lab, node="n1" if name in (
            "alice", "hub") else ""))
    kube.core.patch_namespaced_pod_status("alice", kube.namespace,
                                          {"status": {"phase": "Running"}})
    return kube


@pytest.mark.parametrize(("selector", "expected"), [
    ("component=singleuser-server", ["alice", "bob"]),
    ("component==hub", ["hub"]),
    ("component!=singleuser-server", ["hub", "ph-0"]),
    ("component in (hub, user-placeholder)", ["hub", "ph-0"]),
    ("component notin (hub,user-placeholder)", ["alice", "bob"]),
    ("tier", ["alice", "bob"]),
    ("!tier", ["hub", "ph-0"]),
    ("component=singleuser-server,tier notin (staff)", ["alice"]),
    ("tier notin (staff)", ["alice", "hub", "ph-0"]),  # notin matches objects without the key
])
def test_label_selectors(pods: Kube, selector: str, expected: list[str]) -> None:
    items = pods.core.list_namespaced_pod(pods.namespace, label_selector=selector).items
    assert _names(items) == expected


@pytest.mark.parametrize(("selector", "expected"), [
    ("metadata.name=bob", ["bob"]),
    ("status.phase=Running", ["alice"]),
    ("status.phase!=Running", ["bob", "hub", "ph-0"]),
    ("spec.nodeName=n1", ["alice", "hub"]),
    ("spec.nodeName=", ["bob", "ph-0"]),  # unscheduled pods, as a scheduler lists them
    ("spec.nodeName=n1,metadata.name!=hub", ["alice"]),
])
def test_field_selectors(pods: Kube, selector: str, expected: list[str]) -> None:
    items = pods.core.list_namespaced_pod(pods.namespace, field_selector=selector).items
    assert _names(items) == expected


def test_field_selector_on_namespace_across_all_namespaces(pods: Kube) -> None:
    items = pods.core.list_pod_for_all_namespaces(
        field_selector=f"metadata.namespace={pods.namespace}").items
    assert _names(items) == ["alice", "bob", "hub", "ph-0"]


@pytest.mark.parametrize(("kind", "selector"), [
    ("label", "component in (a"), ("label", "bad key!=x"), ("field", "spec.image=x"),
])
def test_bad_selectors_are_400(pods: Kube, kind: str, selector: str) -> None:
    with pytest.raises(ApiException) as err:
        if kind == "label":
            pods.core.list_namespaced_pod(pods.namespace, label_selector=selector)
        else:
            pods.core.list_namespaced_pod(pods.namespace, field_selector=selector)
    assert err.value.status == 400
    assert json.loads(err.value.body)["reason"] == "BadRequest"


def test_pages_come_from_one_consistent_snapshot(kube: Kube) -> None:
    for i in range(10):
        kube.core.create_namespaced_pod(kube.namespace, pod(f"p{i:02d}"))
    first = kube.core.list_namespaced_pod(kube.namespace, limit=4)
    assert _names(first.items) == ["p00", "p01", "p02", "p03"]
    assert first.metadata.remaining_item_count == 6
    # Changes after the first page must not show in the later pages.
    kube.core.create_namespaced_pod(kube.namespace, pod("p05a"))
    kube.core.delete_namespaced_pod("p07", kube.namespace)
    kube.core.patch_namespaced_pod("p08", kube.namespace, {"metadata": {"labels": {"x": "y"}}})
    seen = list(first.items)
    token = first.metadata._continue
    while token:
        page = kube.core.list_namespaced_pod(kube.namespace, limit=4, _continue=token)
        assert page.metadata.resource_version == first.metadata.resource_version
        seen += page.items
        token = page.metadata._continue
    assert _names(seen) == [f"p{i:02d}" for i in range(10)]
    p08 = next(p for p in seen if p.metadata.name == "p08")
    assert not p08.metadata.labels  # as it was when the list began
    now = kube.core.list_namespaced_pod(kube.namespace)
    assert "p05a" in _names(now.items) and "p07" not in _names(now.items)
    assert int(now.metadata.resource_version) > int(first.metadata.resource_version)


def test_a_continue_token_older_than_history_is_410(lone_kube: Kube) -> None:
    kube = lone_kube
    for i in range(5):
        kube.core.create_namespaced_pod(kube.namespace, pod(f"p{i}"))
    first = kube.core.list_namespaced_pod(kube.namespace, limit=2)
    kube.core.create_namespaced_pod(kube.namespace, pod("later"))
    kube.emu.compact()
    with pytest.raises(ApiException) as err:
        kube.core.list_namespaced_pod(kube.namespace, limit=2, _continue=first.metadata._continue)
    assert err.value.status == 410
    assert json.loads(err.value.body)["reason"] == "Expired"


def test_list_at_an_exact_resource_version(kube: Kube) -> None:
    kube.core.create_namespaced_pod(kube.namespace, pod("a"))
    before = kube.core.list_namespaced_pod(kube.namespace).metadata.resource_version
    kube.core.create_namespaced_pod(kube.namespace, pod("b"))
    then = kube.core.list_namespaced_pod(kube.namespace, resource_version=before,
                                         resource_version_match="Exact")
    assert _names(then.items) == ["a"] and then.metadata.resource_version == before
    with pytest.raises(ApiException) as err:
        kube.core.list_namespaced_pod(kube.namespace, resource_version="999999999",
                                      resource_version_match="NotOlderThan")
    assert err.value.status == 504


def test_list_carries_kind_and_version(kube: Kube) -> None:
    answer = kube.core.list_namespaced_pod(kube.namespace, _preload_content=False)
    body = json.loads(answer.data)
    assert body["kind"] == "PodList" and body["apiVersion"] == "v1"
    assert body["metadata"]["resourceVersion"].isdigit()
