"""Read what a teardown decides on: the users' PVCs, snapshots and the pods that mount them
(Kubernetes), the term index and the teardown records (S3), the users' last activity (the hub),
and the hub stack classops deployed. Reads only; one list per kind, paginated.

A user's PVC is found by `component=singleuser-storage` and named by KubeSpawner's
`hub.jupyter.org/username` annotation (never by parsing the claim's name); a claim without it
is kept, since nobody can say whose it is. A user's snapshots are those whose source is the
claim (whatever made them: the nightly backup, a deadline, the final one), and a user's
VolumeSnapshotContents (cluster-scoped: one list) those bound to them, and those left behind by
a `Retain` snapshot that is gone: named by the owner classops wrote on them (the final
snapshot's `hub.jupyter.org/username` annotation), or for older ones by the term index's final
snapshot they were taken for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shared.events import KubeObject
from shared.ports.errors import ApiError
from shared.ports.hub import Hub
from shared.ports.kube import Kube
from shared.ports.s3 import S3
from shared.stack.config import HubSettings
from shared.stack.deploy import TRACKED
from shared.stack.labels import selector, tracking_selector
from shared.teardown.decisions import Content, PodUse, StackObject, UserState, mounts_since
from shared.teardown.protection import Protection
from shared.teardown.term_index import (
    IndexEntry,
    TermIndex,
    TornDown,
    index_key,
    owner_of_record,
    record_key,
)
from shared.termend import archive_checks
from shared.timestamps import kube_time

USER_STORAGE = "component=singleuser-storage"
USERNAME = "hub.jupyter.org/username"
SERVERNAME = "hub.jupyter.org/servername"
SNAPSHOTS = "snapshot.storage.k8s.io/v1"
HUB_DB = "hub-db"  # the index's extras key of the hub database's archive
HUB_DB_CLAIM = "hub-db-dir"
FINISHED = ("Succeeded", "Failed")


@dataclass
class Found:
    states: list[UserState]
    stack: list[StackObject] = field(default_factory=list)
    placeholders: list[tuple[str, str]] = field(default_factory=list)
    index: TermIndex | None = None
    hub_db: IndexEntry | None = None
    hub_db_problem: str = ""
    hub_db_snapshots: list[str] = field(default_factory=list)
    hub_db_contents: list[Content] = field(default_factory=list)


def read_index(s3: S3, prefix: str) -> TermIndex | None:
    try:
        return TermIndex.from_json(s3.get_bytes(index_key(prefix)), index_key(prefix))
    except ApiError as err:
        if err.not_found:
            return None
        raise


def torn_down(s3: S3, prefix: str) -> set[tuple[str, str]]:
    found = (owner_of_record(prefix, o.key) for o in s3.objects(f"{prefix}/teardown/"))
    return {o for o in found if o}


def pods_using_claims(kube: Kube, namespace: str) -> list[PodUse]:
    found = []
    for pod in kube.list("v1", "Pod", namespace):
        claims = tuple(v["persistentVolumeClaim"]["claimName"]
                       for v in (pod.raw.get("spec") or {}).get("volumes") or []
                       if v.get("persistentVolumeClaim"))
        if claims:
            phase = (pod.raw.get("status") or {}).get("phase", "")
            created = kube_time(pod.metadata.get("creationTimestamp")) or datetime.min.replace(
                tzinfo=UTC)
            found.append(PodUse(pod.name, created, claims, phase in FINISHED))
    return found


def _owner(pvc: KubeObject) -> tuple[str, str] | None:
    annotations = pvc.metadata.get("annotations") or {}
    user = annotations.get(USERNAME)
    return (str(user), str(annotations.get(SERVERNAME, ""))) if user else None


def survey(kube: Kube, s3: S3, hub: Hub | None, settings: HubSettings, prefix: str,
           protection: Protection, rehash: bool = True,
           progress: Callable[[str], None] | None = None) -> Found:
    ns = settings.namespace
    index = read_index(s3, prefix)
    entries = index.by_owner() if index else {}
    done = torn_down(s3, prefix)
    claims: dict[tuple[str, str], KubeObject] = {}
    states: list[UserState] = []
    for listed in kube.list("v1", "PersistentVolumeClaim", ns, USER_STORAGE):
        owner = _owner(listed)
        if owner is None:
            states.append(UserState(f"pvc:{listed.name}", claim=listed.name,
                                    claim_uid=listed.uid,
                                    archive_problem=f"pvc {listed.name} has no {USERNAME} "
                                                    "annotation: whose is it?"))
        else:
            claims[owner] = listed
    snapshots: dict[str, list[str]] = {}
    taken_of: dict[str, str] = {}  # a live snapshot's uid -> its claim
    for snap in kube.list(SNAPSHOTS, "VolumeSnapshot", ns):
        source = ((snap.raw.get("spec") or {}).get("source") or {})
        if source.get("persistentVolumeClaimName"):
            snapshots.setdefault(source["persistentVolumeClaimName"], []).append(snap.name)
            taken_of[snap.uid] = source["persistentVolumeClaimName"]
    finals = {e.snapshot: o for o, e in entries.items() if e.snapshot}
    bound, left = contents_of(kube, ns, taken_of, finals)
    pods = pods_using_claims(kube, ns)
    running = {u.name: [s.name for s in u.servers] for u in hub.users()} if hub else {}
    owners = sorted(set(claims) | set(entries))
    # users an earlier teardown finished whose retained contents are left: checked again too
    leftover = {o for o in done if any(c.retained for c in left.get(o, []))}
    checks = _checks(s3, [(o, entries.get(o)) for o in owners
                          if not protection.why(o[0], settings.admins)
                          and (o not in done or o in leftover)],
                     rehash, progress)
    for owner in owners:
        pvc, entry = claims.get(owner), entries.get(owner)
        # a user an earlier teardown finished: only its left-over retained contents matter,
        # and its record says which snapshots that run deleted (one GET, only for those)
        earlier = _record(s3, prefix, owner).deleted if owner in leftover else ()
        claim = pvc.name if pvc else (entry.claim if entry else "")
        since = kube_time(entry.snapshot_at) if entry else None
        protected = protection.why(owner[0], settings.admins)
        finished = owner in done
        check = checks.get(owner, "")
        states.append(UserState(
            owner[0], owner[1], claim=pvc.name if pvc else "", claim_uid=pvc.uid if pvc else "",
            snapshots=tuple(sorted(snapshots.get(claim, ()))) if claim else (), entry=entry,
            contents=tuple((bound.get(claim, []) if claim else []) + left.get(owner, [])),
            archive_problem=check,
            mounts=mounts_since(claim, since, pods, [n for n in running.get(owner[0], ())
                                                      if n == owner[1]]) if claim else (),
            protected=protected, torn_down=finished, torn_down_targets=earlier))
    stack = [StackObject(api_version, kind, o.name, o.uid)
             for api_version, kind in TRACKED["hub"]
             for o in kube.list(api_version, kind, ns, tracking_selector(settings, "hub"))]
    placeholder = ",".join(f"{k}={v}" for k, v in selector(settings, "user-placeholder").items())
    placeholders = [("StatefulSet", o.name) for o in kube.list("apps/v1", "StatefulSet", ns,
                                                               placeholder)]
    hub_db = index.extras.get(HUB_DB) if index else None
    return Found(states, stack, placeholders, index, hub_db,
                 archive_checks.problem(s3, hub_db, rehash) if hub_db else "",
                 sorted(snapshots.get(HUB_DB_CLAIM, ())), bound.get(HUB_DB_CLAIM, []))


def _record(s3: S3, prefix: str, owner: tuple[str, str]) -> TornDown:
    return TornDown.from_json(s3.get_bytes(record_key(prefix, *owner)))


def contents_of(kube: Kube, namespace: str, taken_of: dict[str, str],
                finals: dict[str, tuple[str, str]]) -> tuple[
                    dict[str, list[Content]], dict[tuple[str, str], list[Content]]]:
    """The VolumeSnapshotContents of `namespace`'s snapshots: by the claim of the live snapshot
    each is bound to (`taken_of`: snapshot uid -> claim), and those whose snapshot is gone by
    owner (the owner annotations classops puts on a content it retains, else the index's final
    snapshot it was taken for: `finals`). One with neither is nobody's that we can tell: left."""
    bound: dict[str, list[Content]] = {}
    left: dict[tuple[str, str], list[Content]] = {}
    for found in kube.list(SNAPSHOTS, "VolumeSnapshotContent"):
        spec = found.raw.get("spec") or {}
        ref = spec.get("volumeSnapshotRef") or {}
        if ref.get("namespace") != namespace:
            continue
        content = Content(found.name, found.uid, str(spec.get("deletionPolicy") or ""),
                          f"{namespace}/{ref.get('name', '')}")
        claim = taken_of.get(str(ref.get("uid") or ""))
        if claim:
            bound.setdefault(claim, []).append(content)
            continue
        notes = found.metadata.get("annotations") or {}
        owner = ((str(notes[USERNAME]), str(notes.get(SERVERNAME, ""))) if notes.get(USERNAME)
                 else finals.get(str(ref.get("name") or "")))
        if owner is not None:
            left.setdefault(owner, []).append(content)
    return bound, left


def _checks(s3: S3, todo: list[tuple[tuple[str, str], IndexEntry | None]], rehash: bool,
            progress: Callable[[str], None] | None, jobs: int = 8) -> dict[tuple[str, str], str]:
    """Each archive's check, `jobs` at a time (each is S3 round trips and a streamed read)."""
    found: dict[tuple[str, str], str] = {}
    with ThreadPoolExecutor(jobs, thread_name_prefix="check") as pool:
        for n, (owner, problem) in enumerate(zip(
                [o for o, _ in todo],
                pool.map(lambda item: archive_checks.problem(s3, item[1], rehash), todo),
                strict=True), 1):
            found[owner] = problem
            if progress is not None and n % 100 == 0:
                progress(f"checked {n} of {len(todo)} archives")
    return found


def owners(states: Iterable[UserState]) -> list[str]:
    return [f"{s.user}/{s.server}" if s.server else s.user for s in states]
