"""Lists: selectors, pagination over a consistent snapshot, and the list's resourceVersion.

A page after the first reads the state at the first page's revision (the store keeps the
history), so objects changed in between show as they were; a continue token older than the
kept history is 410 Expired. `resourceVersion` with `resourceVersionMatch=Exact` reads the past,
`NotOlderThan` (or no match) the present; a version from the future is 504 Timeout.
https://kubernetes.io/docs/reference/using-api/api-concepts/#retrieving-large-results-sets-in-chunks
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime

from .resources import FIELD_LABELS, Resource
from .routes import Route
from .selectors import SelectorError, compile_filter
from .store import ApiError, Obj, Store
from .tables import table


def encode_continue(rv: int, start: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start + "\x00"})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return int(raw["rv"]), str(raw["start"]).rstrip("\x00")
    except (ValueError, KeyError, TypeError) as exc:
        raise ApiError(400, "BadRequest", f"continue key is not valid: {exc}") from exc


def selection(res: Resource, query: dict[str, str]) -> Callable[[Obj], bool]:
    try:
        return compile_filter(query.get("labelSelector"), query.get("fieldSelector"),
                              FIELD_LABELS.get(res.plural, ()))
    except SelectorError as exc:
        raise ApiError(400, "BadRequest", str(exc)) from exc


def list_item(res: Resource, obj: Obj) -> Obj:
    if res.custom:
        return obj
    # Built-in lists carry kind and apiVersion once, on the list, not on each item.
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def _revision(store: Store, query: dict[str, str], limit: int) -> tuple[int, str]:
    """(the revision to read at, the key to start after) for this request."""
    token = query.get("continue", "")
    rv_param, match = query.get("resourceVersion", ""), query.get("resourceVersionMatch", "")
    with store.lock:
        current = store.revision
    if token and rv_param:
        raise ApiError(400, "BadRequest",
                       "specifying resource version is not allowed when using continue")
    if token:
        at, start = decode_continue(token)
        if at < store.compacted_revision:
            raise ApiError(410, "Expired", "The provided continue parameter is too old to "
                           "display a consistent list result. You can start a new list "
                           "without the continue parameter.")
        return at, start
    if rv_param in ("", "0"):
        return current, ""
    try:
        wanted = int(rv_param)
    except ValueError:
        raise ApiError(400, "BadRequest", f"invalid resource version {rv_param!r}") from None
    if wanted > current:
        raise ApiError(504, "Timeout", f"Too large resource version: {wanted}, current: "
                       f"{current}", {"causes": [{"reason": "ResourceVersionTooLarge",
                                                 "message": "Too large resource version"}]})
    exact = match == "Exact" or (limit and not match)
    return (wanted if exact else current), ""


def list_body(store: Store, route: Route, query: dict[str, str], accept: str,
              now: datetime) -> Obj:
    """The answer to a list: a `<Kind>List`, or a Table when kubectl asks for one."""
    res = route.resource
    keep = selection(res, query)
    limit = int(query.get("limit") or 0)
    at, start = _revision(store, query, limit)
    pairs = store.items(res.key, route.namespace or None, at=at)
    matching = [(k, o) for k, o in pairs if keep(o) and (not start or f"{k[0]}/{k[1]}" > start)]
    meta: Obj = {"resourceVersion": str(at)}
    page = matching
    if limit and len(matching) > limit:
        page = matching[:limit]
        last = page[-1][0]
        meta["continue"] = encode_continue(at, f"{last[0]}/{last[1]}")
        if not query.get("labelSelector") and not query.get("fieldSelector"):
            meta["remainingItemCount"] = len(matching) - limit
    objects = [o for _, o in page]
    if "as=Table" in accept:
        return table(res.key, objects, meta, now, query.get("includeObject", "Metadata"))
    return {"kind": res.kind + "List", "apiVersion": res.api_version, "metadata": meta,
            "items": [list_item(res, o) for o in objects]}
