"""Test bed 2, lifecycle: finalizers, owner references with the three propagation policies, and
namespaces that terminate."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client import ApiException

from tests.conftest import Kube
from tests.wait import until

from .objects import configmap


def _exists(read) -> bool:  # type: ignore[no-untyped-def]
    try:
        read()
        return True
    except ApiException as err:
        assert err.status == 404
        return False


def _owned(kube: Kube, name: str, owner, **extra) -> None:  # type: ignore[no-untyped-def]
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": owner.metadata.name,
           "uid": owner.metadata.uid, **extra}
    kube.core.create_namespaced_config_map(kube.namespace, {
        "metadata": {"name": name, "ownerReferences": [ref]}})


def _cm_exists(kube: Kube, name: str) -> bool:
    return _exists(lambda: kube.core.read_namespaced_config_map(name, kube.namespace))


def test_finalizers_hold_an_object_until_the_last_is_removed(kube: Kube) -> None:
    kube.core.create_namespaced_config_map(kube.namespace, {
        "metadata": {"name": "held", "finalizers": ["classops.edu/archive", "example.com/b"]}})
    kube.core.delete_namespaced_config_map("held", kube.namespace)
    held = kube.core.read_namespaced_config_map("held", kube.namespace)
    assert held.metadata.deletion_timestamp is not None
    kube.core.patch_namespaced_config_map("held", kube.namespace, {
        "metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/b"]}})
    assert _cm_exists(kube, "held")
    kube.core.patch_namespaced_config_map("held", kube.namespace, {
        "metadata": {"finalizers": None}})
    assert not _cm_exists(kube, "held")


def test_background_deletion_collects_dependents(kube: Kube) -> None:
    owner = kube.core.create_namespaced_config_map(kube.namespace, configmap("owner"))
    _owned(kube, "dep-1", owner)
    _owned(kube, "dep-2", owner)
    kube.core.delete_namespaced_config_map("owner", kube.namespace)
    assert not _cm_exists(kube, "owner")  # gone at once, dependents after
    until(lambda: not _cm_exists(kube, "dep-1") and not _cm_exists(kube, "dep-2"),
          what="the garbage collector")


def test_a_dependent_with_another_owner_only_loses_the_reference(kube: Kube) -> None:
    first = kube.core.create_namespaced_config_map(kube.namespace, configmap("first"))
    second = kube.core.create_namespaced_config_map(kube.namespace, configmap("second"))
    kube.core.create_namespaced_config_map(kube.namespace, {"metadata": {
        "name": "shared", "ownerReferences": [
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "first", "uid": first.metadata.uid},
            {"apiVersion": "v1", "kind": "ConfigMap", "name": "second",
             "uid": second.metadata.uid}]}})
    kube.core.delete_namespaced_config_map("first", kube.namespace)

    def refs() -> list[str] | None:
        got = kube.core.read_namespaced_config_map("shared", kube.namespace)
        names = [r.name for r in got.metadata.owner_references or []]
        return names if names == ["second"] else None

    until(refs, what="the reference to the deleted owner to go")


def test_foreground_deletion_waits_for_dependents(kube: Kube) -> None:
    owner = kube.core.create_namespaced_config_map(kube.namespace, configmap("owner"))
    kube.core.create_namespaced_config_map(kube.namespace, {"metadata": {
        "name": "slow", "finalizers": ["example.com/hold"], "ownerReferences": [{
            "apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
            "uid": owner.metadata.uid, "blockOwnerDeletion": True}]}})
    kube.core.delete_namespaced_config_map(
        "owner", kube.namespace, body=client.V1DeleteOptions(propagation_policy="Foreground"))
    waiting = kube.core.read_namespaced_config_map("owner", kube.namespace)
    assert "foregroundDeletion" in waiting.metadata.finalizers
    until(lambda: kube.core.read_namespaced_config_map(
        "slow", kube.namespace).metadata.deletion_timestamp, what="the dependent to be deleted")
    assert _cm_exists(kube, "owner")  # the dependent's finalizer still holds it
    kube.core.patch_namespaced_config_map("slow", kube.namespace,
                                          {"metadata": {"finalizers": None}})
    until(lambda: not _cm_exists(kube, "owner"), what="the owner to go after its dependent")


def test_orphan_deletion_keeps_dependents(kube: Kube) -> None:
    owner = kube.core.create_namespaced_config_map(kube.namespace, configmap("owner"))
    _owned(kube, "dep", owner)
    kube.core.delete_namespaced_config_map(
        "owner", kube.namespace, body=client.V1DeleteOptions(propagation_policy="Orphan"))
    until(lambda: not _cm_exists(kube, "owner"), what="the owner to go")
    dep = kube.core.read_namespaced_config_map("dep", kube.namespace)
    assert not dep.metadata.owner_references


def test_a_namespace_terminates_then_goes(kube: Kube) -> None:
    kube.core.create_namespaced_config_map(kube.namespace, configmap("c"))
    kube.core.create_namespaced_config_map(kube.namespace, {
        "metadata": {"name": "held", "finalizers": ["example.com/hold"]}})
    answer = kube.core.delete_namespace(kube.namespace)
    assert answer["status"]["phase"] == "Terminating"
    with pytest.raises(ApiException) as err:
        kube.core.create_namespaced_config_map(kube.namespace, configmap("late"))
    assert err.value.status == 403 and "being terminated" in err.value.body
    until(lambda: not _cm_exists(kube, "c"), what="the namespace's contents to go")
    ns = kube.core.read_namespace(kube.namespace)
    assert ns.status.phase == "Terminating"  # the finalizer on "held" keeps it
    kube.core.patch_namespaced_config_map("held", kube.namespace,
                                          {"metadata": {"finalizers": None}})
    until(lambda: not _exists(lambda: kube.core.read_namespace(kube.namespace)),
          what="the namespace to go")


def test_delete_options_in_the_query_string_count(kube: Kube) -> None:
    # The official client sends propagation_policy and grace_period_seconds as query parameters.
    owner = kube.core.create_namespaced_config_map(kube.namespace, configmap("owner"))
    _owned(kube, "dep", owner)
    kube.core.delete_namespaced_config_map("owner", kube.namespace, propagation_policy="Orphan")
    until(lambda: not _cm_exists(kube, "owner"), what="the owner to go")
    assert not kube.core.read_namespaced_config_map("dep", kube.namespace).metadata \
        .owner_references
