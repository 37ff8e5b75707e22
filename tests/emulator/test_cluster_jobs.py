"""Jobs that really run: local processes with the pod's env and volumes, retries, deadlines."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.kubeemu.controllers import Jobs, Volumes
from tests.kubeemu.remote import RemoteControl
from tests.wait import until

from .conftest import Cluster
from .test_cluster_volumes import claim, phase

SLOW = 60  # wall seconds: processes run in wall time on a busy machine


@pytest.fixture
def batch(cluster: Cluster) -> Cluster:
    cluster.emu.enable_controllers("volumes", "jobs")
    cluster.add_node("n1")
    return cluster


def job(name: str, code: str, *args: str, backoff: int = 0, **spec: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": "python:3.13",
                                 "command": ["python", "-c", code], "args": list(args)}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"backoffLimit": backoff, **spec, "template": {"spec": {
                "restartPolicy": "Never", "containers": [container]}}}}


def read_job(cluster: Cluster, name: str) -> Any:
    return client.BatchV1Api(cluster.api).read_namespaced_job(name, cluster.namespace)


def finished_as(cluster: Cluster, name: str) -> Any:
    def done() -> Any:
        j = read_job(cluster, name)
        return next((c for c in j.status.conditions or [] if c.type in ("Complete", "Failed")
                     and c.status == "True"), None)
    return until(done, timeout=SLOW, what=f"job {name} finished")


def running_pods(cluster: Cluster) -> list[str]:
    jobs: Jobs = cluster.emu.controller("jobs")
    with jobs._lock:
        uids = set(jobs.processes)
    return [p.metadata.name for p in cluster.pods() if p.metadata.uid in uids]


def test_a_job_reads_a_secret_and_writes_into_its_claim(batch: Cluster) -> None:
    ns = batch.namespace
    batch.core.create_namespaced_secret(ns, {"metadata": {"name": "creds"}, "data": {
        "token": base64.b64encode(b"s3cr3t").decode()}})
    batch.core.create_namespaced_persistent_volume_claim(ns, claim("out"))
    body = job("copy", "import os, sys, pathlib\n"
               "secret = pathlib.Path(sys.argv[1]).read_text()\n"
               "pathlib.Path(os.environ['OUT'], 'result.txt').write_text(\n"
               "    os.environ['TOKEN'] + '/' + secret + '/' + os.environ['WHO'])\n"
               "print('wrote', len(secret), 'bytes')\n", "/etc/creds/token")
    pod_spec = body["spec"]["template"]["spec"]
    pod_spec["volumes"] = [{"name": "creds", "secret": {"secretName": "creds"}},
                           {"name": "out", "persistentVolumeClaim": {"claimName": "out"}}]
    main = pod_spec["containers"][0]
    main["volumeMounts"] = [{"name": "creds", "mountPath": "/etc/creds", "readOnly": True},
                            {"name": "out", "mountPath": "/data"}]
    main["env"] = [{"name": "OUT", "value": "/data"},
                   {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds",
                                                                    "key": "token"}}},
                   {"name": "WHO", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    client.BatchV1Api(batch.api).create_namespaced_job(ns, body)
    cond = finished_as(batch, "copy")
    assert (cond.type, cond.reason) == ("Complete", "CompletionsReached")
    done = read_job(batch, "copy")
    assert done.status.succeeded == 1 and not done.status.failed
    assert done.status.completion_time is not None
    (pod,) = batch.pods("batch.kubernetes.io/job-name=copy")
    assert pod.metadata.labels["batch.kubernetes.io/controller-uid"] == done.metadata.uid
    assert pod.metadata.owner_references[0].kind == "Job"
    assert pod.status.phase == "Succeeded"
    assert pod.status.container_statuses[0].state.terminated.exit_code == 0
    vols: Volumes = batch.emu.controller("volumes")
    written = (vols.folder(ns, "out") / "result.txt").read_text()
    assert written == f"s3cr3t/s3cr3t/{pod.metadata.name}"
    log = batch.core.read_namespaced_pod_log(pod.metadata.name, ns)
    assert log == "wrote 6 bytes\n"


def test_a_killed_pod_is_retried_up_to_the_backoff_limit(batch: Cluster) -> None:
    ns = batch.namespace
    client.BatchV1Api(batch.api).create_namespaced_job(ns, job(
        "long", "import time\nprint('started', flush=True)\ntime.sleep(600)", backoff=1))
    remote = RemoteControl(batch.emu.url)
    killed = []
    for _ in range(2):
        name = until(lambda: [n for n in running_pods(batch) if n not in killed],
                          timeout=SLOW, what="a running pod")[0]
        until(lambda n=name: batch.core.read_namespaced_pod_log(n, ns) == "started\n",
                   timeout=SLOW, what="its output")
        remote.kill_pod(ns, name)
        killed.append(name)
        failed = until(lambda n=name: (p := batch.core.read_namespaced_pod(n, ns))
                            .status.phase == "Failed" and p, timeout=SLOW)
        assert failed.status.container_statuses[0].state.terminated.exit_code == 137
    cond = finished_as(batch, "long")
    assert (cond.type, cond.reason) == ("Failed", "BackoffLimitExceeded")
    assert read_job(batch, "long").status.failed == 2
    assert sorted(p.metadata.name for p in batch.pods()) == sorted(killed)


def test_a_full_volume_makes_writes_fail(batch: Cluster) -> None:
    ns = batch.namespace
    batch.core.create_namespaced_persistent_volume_claim(ns, claim("tiny", storage_class=""))
    batch.core.create_persistent_volume({
        "metadata": {"name": f"tiny-{ns}"}, "spec": {
            "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "storageClassName": "", "hostPath": {"path": "/unused"}}})
    until(lambda: phase(batch, "tiny") == "Bound", timeout=SLOW, what="static binding")
    RemoteControl(batch.emu.url).fill_volume(ns, "tiny")
    body = job("fill", "import sys\nwith open(sys.argv[1], 'w') as f:\n    f.write('x' * 4096)\n",
               "/data/f")
    body["spec"]["template"]["spec"]["volumes"] = [
        {"name": "d", "persistentVolumeClaim": {"claimName": "tiny"}}]
    body["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "d", "mountPath": "/data"}]
    client.BatchV1Api(batch.api).create_namespaced_job(ns, body)
    cond = finished_as(batch, "fill")
    assert (cond.type, cond.reason) == ("Failed", "BackoffLimitExceeded")
    (pod,) = batch.pods("job-name=fill")
    assert "File too large" in batch.core.read_namespaced_pod_log(pod.metadata.name, ns)


def test_the_deadline_and_the_ttl_run_on_the_emulated_clock(batch: Cluster) -> None:
    ns = batch.namespace
    api = client.BatchV1Api(batch.api)
    api.create_namespaced_job(ns, job("slow", "import time\ntime.sleep(600)",
                                      activeDeadlineSeconds=60))
    api.create_namespaced_job(ns, job("quick", "print('hi')", ttlSecondsAfterFinished=100))
    finished_as(batch, "quick")
    until(lambda: running_pods(batch), timeout=SLOW, what="slow running")
    batch.advance(61)
    cond = finished_as(batch, "slow")
    assert (cond.type, cond.reason) == ("Failed", "DeadlineExceeded")
    until(lambda: not running_pods(batch), timeout=SLOW, what="its process killed")
    batch.advance(100)

    def gone() -> bool:
        try:
            read_job(batch, "quick")
        except ApiException as err:
            return err.status == 404
        return False

    until(gone, timeout=SLOW, what="quick deleted after its TTL")


def test_completions_run_in_parallel_and_on_failure_restarts_in_the_same_pod(
        batch: Cluster) -> None:
    ns = batch.namespace
    api = client.BatchV1Api(batch.api)
    api.create_namespaced_job(ns, job("many", "print('one')", completions=3, parallelism=2))
    retry = job("retry", "import os, sys, pathlib\n"
                "mark = pathlib.Path(sys.argv[1], 'tried')\n"
                "if not mark.exists():\n"
                "    mark.write_text('once')\n"
                "    sys.exit(3)\n"
                "print('second time')\n", "/scratch", backoff=2)
    pod_spec = retry["spec"]["template"]["spec"]
    pod_spec["restartPolicy"] = "OnFailure"
    pod_spec["volumes"] = [{"name": "s", "emptyDir": {}}]
    pod_spec["containers"][0]["volumeMounts"] = [{"name": "s", "mountPath": "/scratch"}]
    api.create_namespaced_job(ns, retry)
    assert finished_as(batch, "many").type == "Complete"
    assert read_job(batch, "many").status.succeeded == 3
    assert len(batch.pods("job-name=many")) == 3
    assert finished_as(batch, "retry").type == "Complete"
    (pod,) = batch.pods("job-name=retry")
    assert pod.status.container_statuses[0].restart_count == 1
    assert batch.core.read_namespaced_pod_log(pod.metadata.name, ns) == "second time\n"


def test_a_read_only_claim_is_never_written(batch: Cluster) -> None:
    ns = batch.namespace
    batch.core.create_namespaced_persistent_volume_claim(ns, claim("src"))
    body = job("reader", "import sys, pathlib\n"
               "p = pathlib.Path(sys.argv[1], 'new.txt')\n"
               "p.write_text('scribble')\n"
               "print(sorted(x.name for x in p.parent.iterdir()))\n", "/src")
    pod_spec = body["spec"]["template"]["spec"]
    pod_spec["volumes"] = [{"name": "src", "persistentVolumeClaim": {"claimName": "src",
                                                                     "readOnly": True}}]
    pod_spec["containers"][0]["volumeMounts"] = [{"name": "src", "mountPath": "/src"}]
    client.BatchV1Api(batch.api).create_namespaced_job(ns, body)
    until(lambda: phase(batch, "src") == "Bound", timeout=SLOW, what="src bound")
    vols: Volumes = batch.emu.controller("volumes")
    assert finished_as(batch, "reader").type == "Complete"
    assert not (vols.folder(ns, "src") / "new.txt").exists()


def test_a_job_deleted_in_the_foreground_takes_its_running_pod_and_process(
        batch: Cluster) -> None:
    ns = batch.namespace
    api = client.BatchV1Api(batch.api)
    api.create_namespaced_job(ns, job("gone", "import time\ntime.sleep(600)"))
    until(lambda: running_pods(batch), timeout=SLOW, what="gone running")
    api.delete_namespaced_job("gone", ns, propagation_policy="Foreground", grace_period_seconds=0)
    until(lambda: all(p.metadata.deletion_timestamp for p in batch.pods()), timeout=SLOW,
          what="its pod deleted by the garbage collector")
    batch.advance(30)  # the pod's grace period

    def gone() -> bool:
        try:
            read_job(batch, "gone")
        except ApiException as err:
            return err.status == 404
        return False

    until(gone, timeout=SLOW, what="the job deleted")
    assert not batch.pods()
    until(lambda: not running_pods(batch), timeout=SLOW, what="its process ended")


def test_a_job_waits_for_its_missing_secret_and_a_missing_command_fails(batch: Cluster) -> None:
    ns = batch.namespace
    api = client.BatchV1Api(batch.api)
    body = job("later", "import os\nprint(len(os.environ['KEY']))")
    body["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "KEY", "valueFrom": {"secretKeyRef": {"name": "late", "key": "k"}}}]
    api.create_namespaced_job(ns, body)
    (pod,) = until(lambda: batch.pods("job-name=later"), timeout=SLOW, what="its pod")

    def warned() -> list[Any]:
        return [e for e in batch.core.list_namespaced_event(
            ns, field_selector=f"involvedObject.name={pod.metadata.name}").items
            if e.reason == "Failed"]

    assert until(warned, timeout=SLOW)[0].message == 'Error: secret "late" not found'
    assert not running_pods(batch)
    batch.core.create_namespaced_secret(ns, {"metadata": {"name": "late"},
                                             "stringData": {"k": "abcd"}})
    assert finished_as(batch, "later").type == "Complete"
    assert batch.core.read_namespaced_pod_log(pod.metadata.name, ns) == "4\n"
    broken = job("broken", "")
    broken["spec"]["template"]["spec"]["containers"][0]["command"] = ["no-such-tool"]
    api.create_namespaced_job(ns, broken)
    assert finished_as(batch, "broken").reason == "BackoffLimitExceeded"
    (failed,) = batch.pods("job-name=broken")
    ended = failed.status.container_statuses[0].state.terminated
    assert (ended.exit_code, ended.reason) == (127, "StartError")
    assert ended.message == 'exec: "no-such-tool": executable file not found in $PATH'


def test_a_deleted_pod_takes_its_log_with_it(batch: Cluster) -> None:
    ns = batch.namespace
    client.BatchV1Api(batch.api).create_namespaced_job(ns, job("short", "print('bye')"))
    finished_as(batch, "short")
    (pod,) = batch.pods("job-name=short")
    jobs: Jobs = batch.emu.controller("jobs")
    log = jobs.disk.log(ns, pod.metadata.name, "main")
    assert log.read_text() == "bye\n"
    batch.core.delete_namespaced_pod(pod.metadata.name, ns, grace_period_seconds=0)
    until(lambda: not log.exists(), timeout=SLOW, what="its log removed")
