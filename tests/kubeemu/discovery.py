"""Discovery and OpenAPI documents, built from the resource catalogue.

`/version`, `/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>` follow the legacy (unaggregated)
discovery format, which kubectl and the official client fall back to when a server does not offer
aggregated discovery. `/openapi/v3` serves one OpenAPI 3.0 document per group-version, converted
from the JSON schemas the `kubernetes-validate` package ships for 1.33 (with their
`x-kubernetes-*` extensions, which kubectl reads for strategic merge patches).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .resources import Catalogue, Resource

KUBE_VERSION = (1, 33, 4)


def version_info() -> dict[str, str]:
    major, minor, patch = KUBE_VERSION
    return {
        "major": str(major), "minor": str(minor), "emulationMajor": str(major),
        "emulationMinor": str(minor), "minCompatibilityMajor": str(major),
        "minCompatibilityMinor": str(minor - 1), "gitVersion": f"v{major}.{minor}.{patch}",
        "gitCommit": "0" * 40, "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0", "compiler": "gc", "platform": "linux/amd64",
    }


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


_SUBRESOURCE_KINDS = {
    "scale": ("autoscaling", "v1", "Scale", ("get", "patch", "update")),
    "binding": ("", "v1", "Binding", ("create",)),
    "eviction": ("policy", "v1", "Eviction", ("create",)),
    "token": ("authentication.k8s.io", "v1", "TokenRequest", ("create",)),
    "finalize": ("", "", "", ("update",)),
    "log": ("", "", "", ("get",)),
    "status": ("", "", "", ("get", "patch", "update")),
}


def api_resource_list(catalogue: Catalogue, group: str, version: str) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    for r in catalogue.in_group_version(group, version):
        entry: dict[str, Any] = {
            "name": r.plural, "singularName": r.singular_name, "namespaced": r.namespaced,
            "kind": r.kind, "verbs": list(r.verbs), "storageVersionHash": _hash(r.key)[:12],
        }
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        entries.append(entry)
        for sub in r.subresources:
            g, v, kind, verbs = _SUBRESOURCE_KINDS[sub]
            sub_entry: dict[str, Any] = {"name": f"{r.plural}/{sub}", "singularName": "",
                                         "namespaced": r.namespaced, "kind": kind or r.kind,
                                         "verbs": list(verbs)}
            if kind:
                sub_entry.update(group=g, version=v)
            entries.append(sub_entry)
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version, "resources": entries}


def api_versions() -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}]}


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    gvs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": gvs, "preferredVersion": gvs[0]}


def api_group(catalogue: Catalogue, name: str) -> dict[str, Any] | None:
    versions = catalogue.group_versions().get(name)
    if not name or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def api_group_list(catalogue: Catalogue) -> dict[str, Any]:
    groups = [_group(g, vs) for g, vs in catalogue.group_versions().items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


# -- OpenAPI v3 -------------------------------------------------------------------------------
def _schema_dir() -> Path:
    import kubernetes_validate

    root = Path(os.path.dirname(kubernetes_validate.__file__)) / "kubernetes-json-schema"
    major, minor, _ = KUBE_VERSION
    return root / f"v{major}.{minor}.0-local"


_SCHEMA_LISTS = ("oneOf", "anyOf", "allOf")


def to_openapi(schema: Any) -> Any:
    """JSON-schema style (type lists with null, `$defs`) to OpenAPI 3.0 (`nullable`, components)."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("$schema", "$id"):
            continue
        if key == "$ref":
            out[key] = value.replace("#/$defs/", "#/components/schemas/")
        elif key == "type" and isinstance(value, list):
            kinds = [t for t in value if t != "null"]
            out[key] = kinds[0] if len(kinds) == 1 else kinds
        elif key == "properties":
            out[key] = {name: to_openapi(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = to_openapi(value)
        elif key in _SCHEMA_LISTS:
            out[key] = [to_openapi(sub) for sub in value]
        else:
            out[key] = value
    if "$ref" in out and len(out) > 1:
        # OpenAPI 3.0 ignores siblings of $ref; the apiserver wraps the reference in allOf.
        out = {"allOf": [{"$ref": out.pop("$ref")}], **out}
    return out


_SPECIAL = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString":
        {"type": "string", "format": "int-or-string", "x-kubernetes-int-or-string": True},
    "io.k8s.apimachinery.pkg.api.resource.Quantity":
        {"type": "string", "format": "quantity", "x-kubernetes-int-or-string": True},
}


@functools.lru_cache(maxsize=1)
def _builtin_definitions() -> dict[str, Any]:
    raw = json.loads((_schema_dir() / "_definitions.json").read_text())["$defs"]
    defs = {name: to_openapi(schema) for name, schema in raw.items()}
    defs.update(_SPECIAL)
    return defs


# CRD schemas, by definition name. Process-wide like the built-in ones: an emulator that
# registers a CRD's schema makes it known to every emulator of the process (each still serves
# only the resources its own CRDs define).
_custom: dict[str, Any] = {}
_merged: dict[str, Any] = {}


def definitions() -> dict[str, Any]:
    global _merged
    if not _merged:
        _merged = {**_builtin_definitions(), **_custom}
    return _merged


def register_crd_schema(group: str, version: str, kind: str, schema: dict[str, Any]) -> None:
    global _merged
    rev = ".".join(reversed(group.split(".")))
    name = f"{rev}.{version}.{kind}"
    schema = {**schema, "x-kubernetes-group-version-kind": [
        {"group": group, "version": version, "kind": kind}]}
    if _custom.get(name) == schema:
        return
    _custom[name] = schema
    _merged = {}
    _schema_index.cache_clear()
    openapi_v3_document.cache_clear()


@functools.cache
def _schema_index() -> dict[tuple[str, str, str], str]:
    index = {}
    for name, schema in definitions().items():
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            index[(gvk["group"], gvk["version"], gvk["kind"])] = name
    return index


def kind_schema(group: str, version: str, kind: str) -> dict[str, Any]:
    """The schema of a kind; {} for one the schemas do not know."""
    name = _schema_index().get((group, version, kind))
    return definitions()[name] if name else {}


def _gvk_schemas(group: str, version: str, kinds: set[str]) -> list[str]:
    names = []
    for name, schema in definitions().items():
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            if gvk["group"] == group and gvk["version"] == version and gvk["kind"] in kinds:
                names.append(name)
    return names


def _reachable(roots: list[str]) -> list[str]:
    defs, seen, todo = definitions(), set(), list(roots)
    while todo:
        name = todo.pop()
        if name in seen or name not in defs:
            continue
        seen.add(name)
        text = json.dumps(defs[name])
        for part in text.split('"#/components/schemas/')[1:]:
            todo.append(part.split('"', 1)[0])
    return sorted(seen)


_WRITE_PARAMS = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
                 for n in ("dryRun", "fieldManager", "fieldValidation")]


