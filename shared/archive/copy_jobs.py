"""The copy Jobs (pure): which snapshots to copy, in which batches, as which Kubernetes objects.

After the snapshots (`backup.copy`), each student's newest ready snapshot is restored into a
scratch PVC (`dataSource`: the VolumeSnapshot), so stopped students, most of them, are covered
and nobody's running server is touched. One Job copies a batch of students: it mounts their
scratch PVCs read-only at `/homes/<folder_name(owner)>` and runs `classops archive-worker` over
them (`--home PATH --owner USER` each: a mount need not keep its folder's name) with one S3
client (its `--jobs` homes at once); the executor runs a few Jobs at once. The
copy's timestamp is the snapshot's time, so a Job run twice writes the same keys. The scratch
PVCs are deleted once the Job has ended, whatever its outcome.

Snapshots are read from their labels and annotations (`hub.jupyter.org/username` annotation:
the raw name; `classops.edu/at`: the instant the snapshot stands for), as the backup
capability writes them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.timestamps import kube_time

from .layout import Owner, folder_name, stamp

USERNAME, SERVERNAME = "hub.jupyter.org/username", "hub.jupyter.org/servername"
TAKEN_FOR, CLAIM = "classops.edu/at", "classops.edu/claim"
PURPOSE, COPY_JOB = "classops.edu/purpose", "classops.edu/copy-job"
FINAL = "final"  # the PURPOSE of term-end snapshots (functions/term_end.py)
MANAGED_BY = "app.kubernetes.io/managed-by"
SNAPSHOT_API = "snapshot.storage.k8s.io"
HOMES = "/homes"


@dataclass(frozen=True)
class Source:
    """One home to copy: the owner, the ready snapshot and what its restore needs."""

    owner: Owner
    snapshot: str
    at: datetime
    size: str  # the snapshot's restoreSize (e.g. "10Gi")
    storage_class: str = ""
    final: bool = False  # a term-end snapshot (`classops.edu/purpose=final`): its copy has a note


@dataclass(frozen=True)
class JobSettings:
    namespace: str
    image: str
    prefix: str  # COURSE/TERM
    batch: int = 25  # students per Job
    homes_at_once: int = 4  # inside one Job: archive-worker --jobs
    deadline_seconds: int = 4 * 3600
    ttl_seconds: int = 86400  # a finished Job stays a day, for its log
    s3_secret: str = "classops-s3"  # bucket, endpoint and credentials, as the Deployment's
    run_as_user: int = 1000  # the students' uid (z2jh's jovyan), to read 0600 files


def newest_ready(snapshots: Iterable[Mapping[str, Any]]) -> list[Source]:
    """Each owner's newest ready snapshot (VolumeSnapshot objects as dicts), sorted by owner."""
    best: dict[Owner, Source] = {}
    for obj in snapshots:
        meta, status = obj.get("metadata") or {}, obj.get("status") or {}
        notes = meta.get("annotations") or {}
        user = notes.get(USERNAME)
        at = kube_time(notes.get(TAKEN_FOR)) or kube_time(status.get("creationTime")) or \
            kube_time(meta.get("creationTimestamp"))
        if not user or at is None or status.get("readyToUse") is not True or \
                meta.get("deletionTimestamp"):
            continue
        owner = Owner(str(user), str(notes.get(SERVERNAME) or ""))
        source = Source(owner, str(meta.get("name", "")), at,
                        str(status.get("restoreSize") or "1Gi"),
                        final=(meta.get("labels") or {}).get(PURPOSE) == FINAL)
        if owner not in best or (best[owner].at, best[owner].snapshot) < (at, source.snapshot):
            best[owner] = source
    return [best[o] for o in sorted(best, key=lambda o: (o.user, o.server))]


def batches(sources: Sequence[Source], size: int) -> list[list[Source]]:
    """Batches of at most `size`, each of one snapshot time (one copy timestamp per Job) and
    all final or none (the note is the Job's)."""
    by_time: dict[tuple[datetime, bool], list[Source]] = {}
    for s in sources:
        by_time.setdefault((s.at, s.final), []).append(s)
    return [group[i:i + size] for _, group in sorted(by_time.items())
            for i in range(0, len(group), max(1, size))]


def job_name(timestamp: str, members: Sequence[Source]) -> str:
    """`copy-20261207t030000z-<hash of who>`: the same batch twice is the same Job."""
    who = hashlib.sha256("\n".join(str(s.owner) for s in members).encode()).hexdigest()[:10]
    return f"copy-{timestamp.lower()}-{who}"


def _labels(job: str) -> dict[str, str]:
    return {MANAGED_BY: "classops", PURPOSE: "copy", COPY_JOB: job}


def claims(job: str, members: Sequence[Source], namespace: str) -> list[dict[str, Any]]:
    """A scratch PVC per member, provisioned from its snapshot."""
    found = []
    for i, s in enumerate(members):
        spec: dict[str, Any] = {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": s.size}},
            "dataSource": {"apiGroup": SNAPSHOT_API, "kind": "VolumeSnapshot",
                           "name": s.snapshot}}
        if s.storage_class:
            spec["storageClassName"] = s.storage_class
        found.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                      "metadata": {"name": f"{job}-{i:03d}", "namespace": namespace,
                                   "labels": _labels(job),
                                   "annotations": {USERNAME: s.owner.user,
                                                   **({SERVERNAME: s.owner.server}
                                                      if s.owner.server else {}),
                                                   "classops.edu/snapshot": s.snapshot}},
                      "spec": spec})
    return found


def job(name: str, members: Sequence[Source], settings: JobSettings) -> dict[str, Any]:
    """The Job: archive-worker over the members' scratch PVCs, mounted read-only; copies of
    final snapshots also carry the student's `WHERE-ARE-MY-FILES.txt` (`--where-note`)."""
    timestamp = stamp(members[0].at)
    volumes, mounts, args = [], [], [
        "archive-worker", "--prefix", settings.prefix, "--timestamp", timestamp,
        "--jobs", str(settings.homes_at_once), "--meta", f"copy-job={name}", "-o", "json",
        *(["--where-note"] if members[0].final else [])]
    for i, s in enumerate(members):
        path = f"{HOMES}/{folder_name(s.owner)}"
        volumes.append({"name": f"home-{i:03d}", "persistentVolumeClaim": {
            "claimName": f"{name}-{i:03d}", "readOnly": True}})
        mounts.append({"name": f"home-{i:03d}", "mountPath": path, "readOnly": True})
        args += [f"--home={path}", "--owner", str(s.owner)]
    container = {
        "name": "archive", "image": settings.image, "command": ["python", "-m",
                                                                 "shared.cli.main"],
        "args": args, "envFrom": [{"secretRef": {"name": settings.s3_secret, "optional": True}}],
        "volumeMounts": mounts,
        "resources": {"requests": {"cpu": "500m", "memory": "256Mi"},
                      "limits": {"memory": "1Gi"}},
        "securityContext": {"runAsUser": settings.run_as_user, "runAsNonRoot": True,
                            "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}}}
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": settings.namespace,
                         "labels": _labels(name)},
            "spec": {"backoffLimit": 2, "activeDeadlineSeconds": settings.deadline_seconds,
                     "ttlSecondsAfterFinished": settings.ttl_seconds,
                     "template": {"metadata": {"labels": _labels(name)},
                                  "spec": {"restartPolicy": "Never", "volumes": volumes,
                                           "containers": [container]}}}}
