"""The controls of volumes, snapshots and Jobs, in-process and under `/_emu/` for other processes.

| request | body | does |
| --- | --- | --- |
| `GET /_emu/volumes/<ns>/<claim>` | | `{"path": the Bound claim's folder, "pv": its PV}` |
| `POST /_emu/volumes/fill` | `{"namespace", "claim", "full": true}` | marks its PV full (or not) |
| `GET /_emu/snapshots/<ns>/<name>` | | `{"path": the snapshot's copy}` |
| `POST /_emu/snapshots/fail` | `{"namespace", "snapshot"?, "claim"?, "message"?}` | fails them |
| `POST /_emu/pods/kill` | `{"namespace", "name"}` | kills a Job pod's running process |

A claim not bound, a snapshot without a copy or an unknown pod is a 400 (KeyError) or 404.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..store import ApiError
from .disk import disk

if TYPE_CHECKING:
    from ..emulator import Emulator


def _named(emu: Emulator, name: str) -> Any:
    found = next((c for c in emu.controllers if getattr(c, "name", "") == name), None)
    if found is None:
        raise ApiError(404, "NotFound", f"the {name} controller is not running")
    return found


def volume_folder(emu: Emulator, namespace: str, claim: str) -> Path:
    folder: Path = _named(emu, "volumes").folder(namespace, claim)
    return folder


def snapshot_folder(emu: Emulator, namespace: str, name: str) -> Path:
    folder: Path = _named(emu, "snapshots").folder(namespace, name)
    return folder


def fill_volume(emu: Emulator, namespace: str, claim: str, full: bool = True) -> str:
    """Mark the claim's PV full: growing a file in it fails (EFBIG) in Job processes."""
    pv = volume_folder(emu, namespace, claim).name
    jobs = next((c for c in emu.controllers if getattr(c, "name", "") == "jobs"), None)
    if jobs is not None:
        jobs.fill(pv, full)
    else:
        (disk(emu).full.add if full else disk(emu).full.discard)(pv)
    return pv


def fail_snapshot(emu: Emulator, namespace: str, snapshot: str | None = None,
                  claim: str | None = None, message: str = "") -> None:
    _named(emu, "snapshots").fail(namespace, snapshot, claim, message)


def kill_pod(emu: Emulator, namespace: str, name: str) -> None:
    if not _named(emu, "jobs").kill(namespace, name):
        raise ApiError(404, "NotFound", f"pod {namespace}/{name} has no running process")


def control(emu: Emulator, method: str, what: str, body: dict[str, Any]) -> Any:
    """The answer to a `/_emu/` request of ours, or None if it is not one."""
    parts = what.split("/")
    if method == "GET" and len(parts) == 3 and parts[0] == "volumes":
        folder = volume_folder(emu, parts[1], parts[2])
        return {"path": str(folder), "pv": folder.name}
    if method == "GET" and len(parts) == 3 and parts[0] == "snapshots":
        return {"path": str(snapshot_folder(emu, parts[1], parts[2]))}
    if method == "POST" and what == "volumes/fill":
        return {"pv": fill_volume(emu, body["namespace"], body["claim"],
                                  bool(body.get("full", True)))}
    if method == "POST" and what == "snapshots/fail":
        fail_snapshot(emu, body["namespace"], body.get("snapshot"), body.get("claim"),
                      body.get("message", ""))
        return {"ok": True}
    if method == "POST" and what == "pods/kill":
        kill_pod(emu, body["namespace"], body["name"])
        return {"ok": True}
    return None