def _schema_ref(group: str, version: str, kind: str) -> dict[str, Any]:
    names = _gvk_schemas(group, version, {kind})
    return {"$ref": f"#/components/schemas/{names[0]}"} if names else {}


def _operation(r: Resource, action: str, kind: str, params: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": f"{action}{r.kind}",
        "responses": {"200": {"description": "OK", "content": {"application/json": {
            "schema": _schema_ref(r.group, r.version, kind)}}}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": r.group, "version": r.version,
                                            "kind": r.kind},
    }
    if params:
        op["parameters"] = _WRITE_PARAMS
    return op


def _paths(resources: list[Resource]) -> dict[str, Any]:
    """The resource paths with their operations: kubectl looks here for a GVR and for
    `fieldValidation` support (the sign that the server validates fields itself)."""
    paths: dict[str, Any] = {}
    for r in resources:
        prefix = f"/{openapi_path(r)}" + ("/namespaces/{namespace}" if r.namespaced else "")
        paths[f"{prefix}/{r.plural}"] = {
            "get": _operation(r, "list", r.kind + "List"),
            "post": _operation(r, "post", r.kind, params=True)}
        paths[f"{prefix}/{r.plural}/{{name}}"] = {
            "get": _operation(r, "get", r.kind),
            "put": _operation(r, "put", r.kind, params=True),
            "patch": _operation(r, "patch", r.kind, params=True),
            "delete": _operation(r, "delete", r.kind)}
    return paths


@functools.lru_cache(maxsize=64)
def openapi_v3_document(group: str, version: str, resources: tuple[Resource, ...]) -> str:
    kinds = {r.kind for r in resources}
    custom = any(r.custom for r in resources)
    wanted = kinds | {k + "List" for k in kinds}
    roots = [*_gvk_schemas(group, version, wanted),
        "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
        "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
        "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent",
        "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList",
        "io.k8s.api.autoscaling.v1.Scale",
    ]
    schemas = {name: definitions()[name] for name in _reachable(roots)}
    title = "Kubernetes CRD Swagger" if custom else "Kubernetes"
    doc = {"openapi": "3.0.0",
           "info": {"title": title, "version": "v{}.{}.{}".format(*KUBE_VERSION)},
           "paths": _paths(list(resources)),
           "components": {"schemas": schemas}}
    return json.dumps(doc)


def openapi_path(r: Resource | tuple[str, str]) -> str:
    group, version = (r.group, r.version) if isinstance(r, Resource) else r
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_v3_root(catalogue: Catalogue) -> dict[str, Any]:
    paths = {}
    for group, versions in catalogue.group_versions().items():
        for version in versions:
            path = openapi_path((group, version))
            resources = tuple(catalogue.in_group_version(group, version))
            digest = hashlib.sha512(
                openapi_v3_document(group, version, resources).encode()).hexdigest().upper()
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest[:128]}"}
    return {"paths": paths}
