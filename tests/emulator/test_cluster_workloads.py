"""Workload controllers through the official client: roll-outs, ordinals, daemons per node."""

from __future__ import annotations

from typing import Any

from tests.wait import until

from .conftest import Cluster
from .objects import deployment


def _ds(name: str, **spec: Any) -> dict[str, Any]:
    labels = {"app": name}
    return {"metadata": {"name": name},
            "spec": {"selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "pause:3.9"}],
                                           **spec}}}}


def test_deployment_rolls_out_a_new_image_with_truthful_status(cluster: Cluster) -> None:
    for name in ("n1", "n2"):
        cluster.add_node(name)
    cluster.kubelet.start_seconds = 5
    ns, apps = cluster.namespace, cluster.apps
    body = deployment("hub", replicas=4, image="hub:1")
    body["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 1
    apps.create_namespaced_deployment(ns, body)
    d = until(lambda: (x := apps.read_namespaced_deployment("hub", ns)).status.replicas == 4
                   and x, what="4 replicas created")
    assert d.status.available_replicas is None and d.status.unavailable_replicas == 4
    assert {c.type: c.reason for c in d.status.conditions}["Available"] == \
        "MinimumReplicasUnavailable"
    cluster.taken(selector="app=hub", count=4)  # start times count from here on the clock
    cluster.advance(5)
    d = until(lambda: (x := apps.read_namespaced_deployment("hub", ns))
                   .status.available_replicas == 4 and x, what="4 available")
    assert (d.status.observed_generation, d.status.updated_replicas) == (1, 4)
    old_rs = apps.list_namespaced_replica_set(ns).items[0]
    assert old_rs.metadata.owner_references[0].controller
    assert old_rs.metadata.labels["pod-template-hash"] in old_rs.metadata.name
    apps.patch_namespaced_deployment("hub", ns, {"spec": {"template": {"spec": {
        "containers": [{"name": "web", "image": "hub:2"}]}}}})
    # Surge 1 (25% of 4, rounded up), unavailable 1 (rounded down): never fewer than 3
    # available, never more than 5 pods, at every step until all 4 run hub:2. The clock moves
    # one emulated second per poll.
    seen = set()

    def step() -> Any:
        d = apps.read_namespaced_deployment("hub", ns)
        pods = [p for p in cluster.pods("app=hub") if not p.metadata.deletion_timestamp]
        assert len(pods) <= 5 and (d.status.available_replicas or 0) >= 3, d.status
        if d.status.observed_generation != 2:
            return None
        seen.add((d.status.updated_replicas, d.status.available_replicas))
        if (d.status.replicas, d.status.updated_replicas, d.status.available_replicas) == (
                4, 4, 4):
            return d
        cluster.advance(1)
        return None

    d = until(step, what="the roll-out to finish")
    assert d.status.replicas == d.status.updated_replicas == d.status.ready_replicas == 4
    assert d.status.unavailable_replicas is None
    conditions = {c.type: c.reason for c in d.status.conditions}
    assert conditions == {"Available": "MinimumReplicasAvailable",
                          "Progressing": "NewReplicaSetAvailable"}
    assert d.metadata.annotations["deployment.kubernetes.io/revision"] == "2"
    # Seen on the way: e.g. (2, 3) then (4, 3): two new pods up, then the last two surge in.
    assert any(0 < (u or 0) < 4 for u, _ in seen) and (4, 3) in seen, sorted(seen)
    sets = {rs.metadata.name: rs for rs in apps.list_namespaced_replica_set(ns).items}
    assert sets[old_rs.metadata.name].spec.replicas == 0
    images = {p.spec.containers[0].image for p in cluster.pods("app=hub")
              if not p.metadata.deletion_timestamp}
    assert images == {"hub:2"}


def test_deployment_recreate_and_scale(cluster: Cluster) -> None:
    cluster.add_node("n1")
    ns, apps = cluster.namespace, cluster.apps
    body = deployment("proxy", replicas=2, image="chp:1")
    body["spec"]["strategy"] = {"type": "Recreate"}
    body["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 10
    apps.create_namespaced_deployment(ns, body)
    until(lambda: apps.read_namespaced_deployment("proxy", ns).status.ready_replicas == 2)
    apps.patch_namespaced_deployment("proxy", ns, {"spec": {"template": {"spec": {
        "containers": [{"name": "web", "image": "chp:2"}]}}}})
    until(lambda: all(p.metadata.deletion_timestamp for p in cluster.pods("app=proxy")))
    assert all(p.spec.containers[0].image == "chp:1" for p in cluster.pods("app=proxy"))
    d = apps.read_namespaced_deployment("proxy", ns)
    assert d.status.updated_replicas is None  # nothing new while old pods still terminate
    cluster.advance(10)  # the old pods' grace ends; only then do new ones come
    until(lambda: (x := apps.read_namespaced_deployment("proxy", ns).status)
               .ready_replicas == 2 and x.updated_replicas == 2)
    assert {p.spec.containers[0].image for p in cluster.pods("app=proxy")} == {"chp:2"}
    apps.patch_namespaced_deployment_scale("proxy", ns, {"spec": {"replicas": 0}})
    until(lambda: apps.read_namespaced_deployment("proxy", ns).status.replicas is None)


def test_statefulset_ordered_ready_creates_in_order_and_scales_down_from_the_top(
        cluster: Cluster) -> None:
    cluster.add_node("n1")
    cluster.kubelet.start_seconds = 3
    ns, apps = cluster.namespace, cluster.apps
    apps.create_namespaced_stateful_set(ns, {
        "metadata": {"name": "db"},
        "spec": {"replicas": 3, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                 "template": {"metadata": {"labels": {"app": "db"}}, "spec": {
                     "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "c", "image": "postgres:16"}]}}}})

    cluster.taken("db-0")
    assert [p.metadata.name for p in cluster.pods("app=db")] == ["db-0"]
    cluster.advance(3)
    (pod,) = cluster.taken("db-1")
    assert len(cluster.pods("app=db")) == 2
    assert pod.spec.hostname == "db-1" and pod.spec.subdomain == "db"
    assert pod.metadata.labels["apps.kubernetes.io/pod-index"] == "1"
    cluster.advance(3)
    cluster.taken("db-2")
    cluster.advance(3)
    sts = until(lambda: (x := apps.read_namespaced_stateful_set("db", ns))
                     .status.ready_replicas == 3 and x)
    assert sts.status.current_revision == sts.status.update_revision
    assert sts.status.current_replicas == sts.status.updated_replicas == 3
    apps.patch_namespaced_stateful_set_scale("db", ns, {"spec": {"replicas": 1}})
    until(lambda: [p.metadata.name for p in cluster.pods("app=db")] == ["db-0"])
    sts = until(lambda: (x := apps.read_namespaced_stateful_set("db", ns))
                     .status.replicas == 1 and x)
    assert sts.status.observed_generation == 2


def test_daemonset_follows_nodes_that_come_and_go(cluster: Cluster) -> None:
    ns, apps = cluster.namespace, cluster.apps
    cluster.add_node("core-1", labels={"hub.jupyter.org/node-purpose": "core"})
    cluster.add_node("user-1", labels={"hub.jupyter.org/node-purpose": "user"},
                     taints=[{"key": "hub.jupyter.org/dedicated", "value": "user",
                              "effect": "NoSchedule"}])
    apps.create_namespaced_daemon_set(ns, _ds(
        "continuous-image-puller", nodeSelector={"hub.jupyter.org/node-purpose": "user"},
        tolerations=[{"key": "hub.jupyter.org/dedicated", "operator": "Exists"}]))

    def daemons() -> dict[str, str]:
        pods = cluster.pods("app=continuous-image-puller")
        return {p.spec.node_name: p.status.phase for p in pods if not p.metadata.deletion_timestamp}

    until(lambda: daemons() == {"user-1": "Running"})
    for name in ("user-2", "user-3"):
        cluster.add_node(name, labels={"hub.jupyter.org/node-purpose": "user"})
    until(lambda: daemons() == {n: "Running" for n in ("user-1", "user-2", "user-3")})
    ds = until(lambda: (x := apps.read_namespaced_daemon_set("continuous-image-puller", ns))
                    .status.number_ready == 3 and x)
    assert (ds.status.desired_number_scheduled, ds.status.current_number_scheduled,
            ds.status.number_available, ds.status.updated_number_scheduled) == (3, 3, 3, 3)
    pod = cluster.pods("app=continuous-image-puller")[0]
    assert pod.metadata.owner_references[0].kind == "DaemonSet"
    cluster.remove_node("user-2")
    until(lambda: set(daemons()) == {"user-1", "user-3"})
    ds = until(lambda: (x := apps.read_namespaced_daemon_set("continuous-image-puller", ns))
                    .status.desired_number_scheduled == 2 and x)
    assert ds.status.number_ready == 2 and ds.status.number_misscheduled == 0
    cluster.core.patch_node("user-3", {"metadata": {"labels": {
        "hub.jupyter.org/node-purpose": "core"}}})
    until(lambda: set(daemons()) == {"user-1"})


def test_image_puller_warms_the_node_for_the_first_user(cluster: Cluster) -> None:
    """A DaemonSet whose init container pulls the user image makes a user pod start fast."""
    cluster.add_node("user-1")
    cluster.kubelet.pull_seconds, cluster.kubelet.start_seconds = 60, 1
    puller = _ds("puller")
    puller["spec"]["template"]["spec"]["initContainers"] = [
        {"name": "image-pull-singleuser", "image": "jupyter/scipy:1"}]
    cluster.apps.create_namespaced_daemon_set(cluster.namespace, puller)
    cluster.taken(selector="app=puller")
    cluster.advance(62)  # both images pulled (60 s), the init container (1 s), the pause one (1 s)
    until(lambda: [p.status.phase for p in cluster.pods("app=puller")] == ["Running"])
    cluster.core.create_namespaced_pod(cluster.namespace, {
        "metadata": {"name": "jupyter-alice"},
        "spec": {"containers": [{"name": "notebook", "image": "jupyter/scipy:1"}]}})
    cluster.taken("jupyter-alice")
    cluster.advance(1)  # the image is on the node already: start time only
    until(lambda: cluster.core.read_namespaced_pod("jupyter-alice", cluster.namespace)
               .status.phase == "Running")
