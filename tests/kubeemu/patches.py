"""PATCH bodies: JSON Patch (RFC 6902, by the `jsonpatch` library), JSON Merge Patch (RFC 7386)
and strategic merge patch (the official client's default for a dict body).

Strategic merge follows
https://github.com/kubernetes/community/blob/master/contributors/devel/sig-api-machinery/strategic-merge-patch.md:
lists whose schema says `x-kubernetes-patch-strategy: merge` are merged by their
`x-kubernetes-patch-merge-key` (containers and env by `name`), `$patch: delete|replace` directives,
`$deleteFromPrimitiveList/<field>`, and `$setElementOrder/<field>` (accepted, order kept as is).
Custom resources have no strategic schema: 415, as on a real server. Server-side apply is the next
test bed's ("Test bed 2").
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch

from . import discovery
from .resources import Resource
from .store import ApiError, Obj

Schema = dict[str, Any]

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def resolve_schema(schema: Schema | None) -> Schema:
    """Follow $ref and a single-reference allOf to the schema itself."""
    defs = discovery.definitions()
    while schema:
        if "$ref" in schema:
            schema = defs.get(schema["$ref"].rsplit("/", 1)[-1], {})
        elif len(schema.get("allOf", [])) == 1:
            schema = schema["allOf"][0]
        else:
            return schema
    return {}


def kind_schema(res: Resource) -> Schema:
    return discovery.kind_schema(res.group, res.version, res.kind)


def _merge_list(orig: list[Any], patch: list[Any], key: str, item_schema: Schema) -> list[Any]:
    if any(isinstance(p, dict) and p.get("$patch") == "replace" for p in patch):
        return [p for p in patch if not (isinstance(p, dict) and "$patch" in p)]
    if not key:  # a merged list of primitives: union, in order
        return orig + [p for p in patch if p not in orig]
    out = list(orig)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise ApiError(400, "BadRequest", f"map: {item} does not contain declared merge key: "
                           f"{key}")
        index = next((i for i, o in enumerate(out)
                      if isinstance(o, dict) and o.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                out.pop(index)
        elif index is None:
            out.append(strategic_merge({}, item, item_schema))
        else:
            out[index] = strategic_merge(out[index], item, item_schema)
    return out


def strategic_merge(orig: Any, patch: Any, schema: Schema | None) -> Any:
    if not isinstance(patch, dict) or not isinstance(orig, dict):
        return copy.deepcopy(patch)
    schema = resolve_schema(schema)
    if patch.get("$patch") == "replace":
        return {k: v for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return {}
    props = schema.get("properties") or {}
    out = dict(orig)
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$patch", "$retainKeys"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            out[field] = [v for v in out.get(field) or [] if v not in value]
            continue
        sub = props.get(key) or schema.get("additionalProperties")
        sub = sub if isinstance(sub, dict) else {}
        if value is None:
            out.pop(key, None)
        elif isinstance(value, list) and "merge" in (sub.get("x-kubernetes-patch-strategy") or ""):
            out[key] = _merge_list(out.get(key) or [], value,
                                   sub.get("x-kubernetes-patch-merge-key", ""),
                                   resolve_schema(sub).get("items") or {})
        elif isinstance(value, dict):
            out[key] = strategic_merge(out.get(key) if isinstance(out.get(key), dict) else {},
                                       value, sub)
        else:
            out[key] = copy.deepcopy(value)
    return out


def apply_patch(current: Obj, raw: bytes, content_type: str, res: Resource,
                builtin: bool) -> Obj:
    accepted = [JSON_PATCH, MERGE_PATCH] + ([STRATEGIC] if builtin else [])
    if content_type not in accepted:
        raise ApiError(415, "UnsupportedMediaType",
                       f"the body of the request was in an unknown format - accepted media "
                       f"types include: {', '.join(accepted)}")
    try:
        patch = json.loads(raw or b"null")
    except ValueError as exc:
        raise ApiError(400, "BadRequest", f"error decoding patch: {exc}") from exc
    if content_type in (MERGE_PATCH, STRATEGIC) and not isinstance(patch, dict):
        raise ApiError(400, "BadRequest", "a merge patch must be a JSON object")
    if content_type == MERGE_PATCH:
        return merge_patch(current, patch)
    if content_type == STRATEGIC:
        return strategic_merge(current, patch, kind_schema(res))
    try:
        return jsonpatch.apply_patch(current, patch)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as exc:
        raise ApiError(422, "Invalid", f"the server rejected our request due to an error in our "
                       f"request: {exc}") from exc
