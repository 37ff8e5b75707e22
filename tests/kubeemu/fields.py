"""Field sets: which fields of an object a manager owns, as `metadata.managedFields` records them.

A path is a tuple of FieldsV1 elements: `f:<name>` for a map key, `k:{"name":"web"}` for an item of
an associative list (`x-kubernetes-list-type: map`, or a strategic merge key), `v:<json>` for a
member of a set-list, `i:<n>` never (atomic lists are owned whole). A set holds the leaves and the
associative items themselves. See
https://kubernetes.io/docs/reference/using-api/server-side-apply/#field-management.
"""

from __future__ import annotations

import json
from typing import Any

from .patches import resolve_schema

Path = tuple[str, ...]
Schema = dict[str, Any]
MISSING = object()

# Fields the server manages and nobody owns.
_META_SKIP = {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
              "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds",
              "generateName"}


def _sub(schema: Schema, key: str) -> Schema:
    schema = resolve_schema(schema)
    props = schema.get("properties") or {}
    if key in props:
        return props[key]
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, dict) else {}


def list_keys(schema: Schema) -> tuple[str, list[str]]:
    """('map', keys) for associative lists, ('set', []) for sets, ('atomic', []) otherwise."""
    schema = resolve_schema(schema)
    kind = schema.get("x-kubernetes-list-type")
    if kind == "map" or (kind is None and schema.get("x-kubernetes-patch-merge-key")
                         and "merge" in (schema.get("x-kubernetes-patch-strategy") or "")):
        keys = schema.get("x-kubernetes-list-map-keys") or [schema["x-kubernetes-patch-merge-key"]]
        return "map", list(keys)
    if kind == "set" or (kind is None and "merge" in (schema.get("x-kubernetes-patch-strategy")
                                                      or "")):
        return "set", []
    return "atomic", []


# Key fields with a default in the API's OpenAPI (the schemas we load leave `default` out): an
# applied `{containerPort: 80}` is the same item as the stored `{containerPort: 80, protocol: TCP}`.
KEY_DEFAULTS = {"protocol": "TCP"}


def item_key(item: Any, keys: list[str]) -> str:
    item = item if isinstance(item, dict) else {}
    fields = {k: item.get(k, KEY_DEFAULTS.get(k)) for k in keys
              if k in item or k in KEY_DEFAULTS}
    return "k:" + json.dumps(fields, sort_keys=True, separators=(",", ":"))


def _walk(value: Any, schema: Schema, prefix: Path, out: set[Path]) -> None:
    if isinstance(value, dict) and value:
        for key, sub in value.items():
            _walk(sub, _sub(schema, key), (*prefix, f"f:{key}"), out)
    elif isinstance(value, list) and value:
        kind, keys = list_keys(schema)
        items = resolve_schema(schema).get("items") or {}
        if kind == "map":
            for item in value:
                path = (*prefix, item_key(item, keys))
                out.add(path)
                _walk(item, items, path, out)
        elif kind == "set":
            out.update((*prefix, "v:" + json.dumps(v, separators=(",", ":"))) for v in value)
        else:
            out.add(prefix)
    else:
        out.add(prefix)


def field_set(obj: dict[str, Any], schema: Schema, part: str = "main",
              has_status: bool = True) -> set[Path]:
    """The fields an object sets: the whole object but identity (part="main", status left out
    where a status subresource exists), or its status (part="status")."""
    out: set[Path] = set()
    if part == "status":
        if obj.get("status"):
            _walk(obj["status"], _sub(schema, "status"), ("f:status",), out)
        return out
    for key, value in obj.items():
        if key in ("apiVersion", "kind") or (key == "status" and has_status):
            continue
        if key == "metadata":
            meta = {k: v for k, v in (value or {}).items() if k not in _META_SKIP}
            if meta:
                _walk(meta, _sub(schema, "metadata"), ("f:metadata",), out)
            continue
        _walk(value, _sub(schema, key), (f"f:{key}",), out)
    return out


def value_at(obj: Any, path: Path, schema: Schema) -> Any:
    cur: Any = obj
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f":
            if not isinstance(cur, dict) or rest not in cur:
                return MISSING
            cur, schema = cur[rest], _sub(schema, rest)
        elif isinstance(cur, list):
            _, keys = list_keys(schema)
            items = resolve_schema(schema).get("items") or {}
            if kind == "k":
                match = [i for i in cur if item_key(i, keys) == element]
                if not match:
                    return MISSING
                cur, schema = match[0], items
            else:  # "v": a set member
                wanted = json.loads(rest)
                return wanted if wanted in cur else MISSING
        else:
            return MISSING
    return cur


def remove_at(obj: dict[str, Any], path: Path, schema: Schema) -> None:
    """Delete what `path` names from obj, in place (a key, an associative item, a set member)."""
    parent = value_at(obj, path[:-1], schema) if len(path) > 1 else obj
    if parent is MISSING:
        return
    last = path[-1]
    kind, _, rest = last.partition(":")
    if kind == "f" and isinstance(parent, dict):
        parent.pop(rest, None)
    elif isinstance(parent, list):
        parent_schema = schema
        for element in path[:-1]:
            if element.startswith("f:"):
                parent_schema = _sub(parent_schema, element[2:])
            else:
                parent_schema = resolve_schema(parent_schema).get("items") or {}
        _, keys = list_keys(parent_schema)
        if kind == "k":
            parent[:] = [i for i in parent if item_key(i, keys) != last]
        elif kind == "v":
            parent[:] = [i for i in parent if i != json.loads(rest)]


def to_fields_v1(paths: set[Path]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path in sorted(paths):
        node = root
        for element in path:
            node = node.setdefault(element, {})
    for path in paths:  # an owned item that also has owned fields is marked with "."
        node = root
        for element in path:
            node = node[element]
        if node:
            node["."] = {}
    return root


def from_fields_v1(tree: dict[str, Any], prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for element, sub in tree.items():
        if element == ".":
            out.add(prefix)
            continue
        path = (*prefix, element)
        if sub:
            out |= from_fields_v1(sub, path)
        else:
            out.add(path)
    return out


def dotted(path: Path) -> str:
    """`.spec.replicas`, `.spec.containers[name="web"].image`, as conflict messages print it."""
    out = ""
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f":
            out += f".{rest}"
        elif kind == "k":
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(rest).items()) + "]"
        else:
            out += f"[={rest}]"
    return out
