"""`classops deploy`: survey the cluster, print the plan, apply it, wait until all is ready.

The I/O around the pure plan (`planning`): each rendered object is read and, if it exists,
applied with `dryRun=All` so that the server (its defaults, its merge of field managers) says
whether a real apply would change it; objects carrying our tracking labels but no longer rendered
are orphans; generated secrets are looked up, never read into the plan's output. The actions go
through the one `Executor` (retries, Kubernetes Events, metrics), then every workload is polled
until ready or the timeout passes, with one progress line whenever the picture changes, and,
for each workload not ready, why (`blockers`: its pods' scheduling, containers, claims and
Events), printed again whenever the reasons change; the last reasons are in the `Outcome`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

from shared.actions.executor import Executor, Result
from shared.actions.model import DEPLOY_MANAGER
from shared.ports.kube import APPLY_PATCH, Kube
from shared.stack import secrets
from shared.stack.blockers import Blocker
from shared.stack.config import HubSettings
from shared.stack.labels import tracking_selector
from shared.stack.manifests import render
from shared.stack.plan import Entry, actions, classify, orphans, table
from shared.stack.status import why

RBAC = "rbac.authorization.k8s.io/v1"
#: What each part may have rendered before, for finding orphans by their labels.
TRACKED: dict[str, tuple[tuple[str, str], ...]] = {
    "cluster": (("scheduling.k8s.io/v1", "PriorityClass"), (RBAC, "ClusterRole"),
                (RBAC, "ClusterRoleBinding")),
    "classops": (("v1", "ConfigMap"), ("v1", "Service"), ("v1", "ServiceAccount"),
                 (RBAC, "Role"), (RBAC, "RoleBinding"), ("apps/v1", "Deployment")),
    "hub": (("v1", "ConfigMap"), ("v1", "Service"), ("v1", "ServiceAccount"),
            ("v1", "PersistentVolumeClaim"), ("v1", "Secret"), (RBAC, "Role"),
            (RBAC, "RoleBinding"), ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"),
            ("apps/v1", "DaemonSet"), ("policy/v1", "PodDisruptionBudget"),
            ("networking.k8s.io/v1", "NetworkPolicy"), ("coordination.k8s.io/v1", "Lease")),
}
#: Tracked too when HTTPS is `auto` (listing them needs cert-manager's CRDs).
CERT_MANAGER = (("cert-manager.io/v1", "Issuer"), ("cert-manager.io/v1", "Certificate"))
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")


@dataclass(frozen=True)
class Survey:
    entries: list[Entry]
    secrets: list[dict[str, Any]]  # to create (values inside: never printed)
    manifests: list[dict[str, Any]]


def dry_apply(kube: Kube, manifest: Mapping[str, Any]) -> dict[str, Any]:
    meta = manifest["metadata"]
    path = kube.resource(manifest["apiVersion"], manifest["kind"]).path(
        meta.get("namespace", ""), meta["name"])
    return kube.request("PATCH", path, {"fieldManager": DEPLOY_MANAGER, "force": True,
                                        "dryRun": "All"}, dict(manifest), APPLY_PATCH)


def survey(kube: Kube, settings: HubSettings, parts: Sequence[str], schedule_text: str = "",
           prune: bool = False, token: Callable[[], str] = secrets.new_token) -> Survey:
    manifests = render(settings, schedule_text, parts)
    entries = []
    for m in manifests:
        meta = m["metadata"]
        live = kube.get(m["apiVersion"], m["kind"], meta["name"], meta.get("namespace", ""))
        dry = dry_apply(kube, m) if live else None
        entries.append(classify(m, live.raw if live else None, dry))
    to_create, generated = [], []
    if "hub" in parts:
        for wanted in secrets.wanted():
            manifest = wanted.manifest(settings, token)
            generated.append(manifest)
            live = kube.get("v1", "Secret", wanted.name, settings.namespace)
            if live is None:
                to_create.append(manifest)
                entries.append(Entry("create", "v1", "Secret", wanted.name, settings.namespace,
                                     "generated once"))
            else:
                missing = wanted.missing(live.raw.get("data"))
                detail = f"lacks {', '.join(missing)}: add by hand" if missing else \
                    "generated before, kept"
                entries.append(Entry("kept", "v1", "Secret", wanted.name, settings.namespace,
                                     detail))
    tracked = []
    for part in parts:
        kinds = TRACKED[part] + (CERT_MANAGER if part == "hub" and settings.tls_mode == "auto"
                                 else ())
        for api_version, kind in kinds:
            namespace = "" if part == "cluster" else settings.namespace
            tracked += [o.raw for o in kube.list(api_version, kind, namespace,
                                                 tracking_selector(settings, part))]
    entries += orphans([*manifests, *generated], tracked, prune)
    return Survey(entries, to_create, manifests)


def readiness(obj: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether a workload has rolled out its current spec, and a short "2/2" picture."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    seen = status.get("observedGeneration", 0) >= (obj.get("metadata") or {}).get("generation", 1)
    if obj.get("kind") == "DaemonSet":
        want = status.get("desiredNumberScheduled", 0)
        ready, updated = status.get("numberReady", 0), status.get("updatedNumberScheduled", 0)
        ok = seen and ready == want and updated == want
    else:
        want = spec.get("replicas", 1)
        ready, updated = status.get("readyReplicas", 0), status.get("updatedReplicas", 0)
        ok = seen and ready == want and updated == want and status.get("replicas", 0) == want
    return ok, f"{ready}/{want}"


Why = dict[str, list[Blocker]]


def wait_ready(kube: Kube, workloads: Sequence[Mapping[str, Any]], timeout: float,
               out: TextIO, sleep: Callable[[float], None] = time.sleep,
               monotonic: Callable[[], float] = time.monotonic,
               interval: float = 2.0) -> tuple[list[str], Why]:
    """Poll until every workload is ready; those that are not at the timeout, and why."""
    deadline, last, said = monotonic() + timeout, "", ""
    while True:
        pictures, waiting, live_waiting = [], [], []
        for w in workloads:
            meta = w["metadata"]
            live = kube.get(w["apiVersion"], w["kind"], meta["name"], meta.get("namespace", ""))
            ok, picture = readiness(live.raw) if live else (False, "absent")
            name = f"{w['kind'].lower()}/{meta['name']}"
            pictures.append(f"{name} {picture}")
            if not ok:
                waiting.append(name)
                live_waiting.append(live.raw if live else w)
        line = ("waiting: " if waiting else "ready: ") + ", ".join(pictures)
        if line != last:
            print(line, file=out, flush=True)
            last = line
        namespace = str(workloads[0]["metadata"].get("namespace", "")) if workloads else ""
        reasons = why(kube, namespace, live_waiting) if waiting else {}
        text = "\n".join(f"  {name}: {b.line()}" for name, found in reasons.items()
                         for b in found)
        if text and text != said:
            print(text, file=out, flush=True)
        said = text
        if not waiting or monotonic() >= deadline:
            return waiting, reasons
        sleep(interval)


@dataclass(frozen=True)
class Outcome:
    entries: list[Entry]
    results: list[Result]
    not_ready: list[str]  # at the timeout: those workloads not ready
    blockers: Why = field(default_factory=dict)  # and why, per workload

    @property
    def timed_out(self) -> bool:
        return bool(self.not_ready)

    def as_dict(self) -> dict[str, Any]:
        return {"entries": [{k: v for k, v in asdict(e).items() if k != "manifest"}
                            for e in self.entries],
                "results": [r.as_dict() for r in self.results], "not_ready": self.not_ready,
                "blockers": {name: [b.as_dict() for b in found]
                             for name, found in self.blockers.items()},
                "failed": len(self.failed), "timed_out": self.timed_out}

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if r.outcome == "failed"]


def deploy(kube: Kube, executor: Executor, settings: HubSettings, out: TextIO,
           parts: Sequence[str] = ("hub",), schedule_text: str = "", prune: bool = False,
           dry_run: bool = False, timeout: float | None = 300.0, event_id: str = "deploy",
           sleep: Callable[[float], None] = time.sleep,
           monotonic: Callable[[], float] = time.monotonic) -> Outcome:
    found = survey(kube, settings, parts, schedule_text, prune)
    print(table(found.entries), file=out, flush=True)
    if dry_run:
        return Outcome(found.entries, [], [])
    results = executor.execute(actions(found.entries, found.secrets), event_id)
    for r in results:
        if r.outcome == "failed":
            print(f"failed: {r.action.describe()}: {r.detail}", file=out, flush=True)
    workloads = [m for m in found.manifests if m["kind"] in WORKLOADS]
    waiting = workloads and timeout is not None
    not_ready, reasons = wait_ready(kube, workloads, timeout or 0.0, out, sleep, monotonic) \
        if waiting else ([], {})
    return Outcome(found.entries, results, not_ready, reasons)

