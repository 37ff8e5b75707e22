"""Core v1 Events for the storage and Job controllers (`kubectl describe` shows them).

A stand-in for the shared event recorder (`tests/kubeemu/recorder.py`, from the node work):
once that module is there, `record` writes through its `record_event` (dedupe, aggregation,
spam filter, TTL); until then an Event already recorded (same object, reason and message) only
bumps its count, as client-go's event correlator does.
"""

from __future__ import annotations

import contextlib
import importlib
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..clock import timestamp
from ..store import ApiError, Obj

if TYPE_CHECKING:
    from ..emulator import Emulator


def _shared() -> Callable[..., Any] | None:
    try:  # found by name: the recorder lands on another branch
        module = importlib.import_module("..recorder", __package__)
    except ImportError:
        return None
    found: Callable[..., Any] | None = getattr(module, "record_event", None)
    return found


def record(emu: Emulator, obj: Obj, kind: str, reason: str, message: str, component: str,
           now: datetime | None = None) -> None:
    shared = _shared()
    if shared is not None:
        shared(emu, obj, reason, message, component=component, type=kind, when=now)
        return
    meta = obj["metadata"]
    namespace = meta.get("namespace") or "default"
    events = emu.catalogue.find("", "v1", "events")
    assert events is not None
    when = timestamp(now or emu.clock.now())
    for _, ev in emu.store.items(events.key, namespace):
        inv = ev.get("involvedObject") or {}
        if (inv.get("uid"), ev.get("reason"), ev.get("message")) == (meta.get("uid"), reason,
                                                                      message):
            with contextlib.suppress(ApiError):  # a lost count is no harm
                emu.registry.update(events, namespace, ev["metadata"]["name"], {
                    **ev, "count": int(ev.get("count") or 1) + 1, "lastTimestamp": when})
            return
    body: Obj = {
        "metadata": {"name": f"{meta['name']}.{secrets.token_hex(8)}", "namespace": namespace},
        "involvedObject": {"kind": obj.get("kind"), "apiVersion": obj.get("apiVersion"),
                           "namespace": meta.get("namespace"), "name": meta["name"],
                           "uid": meta.get("uid"), "resourceVersion": meta.get("resourceVersion")},
        "reason": reason, "message": message, "type": kind,
        "source": {"component": component}, "reportingComponent": component,
        "reportingInstance": "", "firstTimestamp": when, "lastTimestamp": when, "count": 1}
    with contextlib.suppress(ApiError):  # the namespace is going: nobody will read it
        emu.registry.create(events, namespace, body)
