"""Server-side apply and the bookkeeping of `metadata.managedFields`.

Every write records who set which fields: an Update entry per manager for create, update and
patch, an Apply entry for server-side apply. Apply merges the applied configuration into the live
object (associative lists by their keys, sets by value, atomic lists whole), removes the fields
its manager applied last time and no longer applies (unless someone else owns them), and refuses
with 409 Conflict to change a field another manager owns unless `force=true`, which takes it over.
https://kubernetes.io/docs/reference/using-api/server-side-apply/
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from .fields import (
    MISSING,
    Path,
    dotted,
    field_set,
    from_fields_v1,
    item_key,
    list_keys,
    remove_at,
    to_fields_v1,
    value_at,
)
from .patches import resolve_schema
from .store import ApiError, Obj

Schema = dict[str, Any]


@dataclass
class Entry:
    manager: str
    operation: str  # Apply | Update
    api_version: str
    subresource: str = ""
    paths: set[Path] = field(default_factory=set)
    time: str = ""

    def to_dict(self) -> Obj:
        out: Obj = {"manager": self.manager, "operation": self.operation,
                    "apiVersion": self.api_version, "time": self.time,
                    "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(self.paths)}
        if self.subresource:
            out["subresource"] = self.subresource
        return out


def read_entries(obj: Obj | None) -> list[Entry]:
    out = []
    for raw in ((obj or {}).get("metadata") or {}).get("managedFields") or []:
        out.append(Entry(raw.get("manager", ""), raw.get("operation", "Update"),
                         raw.get("apiVersion", ""), raw.get("subresource", ""),
                         from_fields_v1(raw.get("fieldsV1") or {}), raw.get("time", "")))
    return out


def _entry(entries: list[Entry], manager: str, operation: str, api_version: str,
           subresource: str) -> Entry:
    for e in entries:
        if (e.manager, e.operation, e.subresource) == (manager, operation, subresource):
            e.api_version = api_version
            return e
    e = Entry(manager, operation, api_version, subresource)
    entries.append(e)
    return e


def _store(obj: Obj, entries: list[Entry]) -> Obj:
    kept = [e.to_dict() for e in entries if e.paths]
    obj["metadata"]["managedFields"] = kept
    if not kept:
        del obj["metadata"]["managedFields"]
    return obj


def track_update(old: Obj | None, new: Obj, manager: str, subresource: str, schema: Schema,
                 has_status: bool, now: str) -> Obj:
    """Give `manager` the fields this write changed; nobody keeps a field it removed."""
    part = "status" if subresource == "status" else "main"
    before = field_set(old, schema, part, has_status) if old else set()
    after = field_set(new, schema, part, has_status)
    changed = {p for p in after
               if p not in before or value_at(old, p, schema) != value_at(new, p, schema)}
    removed = before - after
    entries = read_entries(old)
    for e in entries:
        e.paths -= changed | removed
    if changed:
        mine = _entry(entries, manager, "Update", new.get("apiVersion", ""), subresource)
        mine.paths |= changed
        mine.time = now
    return _store(new, entries)


def merge(live: Any, applied: Any, schema: Schema) -> Any:
    if isinstance(applied, dict) and isinstance(live, dict):
        sch = resolve_schema(schema)
        props = sch.get("properties") or {}
        extra = sch.get("additionalProperties")
        out = dict(live)
        for key, value in applied.items():
            sub = props.get(key) or (extra if isinstance(extra, dict) else {})
            out[key] = merge(live.get(key), value, sub)
        return out
    if isinstance(applied, list) and isinstance(live, list):
        kind, keys = list_keys(schema)
        items = resolve_schema(schema).get("items") or {}
        if kind == "map":
            out_list = list(live)
            for item in applied:
                key = item_key(item, keys)
                at = next((i for i, o in enumerate(out_list) if item_key(o, keys) == key), None)
                if at is None:
                    out_list.append(copy.deepcopy(item))
                else:
                    out_list[at] = merge(out_list[at], item, items)
            return out_list
        if kind == "set":
            return live + [v for v in applied if v not in live]
    return copy.deepcopy(applied)


def _conflict(conflicts: list[tuple[Path, str, str]]) -> ApiError:
    """The apiserver's message: one line for one conflict, grouped by manager otherwise."""
    causes = [{"reason": "FieldManagerConflict", "message": f'conflict with "{m}" using {v}',
               "field": dotted(p)} for p, m, v in conflicts]
    if len(conflicts) == 1:
        text = f"{causes[0]['message']}: {causes[0]['field']}"
    else:
        by_manager: dict[str, list[str]] = {}
        for p, m, v in conflicts:
            by_manager.setdefault(f'"{m}" using {v}', []).append(dotted(p))
        parts = []
        for who, paths in by_manager.items():
            listed = f": {paths[0]}" if len(paths) == 1 else ":" + "".join(
                f"\n- {p}" for p in paths)
            parts.append(f"conflicts with {who}{listed}")
        text = "\n".join(parts)
    noun = "conflict" if len(causes) == 1 else "conflicts"
    return ApiError(409, "Conflict", f"Apply failed with {len(causes)} {noun}: {text}",
                    {"causes": causes})


def server_side_apply(live: Obj | None, applied: Obj, manager: str, force: bool,
                      schema: Schema, has_status: bool, now: str) -> Obj:
    """The object after applying `applied` as `manager` (managedFields included)."""
    applied = copy.deepcopy(applied)
    if has_status:
        applied.pop("status", None)
    entries = read_entries(live)
    base: Obj = copy.deepcopy(live) if live else {"metadata": {}}
    new_paths = field_set(applied, schema, "main", has_status)
    mine = _entry(entries, manager, "Apply", applied.get("apiVersion", ""), "")
    previous = set(mine.paths)
    conflicts = []
    for path in sorted(new_paths):
        if path[-1].startswith("k:"):
            continue  # an item is shared; its leaves are what conflict
        theirs = value_at(base, path, schema)
        if theirs is MISSING or theirs == value_at(applied, path, schema):
            continue
        for e in entries:
            if e is not mine and path in e.paths:
                conflicts.append((path, e.manager, e.api_version))
    if conflicts and not force:
        raise _conflict(conflicts)
    for path, owner, _ in conflicts:
        for e in entries:
            if e.manager == owner and e is not mine:
                e.paths.discard(path)
    merged = merge(base, applied, schema)
    others = set().union(*(e.paths for e in entries if e is not mine))
    for path in sorted(previous - new_paths, key=len, reverse=True):
        if path not in others and not any(o[:len(path)] == path for o in others):
            remove_at(merged, path, schema)
    mine.paths = new_paths
    mine.time = now
    merged["metadata"] = {**merged.get("metadata", {})}
    return _store(merged, entries)
