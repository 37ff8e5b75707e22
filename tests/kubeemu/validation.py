"""Validation of what would be stored, with the answers a real apiserver gives.

- Structure, against the OpenAPI schema of 1.33 (or a CRD's `openAPIV3Schema`): a value of the
  wrong type is 400 BadRequest; an unknown field is 400 with `fieldValidation=Strict`, otherwise
  dropped with a `Warning` (Warn, the default) or silently (Ignore), which is also how a CRD's
  unknown fields are pruned
  (https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation).
- Values: a missing required field or a bad value (an invalid `metadata.name`, label, negative
  replicas, a selector that does not match its template) is 422 Invalid with field causes.
- Immutable fields of the kinds classops writes are 422 on change.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from .patches import resolve_schema
from .quantities import canonical_number
from .store import ApiError, Obj

Schema = dict[str, Any]

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                 "characters, '-' or '.', and must start and end with an alphanumeric character "
                 "(e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
             "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
             "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
               "with an alphabetic character, and end with an alphanumeric character (e.g. "
               "'my-name',  or 'abc-123', regex used for validation is "
               "'[a-z]([-a-z0-9]*[a-z0-9])?')")

# Names that must be DNS labels rather than subdomains.
_NAME_RULES = {"namespaces": ("label", 63), "services": ("1035", 63)}

IMMUTABLE: dict[str, tuple[tuple[str, ...], ...]] = {
    "statefulsets.apps": (("spec", "selector"), ("spec", "serviceName"),
                          ("spec", "volumeClaimTemplates"), ("spec", "podManagementPolicy")),
    "deployments.apps": (("spec", "selector"),),
    "daemonsets.apps": (("spec", "selector"),),
    "replicasets.apps": (("spec", "selector"),),
    "jobs.batch": (("spec", "template"), ("spec", "selector"), ("spec", "completionMode")),
    "persistentvolumeclaims": (("spec", "accessModes"), ("spec", "storageClassName"),
                               ("spec", "volumeMode"), ("spec", "dataSource"),
                               ("spec", "dataSourceRef"), ("spec", "selector")),
    "services": (("spec", "clusterIP"),),
    "volumesnapshots.snapshot.storage.k8s.io": (("spec", "source"),),
}


class Problems:
    def __init__(self) -> None:
        self.invalid: list[dict[str, str]] = []
        self.unknown: list[str] = []
        self.bad_types: list[str] = []

    def add(self, reason: str, field: str, message: str) -> None:
        self.invalid.append({"reason": reason, "field": field, "message": message})


def _type_ok(value: Any, kind: str) -> bool:
    return {
        "object": isinstance(value, dict), "array": isinstance(value, list),
        "string": isinstance(value, str), "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
    }.get(kind, True)


def _walk(value: Any, schema: Schema, path: str, problems: Problems) -> Any:
    """Check value against schema; returns the value with unknown fields removed."""
    schema = resolve_schema(schema)
    if value is None:
        return value
    if schema.get("format") == "quantity" and isinstance(value, (int, float)) \
            and not isinstance(value, bool):
        return canonical_number(value)  # a Quantity may be a JSON number (quantities.py)
    if schema.get("x-kubernetes-int-or-string"):
        if not isinstance(value, (int, str)) or isinstance(value, bool):
            problems.bad_types.append(f"{path}: expected integer or string")
        return value
    kind = schema.get("type")
    if isinstance(kind, str) and not _type_ok(value, kind):
        problems.bad_types.append(f"{path}: expected {kind}, got {type(value).__name__}")
        return value
    if isinstance(value, dict) and (schema.get("properties") is not None
                                    or schema.get("additionalProperties") is not None):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        out = {}
        for name in schema.get("required") or []:
            if name not in value:
                problems.add("FieldValueRequired", f"{path}.{name}".lstrip("."),
                             "Required value")
        for key, sub in value.items():
            where = f"{path}.{key}"
            if key in props:
                out[key] = _walk(sub, props[key], where, problems)
            elif isinstance(extra, dict):
                out[key] = _walk(sub, extra, where, problems)
            elif extra is True or schema.get("x-kubernetes-preserve-unknown-fields"):
                out[key] = sub
            else:
                problems.unknown.append(where.lstrip("."))
        _check_value(value, schema, path, problems)
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_walk(v, schema["items"], f"{path}[{i}]", problems) for i, v in enumerate(value)]
    _check_value(value, schema, path, problems)
    return value


def _check_value(value: Any, schema: Schema, path: str, problems: Problems) -> None:
    """oneOf of required-alternatives, minimum/maximum and enum."""
    for alternatives in ([schema["oneOf"]] if isinstance(schema.get("oneOf"), list) else []):
        if isinstance(value, dict) and all("required" in a for a in alternatives):
            matching = [a for a in alternatives if all(k in value for k in a["required"])]
            if len(matching) != 1:
                problems.add("FieldValueInvalid", path.lstrip("."),
                             f"Invalid value: {json.dumps(value)}: must validate one and only "
                             "one schema (oneOf)")
    for bound, ok in (("minimum", lambda v, b: v >= b), ("maximum", lambda v, b: v <= b)):
        if isinstance(schema.get(bound), (int, float)) and isinstance(value, (int, float)) \
                and not isinstance(value, bool) and not ok(value, schema[bound]):
            word = "greater" if bound == "minimum" else "less"
            problems.add("FieldValueInvalid", path.lstrip("."), f"Invalid value: {value}: "
                         f"{path.lstrip('.')} in body should be {word} than or equal to "
                         f"{schema[bound]}")
    if "enum" in schema and schema["enum"] and value not in schema["enum"]:
        allowed = ", ".join(json.dumps(v) for v in schema["enum"])
        problems.add("FieldValueNotSupported", path.lstrip("."),
                     f"Unsupported value: {json.dumps(value)}: supported values: {allowed}")


# RBAC objects' names need only be path segments (ValidateRBACName), e.g. "system:discovery".
_PATH_SEGMENT_NAMES = frozenset({"roles", "rolebindings", "clusterroles", "clusterrolebindings"})


def _check_name(resource_plural: str, name: str, problems: Problems) -> None:
    if resource_plural in _PATH_SEGMENT_NAMES:
        wrong = ([f"may not be '{name}'"] if name in (".", "..") else
                 [f"may not contain '{c}'" for c in ("/", "%") if c in name])
        for detail in wrong:
            problems.add("FieldValueInvalid", "metadata.name", f'Invalid value: "{name}": {detail}')
        return
    rule, limit = _NAME_RULES.get(resource_plural, ("subdomain", 253))
    pattern, message = {"label": (_LABEL_1123, LABEL_MSG), "1035": (_LABEL_1035, DNS1035_MSG),
                        "subdomain": (_SUBDOMAIN, SUBDOMAIN_MSG)}[rule]
    if len(name) > limit:
        problems.add("FieldValueInvalid", "metadata.name",
                     f'Invalid value: "{name}": must be no more than {limit} characters')
    elif not pattern.match(name):
        problems.add("FieldValueInvalid", "metadata.name", f'Invalid value: "{name}": {message}')


def _check_labels(labels: Any, field: str, problems: Problems) -> None:
    for key, value in (labels or {}).items():
        prefix, _, name = key.rpartition("/")
        if (prefix and not _SUBDOMAIN.match(prefix)) or len(name) > 63 or not _QUALIFIED.match(
                name):
            problems.add("FieldValueInvalid", field, f'Invalid value: "{key}": name part must '
                         "consist of alphanumeric characters, '-', '_' or '.', and must start and"
                         " end with an alphanumeric character")
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            problems.add("FieldValueInvalid", f"{field}", f'Invalid value: "{value}": a valid '
                         "label must be an empty string or consist of alphanumeric characters, "
                         "'-', '_' or '.', and must start and end with an alphanumeric character")


def _utf8(text: Any) -> int:
    return len(str(text).encode())


def _check_sizes(resource_key: str, obj: Obj, problems: Problems) -> None:
    """The apiserver's size limits: 256 KiB of annotations, 1 MiB of ConfigMap data (keys and
    values, in bytes; binaryData by its values)."""
    notes = (obj.get("metadata") or {}).get("annotations") or {}
    if isinstance(notes, dict) and sum(_utf8(k) + _utf8(v) for k, v in notes.items()) > 262144:
        problems.add("FieldValueTooLong", "metadata.annotations",
                     "Too long: may not be more than 262144 bytes")
    data, binary = obj.get("data") or {}, obj.get("binaryData") or {}
    if resource_key == "configmaps" and isinstance(data, dict) and isinstance(binary, dict):
        size = (sum(_utf8(k) + _utf8(v) for k, v in data.items())
                + sum(len(base64.b64decode(v)) for v in binary.values()))
        if size > 1048576:
            problems.add("FieldValueTooLong", "", "Too long: may not be more than 1048576 bytes")


def _check_semantics(resource_key: str, obj: Obj, problems: Problems) -> None:
    _check_sizes(resource_key, obj, problems)
    spec = obj.get("spec") or {}
    replicas = spec.get("replicas")
    if isinstance(replicas, int) and replicas < 0:
        problems.add("FieldValueInvalid", "spec.replicas",
                     f"Invalid value: {replicas}: must be greater than or equal to 0")
    template = spec.get("template")
    selector = (spec.get("selector") or {}).get("matchLabels") if isinstance(
        spec.get("selector"), dict) else None
    if resource_key in ("deployments.apps", "statefulsets.apps", "daemonsets.apps",
                        "replicasets.apps") and isinstance(template, dict):
        labels = (template.get("metadata") or {}).get("labels") or {}
        if selector is not None and any(labels.get(k) != v for k, v in selector.items()):
            problems.add("FieldValueInvalid", "spec.template.metadata.labels",
                         f"Invalid value: {json.dumps(labels)}: `selector` does not match "
                         "template `labels`")
    pod_spec = _pod_spec_of(resource_key, obj)
    if pod_spec is not None:
        where, spec_obj = pod_spec
        containers = spec_obj.get("containers")
        if not containers:
            problems.add("FieldValueRequired", f"{where}.containers", "Required value")
        for i, c in enumerate(containers or []):
            if isinstance(c, dict) and not c.get("image"):
                problems.add("FieldValueRequired", f"{where}.containers[{i}].image",
                             "Required value")


def _pod_spec_of(resource_key: str, obj: Obj) -> tuple[str, Obj] | None:
    """Where a kind keeps its pod spec, if it has one."""
    paths = {"pods": ("spec",), "jobs.batch": ("spec", "template", "spec"),
             "cronjobs.batch": ("spec", "jobTemplate", "spec", "template", "spec")}
    for kind in ("deployments.apps", "statefulsets.apps", "daemonsets.apps", "replicasets.apps"):
        paths[kind] = ("spec", "template", "spec")
    path = paths.get(resource_key)
    found = _get(obj, path) if path else None
    return (".".join(path), found) if path and isinstance(found, dict) else None


def _get(obj: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def check_immutable(resource_key: str, old: Obj, new: Obj, problems: Problems) -> None:
    for path in IMMUTABLE.get(resource_key, ()):
        if _get(old, path) != _get(new, path):
            problems.add("FieldValueForbidden", ".".join(path),
                         "Forbidden: field is immutable")
    if old.get("immutable") and (old.get("data") != new.get("data")
                                 or old.get("binaryData") != new.get("binaryData")):
        problems.add("FieldValueForbidden", "data",
                     "Forbidden: field is immutable when `immutable` is set")


_OBJECT_META = {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}


def validate(resource_key: str, resource_plural: str, kind: str, group: str, obj: Obj,
             old: Obj | None, schema: Schema, mode: str, warnings: list[str],
             custom: bool = False) -> Obj:
    """The object to store (unknown fields dropped), or ApiError 400/422."""
    problems = Problems()
    if custom and schema:
        # Every custom resource has apiVersion, kind and a full ObjectMeta, declared or not.
        props = {**schema.get("properties", {}), "apiVersion": {"type": "string"},
                 "kind": {"type": "string"}, "metadata": _OBJECT_META}
        schema = {**schema, "properties": props}
    checked = _walk(obj, schema, "", problems) if schema else obj
    name = (obj.get("metadata") or {}).get("name", "")
    if problems.bad_types and custom:  # an unstructured object: wrong types are invalid values
        for text in problems.bad_types:
            field, _, message = text.partition(": ")
            problems.add("FieldValueTypeInvalid", field.lstrip("."),
                         f"Invalid value: {message}")
        problems.bad_types = []
    if problems.bad_types:
        raise ApiError(400, "BadRequest", f'{kind} in version "{obj.get("apiVersion")}" cannot '
                       f"be handled as a {kind}: " + "; ".join(problems.bad_types))
    if problems.unknown:
        if mode == "Strict":
            fields = ", ".join(f'unknown field "{f}"' for f in problems.unknown)
            raise ApiError(400, "BadRequest", f".{kind} in version \"{obj.get('apiVersion')}\" "
                           f"cannot be handled as a {kind}: strict decoding error: {fields}")
        if mode != "Ignore":
            warnings.extend(f'unknown field "{f}"' for f in problems.unknown)
    _check_name(resource_plural, name, problems)
    meta = obj.get("metadata") or {}
    _check_labels(meta.get("labels"), "metadata.labels", problems)
    _check_semantics(resource_key, checked, problems)
    if old is not None:
        check_immutable(resource_key, old, checked, problems)
    if problems.invalid:
        title = f"{kind}.{group}" if group else kind
        summary = ", ".join(f"{c['field']}: {c['message']}" for c in problems.invalid)
        if len(problems.invalid) > 1:
            summary = f"[{summary}]"
        raise ApiError(422, "Invalid", f'{title} "{name}" is invalid: {summary}', {
            "name": name, "group": group, "kind": kind, "causes": problems.invalid})
    return checked
