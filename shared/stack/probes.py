"""`classops check`'s probes: the I/O behind `checks`, through the ports only.

- snapshots: the three CSI snapshot CRDs, the user PVCs' StorageClass (named in `hub:` or the
  cluster's default) and its provisioner, the VolumeSnapshotClasses and their drivers;
- S3: write, read back (byte for byte) and delete a probe object under `classops-check/`;
- hub: GET /hub/api/user with the service token: the scopes the hub expanded for it;
- permissions: one SelfSubjectAccessReview per `admin.permissions()`, the same list that renders
  the Role and the ClusterRole, so the check cannot drift from what classops holds;
- autoscaler: cluster-autoscaler's status ConfigMap or Deployment in kube-system, or
  Karpenter's CRDs.

A probe that cannot read (403, no such resource) reports it as data; it never raises, so one
broken system does not hide the verdicts on the others.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from shared.ports.errors import ApiError
from shared.ports.hub import Hub
from shared.ports.kube import Kube
from shared.ports.s3 import S3
from shared.stack import admin, hub_component
from shared.stack.config import HubSettings
from shared.stack.verdicts import (
    CERT_MANAGER_CRDS,
    SNAPSHOT_CRDS,
    Access,
    Autoscaler,
    HubProbe,
    Observations,
    SnapshotSupport,
    Step,
    StorageProbe,
    TlsProbe,
)

CRD = ("apiextensions.k8s.io/v1", "CustomResourceDefinition")
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
KARPENTER_CRDS = ("nodepools.karpenter.sh", "provisioners.karpenter.sh")


def snapshot_support(kube: Kube, settings: HubSettings) -> SnapshotSupport:
    try:
        crds = tuple(name for name in SNAPSHOT_CRDS if kube.get(*CRD, name) is not None)
        classes = list(kube.list("storage.k8s.io/v1", "StorageClass"))
        if settings.storage_class:
            chosen = next((c for c in classes if c.name == settings.storage_class), None)
        else:
            chosen = next((c for c in classes if (c.raw.get("metadata") or {}).get(
                "annotations", {}).get(DEFAULT_CLASS) == "true"), None)
        snapshot_classes: tuple[tuple[str, str], ...] = ()
        if "volumesnapshotclasses.snapshot.storage.k8s.io" in crds:
            snapshot_classes = tuple(
                (c.name, str(c.raw.get("driver", ""))) for c in
                kube.list("snapshot.storage.k8s.io/v1", "VolumeSnapshotClass"))
    except ApiError as err:
        return SnapshotSupport((), "", "", (), f"cannot read: {err}")
    name = chosen.name if chosen else settings.storage_class  # named but absent: no provisioner
    provisioner = str(chosen.raw.get("provisioner", "")) if chosen else ""
    return SnapshotSupport(crds, name, provisioner, snapshot_classes)


def storage(s3: S3 | None, token: Callable[[], str] = lambda: secrets.token_hex(8)
            ) -> StorageProbe:
    if s3 is None:
        return StorageProbe("")
    key, data = f"classops-check/{token()}", b"classops check probe\n"
    steps: list[tuple[str, Step]] = []

    def step(name: str, call: Callable[[], Any], check: Callable[[Any], str] = lambda _: ""
             ) -> bool:
        try:
            problem = check(call())
        except ApiError as err:
            problem = str(err)
        steps.append((name, Step(not problem, problem)))
        return not problem

    _ = (step("write", lambda: s3.put_bytes(key, data, "text/plain"))
         and step("read", lambda: s3.get_bytes(key),
                  lambda got: "" if got == data else f"read back {len(got)} other bytes")
         and step("delete", lambda: s3.delete(key)))
    try:  # the lifecycle rule copies need (issue 16)
        rules: tuple[dict[str, Any], ...] | None = tuple(s3.lifecycle_rules())
        error = ""
    except ApiError as err:
        rules, error = None, str(err)
    return StorageProbe(s3.bucket, tuple(steps), rules, error)


def hub_token(client: Hub | None) -> HubProbe:
    if client is None:
        return HubProbe(False)
    try:
        model = client.token_owner()
    except ApiError as err:
        return HubProbe(True, error=str(err))
    owner = f"{model.get('kind', 'owner')} {model.get('name', '?')}"
    return HubProbe(True, tuple(str(s) for s in model.get("scopes") or ()), owner)


def review(kube: Kube, p: admin.Permission) -> Access:
    resource, _, sub = p.resource.partition("/")
    attributes = {"namespace": p.namespace, "verb": p.verb, "group": p.group,
                  "resource": resource, "subresource": sub, "name": p.name}
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {k: v for k, v in attributes.items() if v}}}
    try:
        status = kube.create(body).raw.get("status") or {}
    except ApiError as err:
        return Access(p, False, f"review failed: {err}")
    return Access(p, bool(status.get("allowed")), str(status.get("reason", "")))


def reviews(kube: Kube, permissions: Sequence[admin.Permission], workers: int = 8
            ) -> tuple[Access, ...]:
    """One review per permission, `workers` at a time (in order): ~80 round trips one after
    the other were most of `check`'s wait on a cluster a few milliseconds away."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return tuple(pool.map(lambda p: review(kube, p), permissions))


def autoscaler(kube: Kube) -> Autoscaler:
    found, unreadable = [], []
    looks = [(("v1", "ConfigMap", "cluster-autoscaler-status", "kube-system"),
              "cluster-autoscaler-status ConfigMap"),
             (("apps/v1", "Deployment", "cluster-autoscaler", "kube-system"),
              "cluster-autoscaler Deployment"),
             *(((*CRD, name, ""), f"Karpenter CRD {name}") for name in KARPENTER_CRDS)]
    for (api_version, kind, name, namespace), what in looks:
        try:
            if kube.get(api_version, kind, name, namespace) is not None:
                found.append(what)
        except ApiError:
            unreadable.append(what)
    return Autoscaler(tuple(found), tuple(unreadable))


@dataclass(frozen=True)
class Systems:
    kube: Kube
    s3: S3 | None = None
    hub: Hub | None = None


def observe(systems: Systems, settings: HubSettings) -> Observations:
    kube = systems.kube
    return Observations(
        snapshots=snapshot_support(kube, settings),
        storage=storage(systems.s3),
        hub=hub_token(systems.hub),
        needed_scopes=tuple(hub_component.CLASSOPS_SCOPES),
        access=reviews(kube, admin.permissions(settings)),
        autoscaler=autoscaler(kube),
        tls=tls(kube, settings),
    )


def tls(kube: Kube, settings: HubSettings) -> TlsProbe:
    mode, secret = settings.tls_mode, settings.tls_secret_name
    try:
        if mode == "auto":
            return TlsProbe(mode, settings.host, secret, crds=tuple(
                name for name in CERT_MANAGER_CRDS if kube.get(*CRD, name) is not None))
        if mode == "secret":
            found = kube.get("v1", "Secret", secret, settings.namespace) is not None
            return TlsProbe(mode, settings.host, secret, secret_found=found)
    except ApiError as err:
        return TlsProbe(mode, settings.host, secret, error=str(err))
    return TlsProbe(mode, settings.host, secret)
