"""Label and field selectors, parsed once and matched against stored objects.

Grammar and semantics of https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/
and .../field-selectors/: equality (`=`, `==`, `!=`), set-based (`in`, `notin`, `key`, `!key`),
requirements joined by commas and all of them must hold.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


class SelectorError(ValueError):
    """A selector that does not parse; the server answers 400 BadRequest with its message."""


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: frozenset[str] = frozenset()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        # "!=" and "notin" also match objects that do not have the key at all.
        return not present or value not in self.values


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside the parentheses of an `in (a,b)` set."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


_SET = re.compile(r"^(?P<key>\S+)\s+(?P<op>in|notin)\s*\((?P<vals>[^()]*)\)$")
_EQ = re.compile(r"^(?P<key>[^!=\s]+)\s*(?P<op>==|=|!=)\s*(?P<val>\S*)$")


def _check(key: str, values: frozenset[str], selector: str) -> None:
    if not _KEY.match(key):
        raise SelectorError(
            f"unable to parse requirement: invalid label key {key!r} in {selector!r}")
    for v in values:
        if len(v) > 63 or not _VALUE.match(v):
            raise SelectorError(f"unable to parse requirement: invalid label value {v!r}")


def parse_label_selector(selector: str | None) -> list[Requirement]:
    if not selector:
        return []
    reqs: list[Requirement] = []
    for part in _split_top_level(selector):
        if m := _SET.match(part):
            values = frozenset(v.strip() for v in m["vals"].split(",") if v.strip())
            _check(m["key"], values, selector)
            reqs.append(Requirement(m["key"], m["op"], values))
        elif m := _EQ.match(part):
            op = "!=" if m["op"] == "!=" else "="
            _check(m["key"], frozenset({m["val"]}), selector)
            reqs.append(Requirement(m["key"], op, frozenset({m["val"]})))
        elif part.startswith("!"):
            _check(part[1:].strip(), frozenset(), selector)
            reqs.append(Requirement(part[1:].strip(), "!"))
        else:
            _check(part, frozenset(), selector)
            reqs.append(Requirement(part, "exists"))
    return reqs


def labels_match(reqs: list[Requirement], obj: dict[str, Any]) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(r.matches(labels) for r in reqs)


@dataclass(frozen=True)
class FieldRequirement:
    path: str
    equal: bool
    value: str


def parse_field_selector(selector: str | None, allowed: tuple[str, ...]) -> list[FieldRequirement]:
    if not selector:
        return []
    out = []
    for part in _split_top_level(selector):
        m = re.match(r"^([^!=]+?)\s*(==|=|!=)\s*(.*)$", part)
        if not m:
            raise SelectorError(f"invalid selector: '{selector}'; can't understand '{part}'")
        path = m[1].strip()
        if path not in ("metadata.name", "metadata.namespace", *allowed):
            raise SelectorError(f'field label not supported: {path}')
        out.append(FieldRequirement(path, m[2] != "!=", m[3].strip()))
    return out


def _field_value(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def fields_match(reqs: list[FieldRequirement], obj: dict[str, Any]) -> bool:
    return all((_field_value(obj, r.path) == r.value) == r.equal for r in reqs)


def compile_filter(label_selector: str | None, field_selector: str | None,
                   field_labels: tuple[str, ...]) -> Callable[[dict[str, Any]], bool]:
    """One predicate for both selectors; raises SelectorError on a bad selector."""
    labels = parse_label_selector(label_selector)
    fields = parse_field_selector(field_selector, field_labels)
    return lambda obj: labels_match(labels, obj) and fields_match(fields, obj)
