"""The deploy plan, computed purely: what is rendered against what is live.

Each object is one `Entry`: `create` (absent), `change` (the server's dry-run apply differs from
what is live: a new config, or drift made by hand in a field classops owns, which the apply
repairs), `unchanged`, `orphaned` (classops rendered it before, by its labels, and renders it no
more) or `delete` (an orphan under `--prune`). PVCs, Secrets and Namespaces are never deleted:
they hold data or credentials and stay `orphaned`. Generated secrets are `create` or `kept`.
Other managers owning part of the spec (hand edits) are named in the entry's detail.
Container ports name their protocol: server-side apply merges them by (containerPort,
protocol), so a port without it would be added again next to the defaulted one.

`actions()` turns a plan into the executor's Actions, so `classops deploy` and the `term.start`
handler act through the same code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from shared.actions.model import (
    WARMUP_MANAGER,
    Action,
    ApplyManifest,
    CreateObject,
    DeleteObject,
    ScaleWorkload,
)

Verb = Literal["create", "change", "unchanged", "orphaned", "delete", "kept"]
NEVER_PRUNED = frozenset({"PersistentVolumeClaim", "Secret", "Namespace"})
OUR_MANAGERS = frozenset({"classops", WARMUP_MANAGER})
IGNORED_META = ("resourceVersion", "managedFields", "generation", "uid", "creationTimestamp",
                "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds")


@dataclass(frozen=True)
class Entry:
    verb: Verb
    api_version: str
    kind: str
    name: str
    namespace: str = ""
    detail: str = ""
    manifest: Mapping[str, Any] | None = field(default=None, compare=False)

    @property
    def target(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind.lower()} {where}{self.name}"

    def as_dict(self) -> dict[str, str]:
        return {"verb": self.verb, "apiVersion": self.api_version, "kind": self.kind,
                "namespace": self.namespace, "name": self.name, "detail": self.detail}


def key(obj: Mapping[str, Any]) -> tuple[str, str, str, str]:
    meta = obj.get("metadata") or {}
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return group, str(obj.get("kind", "")), meta.get("namespace", ""), meta.get("name", "")


def _strip(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in IGNORED_META}
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": meta}


def diff(before: Any, after: Any, path: str = "") -> list[str]:
    """Paths where two objects differ (lists compared whole, element paths indexed)."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        found: list[str] = []
        for k in sorted(set(before) | set(after)):
            found += diff(before.get(k), after.get(k), f"{path}.{k}" if path else str(k))
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [p for i, (b, a) in enumerate(zip(before, after, strict=True))
                for p in diff(b, a, f"{path}[{i}]")]
    return [] if before == after else [path]


def drift(live: Mapping[str, Any]) -> list[str]:
    """Other managers owning part of the spec (not its replicas, which the warm-up owns):
    hand edits. Controllers write status and annotations, never the spec."""
    found = []
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        manager = str(entry.get("manager", ""))
        if entry.get("subresource") or manager in OUR_MANAGERS:
            continue
        spec = (entry.get("fieldsV1") or {}).get("f:spec") or {}
        if any(k not in (".", "f:replicas") for k in spec):
            found.append(manager)
    return sorted(set(found))


def classify(manifest: Mapping[str, Any], live: Mapping[str, Any] | None,
             dry_run: Mapping[str, Any] | None) -> Entry:
    """One rendered object against its live self and the server's dry-run apply of it."""
    meta = manifest["metadata"]
    base = (manifest["apiVersion"], manifest["kind"], meta["name"], meta.get("namespace", ""))
    if live is None:
        return Entry("create", *base, manifest=manifest)
    changed = diff(_strip(live), _strip(dry_run or live))
    others = drift(live)
    note = f"also edited by {', '.join(others)}" if others else ""
    if changed:
        shown = ", ".join(changed[:3]) + (f" (+{len(changed) - 3})" if len(changed) > 3 else "")
        return Entry("change", *base, "; ".join(filter(None, [shown, note])), manifest)
    return Entry("unchanged", *base, note, manifest)


def orphans(rendered: Iterable[Mapping[str, Any]], tracked: Iterable[Mapping[str, Any]],
            prune: bool) -> list[Entry]:
    """Objects carrying our labels that are no longer rendered."""
    wanted = {key(m) for m in rendered}
    found = []
    for live in tracked:
        if key(live) in wanted:
            continue
        meta = live.get("metadata") or {}
        base = (str(live.get("apiVersion")), str(live.get("kind")), meta.get("name", ""),
                meta.get("namespace", ""))
        if prune and live.get("kind") not in NEVER_PRUNED:
            found.append(Entry("delete", *base, "no longer rendered", live))
        else:
            why = "never pruned" if live.get("kind") in NEVER_PRUNED else "use --prune to delete"
            found.append(Entry("orphaned", *base, why, live))
    return found


def actions(entries: Sequence[Entry], secrets: Sequence[Mapping[str, Any]] = ()
            ) -> list[Action]:
    """Secrets first (pods need them), then every rendered object, then deletions.

    A placeholder StatefulSet created now defaults to 1 replica; it is scaled to 0 as the
    warm-up's field manager, once, so that the count stays the warm-up's alone."""
    done: list[Action] = [CreateObject(s) for s in secrets]
    done += [ApplyManifest(e.manifest) for e in entries
             if e.verb in ("create", "change", "unchanged") and e.manifest is not None]
    for e in entries:
        if e.verb == "create" and e.kind == "StatefulSet" and e.name == "user-placeholder":
            done.append(ScaleWorkload(e.namespace, e.name, 0))
    done += [DeleteObject(e.api_version, e.kind, e.name, e.namespace,
                          str(((e.manifest or {}).get("metadata") or {}).get("uid", "")))
             for e in entries if e.verb == "delete"]
    return done


def table(entries: Sequence[Entry]) -> str:
    rows = [("PLAN", "OBJECT", "DETAIL")] + [(e.verb, e.target, e.detail) for e in entries]
    width = [max(len(r[i]) for r in rows) for i in range(2)]
    lines = [f"{r[0]:<{width[0]}}  {r[1]:<{width[1]}}  {r[2]}".rstrip() for r in rows]
    counts = {v: sum(1 for e in entries if e.verb == v) for v in
              ("create", "change", "unchanged", "orphaned", "delete", "kept")}
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    return "\n".join([*lines, f"# {summary or 'nothing rendered'}"])
