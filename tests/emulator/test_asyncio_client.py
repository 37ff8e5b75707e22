"""kubernetes_asyncio (KubeSpawner's client) against the emulator: where it speaks differently
from the official client, the emulator answers as the apiserver does."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kubernetes_asyncio import client as aclient
from kubernetes_asyncio import config as aconfig
from kubernetes_asyncio import watch as awatch

from tests.conftest import Kube

from .objects import raw


async def _api(kubeconfig: Path) -> aclient.ApiClient:
    configuration = aclient.Configuration()
    await aconfig.load_kube_config(str(kubeconfig), client_configuration=configuration)
    return aclient.ApiClient(configuration)


def test_quantities_sent_as_numbers_are_stored_canonical(kube: Kube) -> None:
    async def run() -> aclient.V1Pod:
        async with await _api(kube.kubeconfig) as api:
            container = aclient.V1Container(name="c", image="busybox:1.36", resources=aclient.
                                            V1ResourceRequirements(
                                                requests={"cpu": 0.5, "memory": 1073741824},
                                                limits={"cpu": 2.0, "memory": 2000000000}))
            body = aclient.V1Pod(metadata=aclient.V1ObjectMeta(name="q"),
                                 spec=aclient.V1PodSpec(containers=[container]))
            return await aclient.CoreV1Api(api).create_namespaced_pod(kube.namespace, body)

    created = asyncio.run(run())
    resources = created.spec.containers[0].resources
    assert resources.requests == {"cpu": "500m", "memory": "1073741824"}
    assert resources.limits == {"cpu": "2", "memory": "2G"}
    stored = kube.core.read_namespaced_pod("q", kube.namespace).spec.containers[0].resources
    assert stored.requests == {"cpu": "500m", "memory": "1073741824"}


def test_a_quantity_of_the_wrong_type_is_still_refused(kube: Kube) -> None:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad"}, "spec": {
        "containers": [{"name": "c", "image": "busybox:1.36",
                        "resources": {"requests": {"cpu": True}}}]}}
    status, _, answer = raw(kube.emu.url, kube.emu.admin_token, "POST",
                            f"/api/v1/namespaces/{kube.namespace}/pods", body)
    assert status == 400 and "requests.cpu" in answer["message"]


def test_watch_True_as_kubernetes_asyncio_sends_it_is_a_watch(kube: Kube) -> None:
    async def run() -> list[tuple[str, str]]:
        async with await _api(kube.kubeconfig) as api:
            core = aclient.CoreV1Api(api)
            listed = await core.list_namespaced_config_map(kube.namespace)
            await core.create_namespaced_config_map(kube.namespace, aclient.V1ConfigMap(
                metadata=aclient.V1ObjectMeta(name="seen")))
            seen = []
            async with awatch.Watch().stream(
                    core.list_namespaced_config_map, kube.namespace,
                    resource_version=listed.metadata.resource_version,
                    timeout_seconds=30) as stream:
                async for event in stream:
                    seen.append((event["type"], event["object"].metadata.name))
                    break
            return seen

    assert asyncio.run(run()) == [("ADDED", "seen")]
