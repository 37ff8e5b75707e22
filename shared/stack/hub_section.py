"""The `hub` section: how the course's JupyterHub looks (images, sizes, storage, sign-in).

Every key is optional; `shared.stack.config.HubSettings` holds the defaults (z2jh 4.x's). Owned by
the hub-stack capability; registered here like the timetable's own sections.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from shared.stack.config import MEMORY_FORMS, Authenticator, HubSettings, Resources
from shared.timetable.fields import Node
from shared.timetable.sections import section

_QUANTITY = re.compile(r"\d+(\.\d+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?")
_CPU = re.compile(r"\d+(\.\d+)?m?")
_MEMORY = re.compile(r"\d+(\.\d+)?(K|M|G|T|Ki|Mi|Gi|Ti)?")
_DNS = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_IMAGE = re.compile(r"[a-z0-9][a-z0-9._/:@-]*[:@][A-Za-z0-9._:-]+")
KEYS = ("namespace", "release", "host", "tls_secret", "hub_image", "singleuser", "classops_image",
        "authenticator", "admins", "cull", "hub_db_capacity", "user_scheduler_replicas", "https")
HTTPS_TYPES = ("secret", "offload", "auto")  # z2jh's proxy.https.type; auto: cert-manager
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_URL = re.compile(r"https://\S+")


def _quantity(node: Node) -> str | None:
    if isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return str(node.value)
    return node.text(_QUANTITY, "a Kubernetes quantity such as 500m, 2, 1G or 10Gi")


def _image(node: Node) -> str | None:
    return node.text(_IMAGE, "an image with a tag or digest, e.g. quay.io/org/name:1.2")


def _dns(node: Node) -> str | None:
    return node.text(_DNS, "a lowercase DNS label")


def _plain(value: Any) -> Any:
    """ruamel's round-trip types as plain JSON-able values (settings pass through to the hub)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _cpu(node: Node) -> str | None:
    """Cores, or millicores (`500m`): what KubeSpawner's float takes once converted."""
    if isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return str(node.value)
    return node.text(_CPU, "cores such as 0.5, 2 or 500m")


def _memory(node: Node) -> str | None:
    """A memory size KubeSpawner reads as classops does (`memory_bytes`): no decimal `k` or
    milli `m`, which Kubernetes would take and KubeSpawner refuse."""
    if isinstance(node.value, int) and not isinstance(node.value, bool):
        return str(node.value)
    return node.text(_MEMORY, f"a memory size: {MEMORY_FORMS}, e.g. 1G or 512M")


def _pair(node: Node | None, check: Callable[[Node], str | None] = _quantity
          ) -> tuple[str | None, str | None]:
    if node is None or not node.keys(("guarantee", "limit")):
        return None, None
    return node.get("guarantee", check), node.get("limit", check)


def _singleuser(node: Node) -> dict[str, Any] | None:
    if not node.keys(("image", "cpu", "memory", "storage", "materials")):
        return None
    found: dict[str, Any] = {}
    if node.child("image") is not None:
        found["singleuser_image"] = node.get("image", _image)
    cpu, memory = _pair(node.child("cpu"), _cpu), _pair(node.child("memory"), _memory)
    default = Resources()
    found["resources"] = Resources(cpu[0], cpu[1], memory[0] or default.memory_guarantee,
                                   memory[1])
    storage = node.child("storage")
    if storage is not None and storage.keys(("capacity", "class")):
        found["storage_capacity"] = storage.get("capacity", _quantity, "10Gi")
        found["storage_class"] = storage.get("class", _dns, "")
    if node.child("materials") is not None:
        found["materials"] = node.get("materials", Node.text)
    return found


def _authenticator(node: Node) -> Authenticator | None:
    if not node.keys(("class", "settings"), ("class",)):
        return None
    cls = node.get("class", Node.text)
    settings = node.child("settings")
    if settings is not None and not isinstance(settings.value, dict):
        settings.problem("is not a mapping, expected the authenticator's settings by name")
        return None
    return Authenticator(cls, _plain(settings.value) if settings else {}) if cls else None


def _cull(node: Node) -> dict[str, timedelta | None] | None:
    if not node.keys(("timeout", "every")):
        return None
    return {"cull_timeout": node.get("timeout", Node.duration, timedelta(hours=1)),
            "cull_every": node.get("every", Node.duration, timedelta(minutes=10))}


def _https(node: Node) -> dict[str, Any] | None:
    """`https:` as z2jh's `proxy.https`: type secret (with `secret`), offload (with the load
    balancer's Service `annotations`) or auto (cert-manager: `email`, `solvers`, `server`)."""
    if not node.keys(("type", "secret", "annotations", "email", "server", "solvers"), ("type",)):
        return None
    kind = node.get("type", Node.text)
    if kind not in HTTPS_TYPES:
        (node.child("type") or node).problem(
            f"{kind!r} is not an HTTPS type, expected one of {', '.join(HTTPS_TYPES)}")
        return None
    found: dict[str, Any] = {"https": kind}
    if kind == "secret":
        if node.child("secret") is None:
            node.problem("type secret needs 'secret': the name of a kubernetes.io/tls Secret")
            return None
        found["tls_secret"] = node.get("secret", _dns)
    annotations = node.child("annotations")
    if annotations is not None:
        if kind != "offload" or not isinstance(annotations.value, dict):
            annotations.problem("is for type offload only, a mapping of the load balancer's "
                                "Service annotations")
            return None
        found["https_annotations"] = {str(k): str(v) for k, v in annotations.value.items()}
    if kind == "auto":
        solvers = node.child("solvers")
        if node.child("email") is None or solvers is None:
            node.problem("type auto needs 'email' (the ACME account's contact) and 'solvers' "
                         "(cert-manager's Issuer solvers, e.g. a dns01 one)")
            return None
        listed = _plain(solvers.value)
        if not isinstance(listed, list) or not listed or not all(isinstance(x, dict)
                                                                 for x in listed):
            solvers.problem("is not a list of cert-manager solvers (mappings)")
            return None
        found |= {"acme_email": node.get("email", lambda n: n.text(_EMAIL, "an e-mail address")),
                  "acme_solvers": tuple(listed)}
        if node.child("server") is not None:
            found["acme_server"] = node.get("server", lambda n: n.text(_URL, "an https URL"))
    return found


@section("hub", needs=("course",))
def parse_hub(node: Node) -> HubSettings | None:
    course = node.ctx.parsed.get("course")
    if not node.keys(KEYS) or not course:
        return None
    found: dict[str, Any] = {}
    for key, convert in (("namespace", _dns), ("release", _dns), ("host", Node.text),
                         ("tls_secret", _dns), ("hub_image", _image), ("classops_image", _image),
                         ("hub_db_capacity", _quantity)):
        if node.child(key) is not None:
            found[key] = node.get(key, convert)
    if node.child("user_scheduler_replicas") is not None:
        found["user_scheduler_replicas"] = node.get("user_scheduler_replicas",
                                                    lambda n: n.integer(minimum=1))
    parts = [node.get("singleuser", _singleuser), node.get("cull", _cull),
             node.get("https", _https)]
    for part in parts:
        found.update(part or {})
    if node.child("authenticator") is not None:
        found["authenticator"] = node.get("authenticator", _authenticator)
    admins = node.child("admins")
    if admins is not None:
        found["admins"] = tuple(n for n in (i.text() for i in admins.items()) if n)
    if any(v is None for v in found.values()):
        return None  # each bad value has recorded its problem
    if found.get("https") == "auto" and not found.get("host"):
        node.problem("https type auto needs 'host': the name the certificate is for")
        return None
    return HubSettings(course=course, **found)
