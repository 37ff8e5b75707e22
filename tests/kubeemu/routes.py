"""Where a request goes: resource paths parsed into a Route, and the Kubernetes verb it asks for.

Paths follow https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-uris:
`/api/v1/...` and `/apis/<group>/<version>/...`, namespaced or cluster-wide, with the legacy
`/watch/` prefix still understood.
"""

from __future__ import annotations

from dataclasses import dataclass

from .resources import Catalogue, Resource
from .store import ApiError


def query_bool(query: dict[str, str], name: str) -> bool:
    """A boolean query parameter as the apiserver reads it (Convert_Slice_string_To_bool):
    absent, "0" or "false" in any case is false, anything else is true; so the "True" that
    kubernetes_asyncio sends for `watch=True` is true, as for the official client's "true"."""
    value = query.get(name)
    return value is not None and value != "0" and value.lower() != "false"


@dataclass(frozen=True)
class Route:
    resource: Resource
    namespace: str  # "" when not namespaced or across all namespaces
    name: str = ""
    subresource: str = ""
    legacy_watch: bool = False


def not_found_path() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def method_not_allowed() -> ApiError:
    return ApiError(405, "MethodNotAllowed",
                    "the server does not allow this method on the requested resource", {})


def parse_route(catalogue: Catalogue, path: str) -> Route | None:
    """None for non-resource paths (discovery, OpenAPI, version, health)."""
    segs = [s for s in path.split("/") if s]
    if segs[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", segs[2:]
    elif len(segs) >= 3 and segs[0] == "apis":
        group, version, rest = segs[1], segs[2], segs[3:]
    else:
        return None
    if not rest:
        return None
    legacy_watch = rest[0] == "watch"
    if legacy_watch:
        rest = rest[1:]
    namespace = ""
    if rest and rest[0] == "namespaces" and len(rest) >= 3:
        candidate = catalogue.find(group, version, rest[2])
        if candidate is not None and candidate.namespaced:
            namespace, rest = rest[1], rest[2:]
    res = catalogue.find(group, version, rest[0]) if rest else None
    if res is None or len(rest) > 3:
        raise not_found_path()
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    if sub and sub not in res.subresources:
        raise not_found_path()
    return Route(res, namespace, name, sub, legacy_watch)


def verb_of(method: str, route: Route | None, query: dict[str, str]) -> str:
    if route is None:
        return method.lower()
    if method == "GET":
        if route.name:
            return "get"
        return "watch" if route.legacy_watch or query_bool(query, "watch") else "list"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    return "delete" if route.name else "deletecollection"
