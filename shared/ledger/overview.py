"""What `classops status` adds about the students' files: the newest snapshot and copy per
student, who has none, and the PVCs waiting on classops's finalizer (deleted, last snapshot not
taken yet: classops is away or still working). `build` is pure; `read` does the I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.backup import naming
from shared.timestamps import kube_time

from .storage import Ledger

if TYPE_CHECKING:
    from shared.ports.kube import Kube

SHOWN = 20  # students listed by name in the table; -o json has them all


@dataclass(frozen=True)
class Student:
    user: str
    snapshot: str  # its name ("" : none recorded)
    snapshot_at: datetime | None
    copy: str
    copy_at: datetime | None
    failed: str  # the last failure recorded, "" if none


@dataclass(frozen=True)
class Waiting:
    claim: str
    user: str
    age: timedelta  # since its deletion began


@dataclass(frozen=True)
class Overview:
    students: tuple[Student, ...]
    without_snapshot: tuple[str, ...]  # users with a PVC and no snapshot recorded this term
    without_copy: tuple[str, ...]
    waiting: tuple[Waiting, ...]


def build(summary: Mapping[str, Any], pvcs: Iterable[Mapping[str, Any]],
          now: datetime) -> Overview:
    users: Mapping[str, Any] = summary.get("users") or {}
    owners, waiting = set(), []
    for pvc in pvcs:
        volume = naming.Volume.of(pvc)
        if volume is None:
            continue
        meta = pvc.get("metadata") or {}
        began = kube_time(meta.get("deletionTimestamp"))
        if began is not None and naming.FINALIZER in (meta.get("finalizers") or []):
            waiting.append(Waiting(volume.claim, volume.user, now - began))
        elif began is None:
            owners.add(volume.user)
    students = []
    for user in sorted(set(users) | owners):
        entry = users.get(user) or {}
        snap, copy = entry.get("snapshot") or {}, entry.get("copy") or {}
        failed = entry.get("failed") or {}
        students.append(Student(user, snap.get("ref", ""), kube_time(snap.get("at")),
                                copy.get("ref", ""), kube_time(copy.get("at")),
                                f"{failed.get('what', '')}: {failed.get('detail', '')}"
                                if failed else ""))
    return Overview(tuple(students),
                    tuple(s.user for s in students if s.user in owners and not s.snapshot),
                    tuple(s.user for s in students if s.user in owners and not s.copy),
                    tuple(sorted(waiting, key=lambda w: -w.age.total_seconds())))


def _age(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "-"
    seconds = max(0, int((now - at).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def lines(o: Overview, now: datetime) -> list[str]:
    out = [f"students:             {len(o.students)}; without a snapshot: "
           f"{len(o.without_snapshot)}; without a copy: {len(o.without_copy)}"]
    if o.without_snapshot:
        shown = ", ".join(o.without_snapshot[:SHOWN])
        more = len(o.without_snapshot) - SHOWN
        out.append(f"  no snapshot: {shown}{f' (+{more} more)' if more > 0 else ''}")
    rows = [("STUDENT", "NEWEST SNAPSHOT", "WHEN", "NEWEST COPY", "WHEN", "LAST FAILURE")]
    rows += [(s.user, s.snapshot or "-", _age(s.snapshot_at, now), s.copy or "-",
              _age(s.copy_at, now), s.failed or "-") for s in o.students[:SHOWN]]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    out += ["  " + "  ".join(c.ljust(w) for c, w in zip(r[:5], widths, strict=True)) + "  "
            + r[5] for r in rows]
    if len(o.students) > SHOWN:
        out.append(f"  ... {len(o.students) - SHOWN} more (-o json lists all)")
    out.append(f"PVCs waiting on classops: {len(o.waiting)}" + (
        " (deleted; their last snapshot is not taken yet)" if o.waiting else ""))
    out += [f"  {w.claim} ({w.user}), deleted {_age(now - w.age, now)}" for w in o.waiting]
    return out


def as_dict(o: Overview) -> dict[str, Any]:
    def at(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {"students": [{"user": s.user, "snapshot": s.snapshot, "snapshot_at":
                          at(s.snapshot_at), "copy": s.copy, "copy_at": at(s.copy_at),
                          "failed": s.failed} for s in o.students],
            "without_snapshot": list(o.without_snapshot), "without_copy": list(o.without_copy),
            "waiting": [{"claim": w.claim, "user": w.user, "age_seconds":
                         w.age.total_seconds()} for w in o.waiting]}


def read(kube: Kube, namespace: str, ledger: Ledger | None, now: datetime) -> Overview:
    pvcs = [o.raw for o in kube.list("v1", "PersistentVolumeClaim", namespace,
                                     f"{naming.COMPONENT}={naming.STORAGE}")]
    return build(ledger.summary() if ledger is not None else {}, pvcs, now)
