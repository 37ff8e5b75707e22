"""A placeholder holds exactly the memory of the student pod that pre-empts it.

KubeSpawner reads the course's `memory: {guarantee: 1G}` as 1024-based (1073741824 bytes) and
sends that integer; Kubernetes reads a manifest's "1G" as 10**9. The placeholder classops
renders must ask for KubeSpawner's number, or each pre-empted placeholder frees 7 % too little.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jupyterhub.traitlets import ByteSpecification
from kubernetes import client
from traitlets import Float, HasTraits
from traitlets.config import Config

from shared.stack.config import memory_bytes
from shared.stack.hub_component import INFRA, values
from shared.stack.manifests import settings_of
from shared.stack.status import quantity
from shared.stack.user_pods import user_placeholder
from shared.timetable import TimetableError, loads
from tests.servers.kubehub import KubeHub
from tests.wait import until


class _Spawnerish(HasTraits):
    memory = ByteSpecification()  # the trait KubeSpawner's mem_guarantee is
    cpu = Float(allow_none=True)  # and its cpu_guarantee


@pytest.mark.parametrize("text", ["1G", "512M", "0.5G", "1.5G", "2T", "3K", "1073741824"])
def test_memory_is_read_as_kubespawner_reads_it(text: str) -> None:
    spawner = _Spawnerish()
    spawner.memory = int(text) if text.isdigit() else text
    assert memory_bytes(text) == spawner.memory


def test_kubernetes_binary_suffixes_mean_the_same_bytes() -> None:
    assert memory_bytes("1Gi") == memory_bytes("1G") == 2**30
    assert memory_bytes("512Mi") == memory_bytes("512M") == 512 * 2**20
    with pytest.raises(ValueError, match="1024-based"):
        memory_bytes("1k")


HEAD = "course: cs101\nterm: {name: t, start: 2026-01-05, end: 2026-02-05, timezone: UTC}\n" \
       "class: {size: 3}\nhub:\n  singleuser: {memory: {guarantee: %s}}\n"


def test_the_hub_and_the_placeholder_get_the_same_bytes_from_the_schedule() -> None:
    settings = settings_of(loads(HEAD % "1536Mi"))  # KubeSpawner itself would refuse "Mi"
    held = user_placeholder(settings)["spec"]["template"]["spec"]["containers"][0]
    assert values(settings)["singleuser"]["mem_guarantee"] == 1536 * 2**20
    assert quantity(held["resources"]["requests"]["memory"]) == 1536 * 2**20
    with pytest.raises(TimetableError, match=r"hub\.singleuser\.memory\.guarantee"):
        loads(HEAD % "500m")  # milli-bytes: a Kubernetes quantity, not a memory size


def test_a_placeholder_requests_what_a_kubespawner_student_requests(kube_hub: KubeHub) -> None:
    hub = kube_hub
    hub.emu.clock.set_rate(30)  # image pulls pass 30x faster than wall time
    hub.add_node("user-1")
    hub.admin.create_user("ada")
    assert hub.admin.start_server("ada", timeout=120)["ready"]
    [student] = hub.pods()

    [placeholder] = [m for m in hub.render("hub") if m["kind"] == "StatefulSet"
                     and m["metadata"]["name"] == "user-placeholder"]
    hub.apply([placeholder])
    client.AppsV1Api(hub.api).patch_namespaced_stateful_set_scale(
        "user-placeholder", hub.namespace, {"spec": {"replicas": 1}})
    [held] = until(lambda: hub.pods("component=user-placeholder"), timeout=60,
                   what="a placeholder pod")

    def memory(pod: client.V1Pod) -> float:
        [container] = pod.spec.containers if len(pod.spec.containers) == 1 else [
            c for c in pod.spec.containers if c.name == "notebook"]
        return quantity(container.resources.requests["memory"])

    assert memory(student) == hub.settings.resources.memory_request == 2**30  # "1G"
    assert memory(held) == memory(student)


def test_the_hubs_config_takes_millicores_and_kubernetes_memory_units(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`cpu: 500m` and `memory: 1536Mi` are valid in the schedule; the hub's config file
    (as deployed) must hand KubeSpawner numbers its traits take, not fail at the hub's start."""
    text = HEAD.replace("{memory: {guarantee: %s}}", "{cpu: {guarantee: 500m, limit: 2}, "
                        "memory: {guarantee: 1536Mi, limit: 2G}}")
    (tmp_path / "values.json").write_text(json.dumps(values(settings_of(loads(text)))))
    monkeypatch.setenv("CLASSOPS_SERVICE_TOKEN", "t0k3n")
    c = Config()
    code = (INFRA / "hub" / "jupyterhub_config.py").read_text()
    exec(compile(code, str(tmp_path / "jupyterhub_config.py"), "exec"),
         {"get_config": lambda: c, "__file__": str(tmp_path / "jupyterhub_config.py")})
    spawner = _Spawnerish()
    spawner.cpu, spawner.memory = c.KubeSpawner.cpu_guarantee, c.KubeSpawner.mem_guarantee
    assert (spawner.cpu, spawner.memory) == (0.5, 1536 * 2**20)
    spawner.cpu, spawner.memory = c.KubeSpawner.cpu_limit, c.KubeSpawner.mem_limit
    assert (spawner.cpu, spawner.memory) == (2.0, 2 * 2**30)
