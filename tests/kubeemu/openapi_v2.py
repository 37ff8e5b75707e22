"""`/openapi/v2` as kubectl reads it: gnostic's `openapi.v2.Document` in protobuf.

kubectl's client-side validation (the default `--validate=strict` of `kubectl apply`) downloads the
v2 document with `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf` and nothing
else, so a JSON answer is not enough. Only what its model parser reads is encoded: the
definitions, their types, properties, items, references, required fields and `x-kubernetes-*`
vendor extensions (field numbers from google/gnostic's OpenAPIv2.proto).
"""

from __future__ import annotations

import functools
import json
import struct
from typing import Any

import yaml

from . import discovery

PROTOBUF_MIME = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
# Go's mime parser refuses the "@" of the Accept value, so the answer names it with a dot.
PROTOBUF_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _bytes(field: int, data: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def _str(field: int, text: str) -> bytes:
    return _bytes(field, text.encode()) if text else b""


def _bool(field: int, value: bool) -> bytes:
    return _varint(field << 3) + b"\x01" if value else b""


def _double(field: int, value: float) -> bytes:
    return _varint(field << 3 | 1) + struct.pack("<d", value)


def _int(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _any_yaml(value: Any) -> bytes:  # openapi.v2.Any{yaml = 2}
    return _str(2, yaml.safe_dump(value, default_flow_style=False))


def _named(field: int, name: str, value: bytes) -> bytes:
    return _bytes(field, _str(1, name) + _bytes(2, value))


def _ref(v3_ref: str) -> str:
    return v3_ref.replace("#/components/schemas/", "#/definitions/")


def schema(s: dict[str, Any]) -> bytes:
    """Encode one schema (given in the OpenAPI 3 form the v3 documents use)."""
    if "allOf" in s and len(s["allOf"]) == 1 and "$ref" in s["allOf"][0]:
        s = {**{k: v for k, v in s.items() if k != "allOf"}, "$ref": s["allOf"][0]["$ref"]}
    out = bytearray()
    out += _str(1, _ref(s.get("$ref", "")))
    out += _str(2, s.get("format", ""))
    out += _str(4, s.get("description", ""))
    if "default" in s:
        out += _bytes(5, _any_yaml(s["default"]))
    for key, field in (("maximum", 7), ("minimum", 9)):
        if isinstance(s.get(key), (int, float)):
            out += _double(field, float(s[key]))
    for key, field in (("maxLength", 11), ("minLength", 12), ("maxItems", 14),
                       ("minItems", 15)):
        if isinstance(s.get(key), int) and s[key] >= 0:
            out += _int(field, s[key])
    out += _str(13, s.get("pattern", ""))
    for name in s.get("required", []):
        out += _str(19, name)
    for value in s.get("enum", []) or []:
        out += _bytes(20, _any_yaml(value))
    extra = s.get("additionalProperties")
    if isinstance(extra, dict):
        out += _bytes(21, _bytes(1, schema(extra)))
    elif isinstance(extra, bool):
        out += _bytes(21, _bool(2, extra) or _varint(2 << 3) + b"\x00")
    kind = s.get("type")
    if kind:
        out += _bytes(22, b"".join(_str(1, t) for t in ([kind] if isinstance(kind, str) else kind)))
    if isinstance(s.get("items"), dict):
        out += _bytes(23, _bytes(1, schema(s["items"])))
    for sub in s.get("allOf", []):
        out += _bytes(24, schema(sub))
    if s.get("properties"):
        out += _bytes(25, b"".join(_named(1, name, schema(sub))
                                   for name, sub in s["properties"].items()))
    for key, value in s.items():
        if key.startswith("x-"):
            out += _named(31, key, _any_yaml(value))
    return bytes(out)


@functools.lru_cache(maxsize=1)
def document() -> bytes:
    major, minor, patch = discovery.KUBE_VERSION
    info = _str(1, "Kubernetes") + _str(2, f"v{major}.{minor}.{patch}")
    defs = b"".join(_named(1, name, schema(s)) for name, s in discovery.definitions().items())
    return _str(1, "2.0") + _bytes(2, info) + _bytes(8, b"") + _bytes(9, defs)


@functools.lru_cache(maxsize=1)
def document_json() -> str:
    defs = json.loads(json.dumps(discovery.definitions()).replace(
        "#/components/schemas/", "#/definitions/"))
    major, minor, patch = discovery.KUBE_VERSION
    return json.dumps({"swagger": "2.0", "info": {"title": "Kubernetes",
                                                  "version": f"v{major}.{minor}.{patch}"},
                       "paths": {}, "definitions": defs})
