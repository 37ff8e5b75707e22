"""What a restore makes (pure): never the student's volume overwritten, always something new.

- from a snapshot, into a new PVC: the claim with `dataSource` the VolumeSnapshot;
- from S3, into a new PVC: the claim, and a Job that runs `archive-worker --restore` into it;
- into the live home (`--into-home`): a Job that mounts the home's PVC and writes only a new
  folder `restored/<DATE>/` in it, from S3 (`archive-worker --restore`, which refuses a folder
  that exists) or from a snapshot (a PVC restored from it, mounted read-only, copied by
  `shutil.copytree`, which refuses an existing target too).

Writing into a live home waits for the student: while their server runs, or any pod mounts the
home's PVC, `--into-home` is refused before anything is made (`in_use`, `busy`). A
ReadWriteOnce volume attached on another node would keep the Job Pending forever, and on the
same node the student would see files appear while working.

Names are deterministic from the owner and the copy's or snapshot's time, so running the same
restore twice finds it made. Objects carry `classops.edu/purpose: restore` and the raw
username as an annotation.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .layout import Owner

PURPOSE, USERNAME, SERVERNAME = "classops.edu/purpose", "hub.jupyter.org/username", \
    "hub.jupyter.org/servername"
SNAPSHOT_API = "snapshot.storage.k8s.io"
COPY_TREE = ("import shutil, sys\n"
             "shutil.copytree(sys.argv[1], sys.argv[2], symlinks=True)\n"
             "print('copied', sys.argv[1], 'to', sys.argv[2])\n")


def name_for(owner: Owner, when: str, source: str = "s3") -> str:
    """`restore-alice-s3-20261207t030000z-1a2b3c`: a DNS label from the owner, the source
    (`s3` or `snapshot`) and the copy's or snapshot's time."""
    slug = re.sub(r"[^a-z0-9]+", "-", str(owner).lower()).strip("-")[:16].strip("-") or "u"
    digest = hashlib.sha256(f"{owner}|{source}|{when}".encode()).hexdigest()[:6]
    kind = "snap" if source == "snapshot" else source
    return f"restore-{slug}-{kind}-{when.lower()}-{digest}"[:63].rstrip("-")


def _meta(name: str, namespace: str, owner: Owner, **notes: str) -> dict[str, Any]:
    annotations = {USERNAME: owner.user, **({SERVERNAME: owner.server} if owner.server else {}),
                   **notes}
    return {"name": name, "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "classops", PURPOSE: "restore"},
            "annotations": annotations}


def claim(name: str, namespace: str, owner: Owner, size: str, storage_class: str = "",
          snapshot: str = "") -> dict[str, Any]:
    """A new PVC: empty, or (`snapshot`) provisioned from the VolumeSnapshot."""
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": size}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    if snapshot:
        spec["dataSource"] = {"apiGroup": SNAPSHOT_API, "kind": "VolumeSnapshot",
                              "name": snapshot}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": _meta(name, namespace, owner,
                              **({"classops.edu/snapshot": snapshot} if snapshot else {})),
            "spec": spec}


def job(name: str, namespace: str, owner: Owner, image: str, command: list[str],
        mounts: dict[str, tuple[str, bool]], s3_secret: str = "classops-s3",
        run_as_user: int = 1000) -> dict[str, Any]:
    """A one-pod Job running `command` with each claim of `mounts` (claim -> (path,
    read-only)) mounted, the S3 settings from `s3_secret`, as the students' uid."""
    volumes = [{"name": f"v{i}", "persistentVolumeClaim": {"claimName": c, "readOnly": ro}}
               for i, (c, (_, ro)) in enumerate(mounts.items())]
    volume_mounts = [{"name": f"v{i}", "mountPath": path, "readOnly": ro}
                     for i, (path, ro) in enumerate(mounts.values())]
    container = {"name": "restore", "image": image, "command": command,
                 "envFrom": [{"secretRef": {"name": s3_secret, "optional": True}}],
                 "volumeMounts": volume_mounts,
                 "securityContext": {"runAsUser": run_as_user, "runAsNonRoot": True,
                                     "allowPrivilegeEscalation": False,
                                     "capabilities": {"drop": ["ALL"]}}}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": _meta(name, namespace, owner),
            "spec": {"backoffLimit": 0, "ttlSecondsAfterFinished": 86400,
                     "template": {"metadata": {"labels": {PURPOSE: "restore"}},
                                  "spec": {"restartPolicy": "Never", "volumes": volumes,
                                           "containers": [container]}}}}


def from_s3(prefix: str, owner: Owner, into: str, timestamp: str = "") -> list[str]:
    """The command that unpacks a copy from S3 into `into` (a new or empty folder)."""
    return ["python", "-m", "shared.cli.main", "archive-worker", "--prefix", prefix,
            "--restore", str(owner), f"--into={into}",
            *(["--timestamp", timestamp] if timestamp else [])]


def from_folder(source: str, into: str) -> list[str]:
    """The command that copies a restored snapshot's files into `into` (which must not exist)."""
    return ["python", "-c", COPY_TREE, source, into]


SERVER = "singleuser-server"  # KubeSpawner's `component` label of a student's server pod
FINISHED = ("Succeeded", "Failed")


def in_use(pods: Iterable[Mapping[str, Any]], owner: Owner, claim: str) -> list[str]:
    """Each pod (not finished) that is the owner's server or mounts `claim`, described:
    `pod jupyter-alice (alice's server, Running on node user-1)`."""
    found = []
    for pod in pods:
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        phase = str((pod.get("status") or {}).get("phase") or "Pending")
        if phase in FINISHED:
            continue
        notes = meta.get("annotations") or {}
        server = (meta.get("labels") or {}).get("component") == SERVER and \
            notes.get(USERNAME) == owner.user and (notes.get(SERVERNAME) or "") == owner.server
        mounts = any((v.get("persistentVolumeClaim") or {}).get("claimName") == claim
                     for v in spec.get("volumes") or [])
        if server or mounts:
            what = f"{owner}'s server" if server else f"mounts pvc {claim}"
            where = f" on node {spec['nodeName']}" if spec.get("nodeName") else ""
            found.append(f"pod {meta.get('name')} ({what}, {phase}{where})")
    return found


def busy(owner: Owner, namespace: str, claim: str, pods: list[str]) -> str:
    """Why `--into-home` is refused, and what to do instead."""
    return (f"{owner}'s home (pvc {namespace}/{claim}) is in use: {'; '.join(pods)}. A restore "
            "into a live home would write while they work (and a ReadWriteOnce volume "
            "attached elsewhere keeps the restore Job from ever starting). Stop the server "
            f"first (the hub's admin page: Stop Server for {owner.user}) and run this again, "
            "or restore into a new PVC instead (--into NEW-PVC, which they can be given "
            "later); nothing was created")
