"""`classops check`'s verdicts, computed purely from what the probes saw (`checking` does the I/O).

Each probe result is plain data; `verdicts()` turns them into `Finding`s (pass / fail / warn), each
failure with what to do about it. A missing autoscaler is a warning: a fixed-size cluster works,
it only cannot grow for a lecture. `failed()` decides the exit code (1 if anything failed).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from shared.archive import lifecycle
from shared.stack.admin import Permission

Verdict = Literal["pass", "fail", "warn"]
SNAPSHOT_GROUP = "snapshot.storage.k8s.io"
SNAPSHOT_CRDS = tuple(f"{plural}.{SNAPSHOT_GROUP}" for plural in
                      ("volumesnapshots", "volumesnapshotclasses", "volumesnapshotcontents"))
SNAPSHOTTER = "https://github.com/kubernetes-csi/external-snapshotter (client/config/crd and " \
              "the snapshot-controller)"
GRANT_FIX = ("have a cluster admin apply `classops render --parts {part} | kubectl apply "
             "--server-side --field-manager=classops -f -`")


@dataclass(frozen=True)
class Finding:
    check: str
    verdict: Verdict
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class SnapshotSupport:
    crds: tuple[str, ...]  # the snapshot CRDs the server has
    storage_class: str  # the user PVCs' StorageClass ("" : none named and no default)
    provisioner: str  # its CSI driver
    classes: tuple[tuple[str, str], ...]  # VolumeSnapshotClasses: (name, driver)
    error: str = ""  # a read that failed (e.g. forbidden), which makes the rest unknown


@dataclass(frozen=True)
class Step:
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class StorageProbe:
    bucket: str  # "" : not configured
    steps: tuple[tuple[str, Step], ...] = ()  # ("write", Step), ("read", ...), ("delete", ...)
    lifecycle: tuple[dict[str, Any], ...] | None = None  # the bucket's rules; None: unreadable
    lifecycle_error: str = ""


@dataclass(frozen=True)
class HubProbe:
    configured: bool
    scopes: tuple[str, ...] = ()
    owner: str = ""  # the token's owner, e.g. the service `classops`
    error: str = ""


@dataclass(frozen=True)
class Access:
    permission: Permission
    allowed: bool
    reason: str = ""


@dataclass(frozen=True)
class Autoscaler:
    found: tuple[str, ...]  # what shows one: "cluster-autoscaler-status ConfigMap", ...
    unreadable: tuple[str, ...] = ()  # what classops could not look at


@dataclass(frozen=True)
class TlsProbe:
    mode: str = ""  # HubSettings.tls_mode: "", "secret", "offload", "auto"
    host: str = ""
    secret: str = ""  # the kubernetes.io/tls Secret the proxy serves (secret, auto)
    secret_found: bool | None = None  # secret mode: is it there (None: not asked)
    crds: tuple[str, ...] = ()  # auto: cert-manager's CRDs found
    error: str = ""


CERT_MANAGER_CRDS = ("certificates.cert-manager.io", "issuers.cert-manager.io")
CERT_MANAGER_FIX = ("install cert-manager (its release manifest cert-manager.yaml, or the Helm "
                    "chart jetstack/cert-manager with crds.enabled=true), or set hub.https.type "
                    "to secret (a kubernetes.io/tls Secret) or offload (the load balancer's TLS)")


def _tls(o: TlsProbe) -> list[Finding]:
    if o.error:
        return [Finding("https", "fail", f"cannot read: {o.error}")]
    if o.mode == "auto":
        missing = [c for c in CERT_MANAGER_CRDS if c not in o.crds]
        if missing:
            return [Finding("https", "fail", "hub.https.type auto needs cert-manager; missing "
                            f"CRDs: {', '.join(missing)}", CERT_MANAGER_FIX)]
        return [Finding("https", "pass", f"cert-manager present: Certificate {o.secret} for "
                        f"{o.host}")]
    if o.mode == "secret":
        if o.secret_found is False:
            return [Finding("https", "fail", f"TLS Secret {o.secret} is missing",
                            f"kubectl create secret tls {o.secret} --cert=FILE --key=FILE")]
        return [Finding("https", "pass", f"proxy-public serves 443 with Secret {o.secret}")]
    if o.mode == "offload":
        return [Finding("https", "pass", "the load balancer terminates TLS on 443")]
    return []  # no HTTPS asked for: nothing to check (a test cluster, a private network)


@dataclass(frozen=True)
class Observations:
    snapshots: SnapshotSupport
    storage: StorageProbe
    hub: HubProbe
    needed_scopes: tuple[str, ...]
    access: tuple[Access, ...]
    autoscaler: Autoscaler
    tls: TlsProbe = TlsProbe()


def _snapshots(o: SnapshotSupport) -> list[Finding]:
    found = []
    missing = [c for c in SNAPSHOT_CRDS if c not in o.crds]
    if missing:
        found.append(Finding("snapshot CRDs", "fail", f"missing {', '.join(missing)}",
                             f"install the CSI snapshot CRDs and controller: {SNAPSHOTTER}"))
    else:
        found.append(Finding("snapshot CRDs", "pass", "VolumeSnapshot, -Class and -Content"))
    if o.error:
        found.append(Finding("VolumeSnapshotClass", "fail", o.error,
                             GRANT_FIX.format(part="cluster")))
        return found
    if not o.storage_class:
        found.append(Finding("VolumeSnapshotClass", "fail",
                             "no StorageClass named in hub.storage_class and no default one",
                             "name the user PVCs' StorageClass in schedules.yaml "
                             "(hub.storage_class) or mark one default"))
        return found
    if not o.provisioner:
        found.append(Finding("VolumeSnapshotClass", "fail",
                             f"StorageClass {o.storage_class} does not exist",
                             "create it, or name an existing one in hub.storage_class"))
        return found
    matching = [name for name, driver in o.classes if driver == o.provisioner]
    where = f"StorageClass {o.storage_class} ({o.provisioner})"
    if matching:
        found.append(Finding("VolumeSnapshotClass", "pass",
                             f"{', '.join(matching)} for {where}"))
    else:
        others = ", ".join(f"{n} ({d})" for n, d in o.classes) or "none"
        found.append(Finding(
            "VolumeSnapshotClass", "fail", f"none for {where}; found: {others}",
            f"create a VolumeSnapshotClass with driver: {o.provisioner} "
            "(deletionPolicy: Retain keeps backups past a deleted PVC)"))
    return found


def _storage(o: StorageProbe) -> list[Finding]:
    if not o.bucket:
        return [Finding("S3 bucket", "fail", "not configured",
                        "set CLASSOPS_S3_BUCKET (and CLASSOPS_S3_ENDPOINT off AWS) and the "
                        "credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")]
    for name, step in o.steps:
        if not step.ok:
            return [Finding("S3 bucket", "fail", f"{o.bucket}: {name} failed: {step.detail}",
                            "check the bucket exists and the credentials may put, get and "
                            "delete objects in it (s3:PutObject, s3:GetObject, s3:DeleteObject)")]
    return [Finding("S3 bucket", "pass",
                    f"{o.bucket}: {', '.join(n for n, _ in o.steps)} of a probe object"),
            *_lifecycle(o)]


def _lifecycle(o: StorageProbe) -> list[Finding]:
    """Copies (issue 16) need incomplete multipart uploads aborted (shared/archive/lifecycle)."""
    if o.lifecycle is None:
        return [Finding("S3 lifecycle", "warn", f"{o.bucket}: rules unreadable: "
                        f"{o.lifecycle_error}", "allow s3:GetLifecycleConfiguration")]
    days = lifecycle.aborts_incomplete(o.lifecycle)
    if days is not None:
        return [Finding("S3 lifecycle", "pass",
                        f"{o.bucket}: incomplete multipart uploads aborted after {days} days")]
    return [Finding("S3 lifecycle", "warn", f"{o.bucket}: no rule aborts incomplete multipart "
                    "uploads (a copy Job killed mid-upload leaves its parts, billed)",
                    lifecycle.proposal(o.bucket, o.lifecycle))]


def covered(scope: str, held: Sequence[str]) -> bool:
    """Whether a token holding `held` (the hub's expanded scopes) has `scope` for every user:
    the scope itself, or its parent (`read:users` covers `read:users:name`). A filtered scope
    (`read:servers!user=alice`) covers one user only, so it does not count."""
    whole = {s for s in held if "!" not in s}
    parts = scope.split(":")
    return any(":".join(parts[:n]) in whole for n in range(2, len(parts) + 1))


def _hub(o: HubProbe, needed: Sequence[str]) -> list[Finding]:
    if not o.configured:
        return [Finding("hub token", "fail", "not configured",
                        "set CLASSOPS_HUB_API_URL and CLASSOPS_HUB_TOKEN (the Secret "
                        "hub-token-classops holds the token)")]
    if o.error:
        return [Finding("hub token", "fail", o.error,
                        "check CLASSOPS_HUB_API_URL answers and CLASSOPS_HUB_TOKEN is the "
                        "classops service's token")]
    missing = [s for s in needed if not covered(s, o.scopes)]
    if missing:
        return [Finding("hub token", "fail", f"{o.owner or 'the token'} lacks {', '.join(missing)}",
                        "give the classops service's role these scopes in the hub's config "
                        "(load_roles) and restart the hub")]
    return [Finding("hub token", "pass", f"{o.owner or 'the token'} has {', '.join(needed)}")]


def _access(access: Sequence[Access]) -> list[Finding]:
    denied = [a for a in access if not a.allowed]
    found = [Finding("permissions", "fail", f"denied: {a.permission.describe()}",
                     GRANT_FIX.format(part="classops" if a.permission.namespace else "cluster"))
             for a in denied]
    if not denied:
        found.append(Finding("permissions", "pass",
                             f"all {len(access)} access reviews allowed"))
    return found


def _autoscaler(o: Autoscaler) -> list[Finding]:
    if o.found:
        return [Finding("autoscaler", "pass", ", ".join(o.found))]
    unseen = f" (could not read: {', '.join(o.unreadable)})" if o.unreadable else ""
    return [Finding("autoscaler", "warn", "no cluster-autoscaler or Karpenter seen" + unseen,
                    "without one, warm-ups can only fill the nodes there are")]


def verdicts(o: Observations) -> list[Finding]:
    return [*_snapshots(o.snapshots), *_storage(o.storage), *_hub(o.hub, o.needed_scopes),
            *_access(o.access), *_autoscaler(o.autoscaler), *_tls(o.tls)]


def failed(findings: Sequence[Finding]) -> bool:
    return any(f.verdict == "fail" for f in findings)


def table(findings: Sequence[Finding]) -> str:
    rows = [("CHECK", "VERDICT", "DETAIL")] + [(f.check, f.verdict, f.detail) for f in findings]
    width = [max(len(r[i]) for r in rows) for i in range(2)]
    lines = []
    for (check, verdict, detail), f in zip(rows, [None, *findings], strict=True):
        lines.append(f"{check:<{width[0]}}  {verdict:<{width[1]}}  {detail}".rstrip())
        if f is not None and f.fix and f.verdict != "pass":
            lines.append(f"{'':<{width[0]}}  {'':<{width[1]}}  -> {f.fix}")
    counts = {v: sum(1 for f in findings if f.verdict == v) for v in ("pass", "fail", "warn")}
    return "\n".join([*lines, "# " + ", ".join(f"{n} {v}" for v, n in counts.items())])


def as_json(findings: Sequence[Finding]) -> str:
    return json.dumps({"ok": not failed(findings), "checks": [asdict(f) for f in findings]},
                      indent=1)
